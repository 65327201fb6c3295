"""Stance evaluation on FNC-1 stories held back from training: no body and no claim of a
test story is trained on. (The other corpora, which the network never saw, are scored by
``training/calibrate.py``, where the stance confidence is fitted.)"""

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


def calibration_error(confidences: list[float], correct: list[bool], bins: int = 10) -> float:
    """Expected calibration error: |accuracy - mean score| per score bin, weighted by the bin's size."""
    conf, hit = np.asarray(confidences), np.asarray(correct, float)
    edges = np.minimum((conf * bins).astype(int), bins - 1)
    return float(sum(abs(hit[edges == b].mean() - conf[edges == b].mean()) * (edges == b).mean()
                      for b in range(bins) if (edges == b).any()))


def main() -> int:
    sections, numbers = eval_stance()
    print("\n".join(sections))
    print({k: round(v, 4) for k, v in numbers.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
