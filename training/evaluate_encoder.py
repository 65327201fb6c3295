"""The tiers side by side on held-back real data (``training.encoder_data``'s ``heldback``
part, or with ``--lockbox`` the WikiEvents test documents, scored once at the end).

Each set is tagged through ``Tagger.tag``, the pipeline's own path. The fast tier is
retrained without any held-back, validation or lockbox item for this comparison (the
shipped one was trained on the PLOVER and ACLED items held back here); the accurate tier
is the model under test (default: the shipped one). Paired bootstrap intervals say
whether accurate - fast is beyond chance on the same items.

    .venv/bin/python -m training.evaluate_encoder [MODEL_DIR] [--lockbox]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from newsbeam.tagging import Tagger
from newsbeam.tagging.events import LABELS, NONE, PLOVER_TYPES, compile_patterns
from newsbeam.tagging.onnx_encoder import ENCODER_DIR
from training import encoder_data, train_events
from training.evaluate import confusion, macro_f1_difference_interval, sample, scored_labels, table

# ACLED's held-back notes are thousands, nearly all ASSAULT and PROTEST: a fixed sample.
ACLED_SAMPLE = 300


def held_sets(lockbox: bool = False) -> dict[str, tuple[list[tuple[str, str]], list[str]]]:
    """name -> ((text, label) items, labels scored)."""
    part = "lockbox" if lockbox else "heldback"
    items = encoder_data.items((part,))
    by_source: dict[str, list[tuple[str, str]]] = {}
    for text, label, _group, _part, source in items:
        by_source.setdefault(source, []).append((text, label))
    everything = list(PLOVER_TYPES) + [NONE]
    if lockbox:
        return {"wikievents_test (lockbox)": (by_source["wikievents"], everything)}
    return {
        "news sentences (RAMS + WikiEvents dev, by document)": (by_source["rams"] + by_source["wikievents"], everything),
        "PLOVER gold sentences": (by_source["plover"], list(PLOVER_TYPES)),
        "ACLED notes (sample)": (sample(by_source["acled"], ACLED_SAMPLE), ["ASSAULT", "PROTEST", "COERCE", "AGREE", NONE]),
        "non-political news (BBC)": (by_source["non_political"], [NONE]),
    }


def fast_tagger(tmp: str, taxonomy: dict) -> Tagger:
    """The fast tier retrained without any item this evaluation or the encoder's threshold uses."""
    kept = {t for t, *_ in encoder_data.items(("heldback", "val", "lockbox"))}
    from training import data

    kept |= {data.strip_acled_date(t) for t in kept}
    examples = [(t, y) for t, y in train_events.training_examples() if t not in kept]
    patterns = compile_patterns(taxonomy)
    vec, clf = train_events.fit(examples, patterns)
    path = Path(tmp) / "events-fast.npz"
    train_events.export(vec, clf, path, {"evaluation": "without held-back items"})
    return Tagger(taxonomy, {}, [], event_model=str(path), tier="fast")


def predict(tagger: Tagger, texts: list[str]) -> tuple[list[str], float]:
    start = time.perf_counter()
    pred = [tagger.tag(None, text, claims=[]).event_type for text in texts]
    return pred, (time.perf_counter() - start) / max(1, len(texts)) * 1000


def evaluate(model_dir: str | None = None, lockbox: bool = False) -> tuple[list[str], dict]:
    """Sections and numbers: per-class tables, confusion matrices and the paired comparison."""
    model_dir = model_dir or str(ENCODER_DIR)
    taxonomy = yaml.safe_load(train_events.TAXONOMY.read_text())
    lines = [f"### Event type: the tiers on {'the lockbox' if lockbox else 'held-back real data'}", "",
             f"Accurate tier: `{Path(model_dir).name}`; split: `training/encoder_data.py` (documents held back from"
             " its fine-tuning; the fast tier retrained without them for this table).", ""]
    side, numbers = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        taggers = {"fast": fast_tagger(tmp, taxonomy), "accurate": Tagger(taxonomy, {}, [], tier="accurate", encoder=model_dir)}
        for name, (items, labels) in held_sets(lockbox).items():
            gold = [y for _, y in items]
            preds = {}
            for tier, tagger in taggers.items():
                pred, ms = predict(tagger, [t for t, _ in items])
                preds[tier] = pred
                tab, macro = table(gold, pred, labels, min_support=1)
                numbers[f"heldback_{name.split(' ')[0].lower()}_{tier}_macro_f1"] = macro
                lines += [f"#### {name}: {tier} tier", "",
                          f"{len(items)} items, accuracy {np.mean(np.array(gold) == np.array(pred)):.3f},"
                          f" {ms:.1f} ms an item; NONE answered for {sum(p == NONE and g != NONE for g, p in zip(gold, pred, strict=True))}"
                          f" of {sum(g != NONE for g in gold)} event items.", "", tab, "",
                          "<details><summary>confusion matrix</summary>", "",
                          confusion(gold, pred, list(LABELS)), "", "</details>", ""]
            counted = scored_labels(gold, labels, 1)
            fast_macro = table(gold, preds["fast"], labels, min_support=1)[1]
            acc_macro = table(gold, preds["accurate"], labels, min_support=1)[1]
            low, high = macro_f1_difference_interval(gold, preds["fast"], preds["accurate"], counted)
            side.append(f"| {name} | {len(items)} | {fast_macro:.3f} | {acc_macro:.3f} | {acc_macro - fast_macro:+.3f}"
                        f" ({low:+.3f} to {high:+.3f}) |")
    lines += ["#### The tiers on the same items", "",
              "| set | items | fast macro-F1 | accurate macro-F1 | accurate - fast (95 % paired bootstrap) |",
              "|---|---|---|---|---|", *side, ""]
    return lines, numbers


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    paths = [a for a in argv if not a.startswith("--")]
    lines, numbers = evaluate(paths[0] if paths else None, "--lockbox" in argv)
    print("\n".join(lines))
    print({k: round(v, 4) for k, v in numbers.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
