"""Stance evaluation on FNC-1 stories held back from training: no body and no claim of a test story is trained on."""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import f1_score

from newsbeam.tagging.stance import LABELS, StanceModel, fnc_score
from training import train_stance


def eval_stance() -> tuple[list[str], dict]:
    from training.evaluate import confusion, table

    bodies, _train, held = train_stance.split()
    model = StanceModel.load(str(train_stance.MODEL))
    gold, pred, confidences = [], [], []
    start = time.perf_counter()
    for headline, body, label in train_stance.with_bodies(model, held, bodies):
        probs, best, _ = model.predict(headline, body)
        gold.append(label)
        pred.append(LABELS[best])
        confidences.append(float(probs[best]))
    per_pair = (time.perf_counter() - start) / max(1, len(held)) * 1000
    tab, macro = table(gold, pred, list(LABELS))
    score = fnc_score(gold, pred)
    ece = calibration_error(confidences, [g == p for g, p in zip(gold, pred, strict=True)])
    disagree_f1 = f1_score(gold, pred, labels=["disagree"], average="macro", zero_division=0)
    sections = [
        "### Stance: FNC-1, topics held back (20 % of stories: their bodies and claims)",
        f"{len(held)} (claim, body) pairs over {len({b for _, b, _ in held})} bodies never seen in training, and no claim about those"
        f" stories trained on ({per_pair:.2f} ms per pair, body features included)."
        " **FNC-1 score {:.1%}**, macro-F1 {:.3f}; expected calibration error of the scores {:.3f}"
        " (10 bins; scores are temperature-scaled on a tenth of the training stories, see training/train_stance.py).".format(
            score, macro, ece),
        "", tab, "", confusion(gold, pred, list(LABELS)), "",
    ]
    return sections, {"fnc_score": score, "stance_macro_f1": macro, "stance_disagree_f1": disagree_f1, "stance_ece": ece}


def eval_stance_tiers(model_dir: str | None = None) -> tuple[list[str], dict]:
    """Both tiers through ``Tagger.stances`` (the pipeline's path) on the held-back FNC-1
    stories: the fast tier is the numpy model alone; the accurate tier keeps it as the
    relatedness gate and asks the encoder for agree / disagree / discuss."""
    from newsbeam.pipelines.config import load_config
    from newsbeam.tagging import Claim, Tagger
    from newsbeam.text import split_sentences
    from training.evaluate import confusion, macro_f1_difference_interval, table

    cfg = load_config(None)
    bodies, _train, held = train_stance.split()
    by_body: dict[int, list[tuple[str, str]]] = {}
    for headline, body_id, label in held:
        by_body.setdefault(body_id, []).append((headline, label))
    sections, numbers, preds = [], {}, {}
    gold = [label for body_id in sorted(by_body) for _h, label in by_body[body_id]]
    for tier in ("fast", "accurate"):
        tagger = Tagger(cfg.taxonomy, {}, [], tier=tier, actors=None, **({"encoder": model_dir} if model_dir else {}))
        start = time.perf_counter()
        pred = []
        for body_id in sorted(by_body):
            claims = [Claim(str(i), h) for i, (h, _l) in enumerate(by_body[body_id])]
            pred += [s["label"] for s in tagger.stances(None, split_sentences(bodies[body_id]), claims)]
        per_pair = (time.perf_counter() - start) / max(1, len(gold)) * 1000
        preds[tier] = pred
        tab, macro = table(gold, pred, list(LABELS))
        score = fnc_score(gold, pred)
        per_label = f1_score(gold, pred, labels=list(LABELS), average=None, zero_division=0)
        numbers |= {f"stance_{tier}_fnc_score": score, f"stance_{tier}_macro_f1": macro,
                    f"stance_{tier}_agree_f1": float(per_label[0]), f"stance_{tier}_disagree_f1": float(per_label[1])}
        sections += [f"### Stance through the tagger: {tier} tier, FNC-1 stories held back",
                     f"{len(gold)} pairs ({per_pair:.2f} ms a pair). **FNC-1 score {score:.1%}**, macro-F1 {macro:.3f}.",
                     "", tab, "", confusion(gold, pred, list(LABELS)), ""]
    low, high = macro_f1_difference_interval(gold, preds["fast"], preds["accurate"], list(LABELS))
    diff = numbers["stance_accurate_macro_f1"] - numbers["stance_fast_macro_f1"]
    sections += [f"Accurate - fast macro-F1: {diff:+.3f} (95 % paired bootstrap {low:+.3f} to {high:+.3f}).", ""]
    return sections, numbers


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = sys.argv[1:] if argv is None else argv
    sections, numbers = eval_stance_tiers(argv[0] if argv else None)
    print("\n".join(sections))
    print({k: round(v, 4) for k, v in numbers.items()})
    return 0


def calibration_error(confidences: list[float], correct: list[bool], bins: int = 10) -> float:
    """Expected calibration error: |accuracy - mean score| per score bin, weighted by the bin's size."""
    conf, hit = np.asarray(confidences), np.asarray(correct, float)
    edges = np.minimum((conf * bins).astype(int), bins - 1)
    return float(sum(abs(hit[edges == b].mean() - conf[edges == b].mean()) * (edges == b).mean()
                      for b in range(bins) if (edges == b).any()))


if __name__ == "__main__":
    raise SystemExit(main())
