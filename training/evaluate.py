"""``make eval``: how good the tags are, on development data never trained on.

(a) Event types, through the same ``Tagger`` the pipeline uses, each set scored by a model
    trained without any of its source (EVENT_SPLITS): the PLOVER gold sentences, the ACLED
    notes of other regions and years, and the ACLED Afghanistan 2019 notes. The project's
    seed sentences are training data only, never scored on.
(b) Stance on FNC-1 stories held back by topic (no body and no claim of a test story is
    trained on): per-class P/R/F1, macro-F1, the FNC-1 score and the calibration error.
Writes EVALUATION.md (quoted by the README) and prints it.

    .venv/bin/python -m training.evaluate
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from newsbeam.tagging import Tagger
from newsbeam.tagging.events import LABELS, PLOVER_TYPES, compile_patterns
from training import data, train_events

OUT = data.REPO / "EVALUATION.md"


# A label needs this much support to count in a macro average: two ACLED agreements
# would otherwise weigh as much as six thousand attacks.
MIN_SUPPORT = 10


def table(gold: list[str], pred: list[str], labels: list[str], min_support: int = MIN_SUPPORT) -> tuple[str, float]:
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    rows = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for i, label in enumerate(labels):
        rows.append(f"| {label} | {p[i]:.3f} | {r[i]:.3f} | {f[i]:.3f} | {s[i]} |")
    counted = scored_labels(gold, labels, min_support)
    scored = [labels.index(label) for label in counted]
    macro = float(np.mean([f[i] for i in scored])) if scored else 0.0
    low, high = macro_f1_interval(gold, pred, counted)
    rows.append(f"| **macro-F1** ({len(scored)} labels with {min_support}+ items) | | | **{macro:.3f}**"
                f" ({low:.3f}–{high:.3f}) | {sum(s)} |")
    return "\n".join(rows), macro


def scored_labels(gold: list[str], labels: list[str], min_support: int = MIN_SUPPORT) -> list[str]:
    """The labels a macro-F1 averages: those with ``min_support`` gold items or more."""
    return [label for label in labels if gold.count(label) >= min_support]


def predict_events(tagger: Tagger, notes: list[str]) -> list[str]:
    """The event type ``tagger`` gives each text scored by the event splits (ACLED's date prefix removed)."""
    return [tagger.tag(None, data.strip_acled_date(text), claims=[]).event_type for text in notes]


# Resamples of the bootstrap interval printed beside each macro-F1.
BOOTSTRAP_ROUNDS = 1000


def macro_f1_interval(gold: list[str], pred: list[str], labels: list[str], rounds: int = BOOTSTRAP_ROUNDS,
                      seed: int = 0) -> tuple[float, float]:
    """The 95 % percentile-bootstrap interval of the macro-F1 over ``labels``: the items
    are drawn again with replacement ``rounds`` times (a fixed seed, so `make eval` prints
    the same interval every run). It says how far a figure could move on another draw of
    items of the same kind: on the 109 PLOVER sentences, several points."""
    if not labels or not gold:
        return 0.0, 0.0
    draws = np.random.default_rng(seed).integers(0, len(gold), size=(rounds, len(gold)))
    low, high = np.percentile(_drawn_macro_f1(gold, pred, labels, draws), [2.5, 97.5])
    return float(low), float(high)


def macro_f1_difference_interval(gold: list[str], pred_a: list[str], pred_b: list[str], labels: list[str],
                                 rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0) -> tuple[float, float]:
    """The 95 % paired-bootstrap interval of macro-F1(b) - macro-F1(a) on the same items:
    both predictions are scored on the same draws, so the interval is far narrower than
    the two separate ones; when it excludes 0, b is better (or worse) beyond chance."""
    if not labels or not gold:
        return 0.0, 0.0
    draws = np.random.default_rng(seed).integers(0, len(gold), size=(rounds, len(gold)))
    diff = _drawn_macro_f1(gold, pred_b, labels, draws) - _drawn_macro_f1(gold, pred_a, labels, draws)
    low, high = np.percentile(diff, [2.5, 97.5])
    return float(low), float(high)


def _drawn_macro_f1(gold: list[str], pred: list[str], labels: list[str], draws: np.ndarray) -> np.ndarray:
    """The macro-F1 over ``labels`` of each row of item indices in ``draws``."""
    index = {label: i for i, label in enumerate(labels)}
    g = np.asarray([index.get(y, -1) for y in gold])
    p = np.asarray([index.get(y, -1) for y in pred])
    rounds, k = len(draws), len(labels)
    offsets = (np.arange(rounds) * (k + 1))[:, None]

    def counts(values):  # per draw and label; label -1 ("another label") is dropped
        return np.bincount((values + 1 + offsets).ravel(), minlength=rounds * (k + 1)).reshape(rounds, k + 1)[:, 1:]

    gd, pd = g[draws], p[draws]
    hits, denominator = counts(np.where(gd == pd, gd, -1)), counts(gd) + counts(pd)
    f1 = np.divide(2 * hits, denominator, out=np.zeros(hits.shape), where=denominator > 0)
    return f1.mean(axis=1)


def confusion(gold: list[str], pred: list[str], labels: list[str]) -> str:
    used = [label for label in labels if label in set(gold) | set(pred)]
    m = confusion_matrix(gold, pred, labels=used)
    head = "| gold \\ predicted | " + " | ".join(used) + " |"
    rows = [head, "|---" * (len(used) + 1) + "|"]
    for i, label in enumerate(used):
        rows.append(f"| {label} | " + " | ".join(str(v) if v else "·" for v in m[i]) + " |")
    return "\n".join(rows)


def event_tagger(exclude: tuple[str, ...], tmp: str) -> Tagger:
    """A fast-tier Tagger whose event model is trained without the ``exclude`` sources (stance as shipped)."""
    taxonomy = yaml.safe_load(train_events.TAXONOMY.read_text())
    patterns = compile_patterns(taxonomy)
    vec, clf = train_events.fit(train_events.training_examples(exclude=exclude), patterns)
    path = Path(tmp) / f"events-fast-without-{'-'.join(exclude)}.npz"
    train_events.export(vec, clf, path, {"exclude": list(exclude)})
    actors = yaml.safe_load((data.REPO / "configs" / "taxonomy" / "actors.yaml").read_text())
    return Tagger(taxonomy, {}, [], event_model=str(path), tier="fast", actors=actors)


TIERS = ("fast",)


# Each held-out set is scored by a model trained without its source, on the labels that
# set can tell apart. (name, excluded sources, loader, labels, what the set is)
EVENT_SPLITS = (
    ("plover", ("plover",), lambda: [(t, y) for _i, t, y in data.plover_dev()], list(PLOVER_TYPES),
     "PLOVER gold-standard sentences (all 109), model trained without any of them: seeds, both ACLED sets, background"),
    ("acled_extra", ("acled_extra",), data.acled_extra, list(data.ACLED_EVAL_LABELS),
     "ACLED notes from South and South-East Asia 2015 and Africa 2016 (labels: training/labels.py),"
     " model trained without any of them: seeds, PLOVER, ACLED Afghanistan 2019, background"),
    ("acled_afg", ("acled_afg",), data.acled, list(data.ACLED_EVAL_LABELS),
     "ACLED notes from Afghanistan 2019, model trained without any of them: seeds, PLOVER, ACLED extra, background"),
)


def sample(items: list[tuple[str, str]], per_label: int) -> list[tuple[str, str]]:
    """At most ``per_label`` items of each label, the first by hash of the text (a fixed sample)."""
    ordered = sorted(items, key=lambda item: hashlib.sha1(item[0].encode("utf-8")).hexdigest())
    taken: dict[str, int] = {}
    out = []
    for text, label in ordered:
        if taken.get(label, 0) < per_label:
            taken[label] = taken.get(label, 0) + 1
            out.append((text, label))
    return out


def eval_events(kept: dict | None = None) -> tuple[list[str], dict]:
    """The fast tier, each set scored by a model trained without its source; ``kept``
    receives the tagger trained without PLOVER (the actors' end-to-end score uses it).
    (``training/loso.py`` is the leave-one-source-out table over every family.)"""
    sections, numbers = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, exclude, load, labels, what in EVENT_SPLITS:
            items = load()
            min_support = 1 if name == "plover" else MIN_SUPPORT  # PLOVER's gold set: every type counts
            tagger = event_tagger(exclude, tmp)
            if kept is not None and name == "plover":
                kept["plover_fast"] = tagger
            gold = [y for _, y in items]
            start = time.perf_counter()
            pred = predict_events(tagger, [text for text, _ in items])
            per_item = (time.perf_counter() - start) / max(1, len(items)) * 1000
            tab, macro = table(gold, pred, labels, min_support=min_support)
            numbers[f"events_{name}_macro_f1"] = macro
            extra = [t for t in LABELS if t not in labels]
            sections += [
                f"### Event type: {name}, source held out (fast tier)",
                f"{what}. {len(items)} items ({per_item:.2f} ms each); accuracy {np.mean(np.array(gold) == np.array(pred)):.3f}."
                " Labels below the support named in the macro-F1 row are listed but not averaged.",
                "", tab, "", "<details><summary>confusion matrix</summary>", "", confusion(gold, pred, labels + extra), "",
                "</details>", "",
            ]
    return sections, numbers


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    tiers = list(TIERS)
    if "--fast-only" in argv:
        argv = [a for a in argv if a != "--fast-only"]
        tiers = ["fast"]
    out = Path(argv[0]) if argv else OUT
    started = time.time()
    sections = [
        "# How good are the tags",
        "",
        f"Generated by `make eval` on {dt.date.today()} from `../shared/data`. Every set is scored by a model trained"
        " without its source (events) or without its stories (stance); nothing the project wrote is scored on.",
        "",
    ]
    kept: dict = {}
    event_sections, numbers = eval_events(kept)
    sections += event_sections
    from training import evaluate_none

    none_sections, none_numbers = evaluate_none.eval_none(tiers)
    sections += none_sections
    numbers.update(none_numbers)
    from training import evaluate_actors

    actor_sections, actor_numbers = evaluate_actors.eval_actors(kept.get("plover_fast"))
    sections += actor_sections
    numbers.update(actor_numbers)
    from training import evaluate_stance

    stance_sections, stance_numbers = evaluate_stance.eval_stance()
    sections += stance_sections
    numbers.update(stance_numbers)
    from training import evaluate_stories

    story_sections, story_numbers = evaluate_stories.eval_stories()
    sections += story_sections
    numbers.update(story_numbers)
    sections.append(f"_Evaluation took {time.time() - started:.0f} s._")
    text = "\n".join(sections) + "\n"
    out.write_text(text)
    (out.with_suffix(".json")).write_text(json.dumps({k: round(v, 4) for k, v in numbers.items()}, indent=2) + "\n")
    print(text)
    print({k: round(v, 4) for k, v in numbers.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
