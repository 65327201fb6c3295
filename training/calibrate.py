"""Confidence calibration, fitted and checked family by family.

A confidence is a promise: ``event_confidence = 0.8`` must mean right 8 times in 10 on a
source the model never saw. So the calibrator is fitted on *out-of-family* predictions
(each made by a model trained without that family, ``training/loso.py``), every family
weighing the same, and it is checked the same way: the calibrator that scores a family
is fitted without it. The shipped calibrator is then fitted on every family.

Stance: the network is trained on FNC-1's training stories only; its confidence is
fitted on what it never saw (FNC-1's held-back stories, ARC, Perspectrum, IBM claims,
Climate-FEVER), again leaving each corpus out to check it.
"""

from __future__ import annotations

import csv

import numpy as np
from sklearn.linear_model import LogisticRegression

from newsbeam.tagging.events import CONFIDENT, NONE, confidence_features
from newsbeam.tagging.stance import LABELS as STANCE_LABELS
from newsbeam.tagging.stance import StanceModel, fnc_score
from newsbeam.tagging.stance import confidence_features as stance_features
from newsbeam.text import split_sentences
from training import data

# Inverse regularisation of the calibrators: a handful of weights, fitted on thousands of
# predictions; strong enough to keep them from chasing one family.
CALIBRATION_C = 1.0


def fit_weights(x: np.ndarray, y: np.ndarray, groups: list[str]) -> np.ndarray:
    """Logistic-regression weights (the first feature is the constant), every group
    weighing the same."""
    groups_arr = np.asarray(groups)
    w = np.zeros(len(y))
    for g in set(groups):
        mask = groups_arr == g
        w[mask] = 1.0 / mask.sum()
    w *= len(y) / w.sum()
    if len(set(y.tolist())) < 2:
        return np.asarray([6.0 if y[0] else -6.0] + [0.0] * (x.shape[1] - 1))
    clf = LogisticRegression(C=CALIBRATION_C, fit_intercept=False, max_iter=2000)
    clf.fit(x, y, sample_weight=w)
    return clf.coef_[0].astype(np.float64)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def ece(conf: np.ndarray, hit: np.ndarray, bins: int = 10) -> float:
    edges = np.minimum((conf * bins).astype(int), bins - 1)
    return float(sum(abs(hit[edges == b].mean() - conf[edges == b].mean()) * (edges == b).mean()
                     for b in range(bins) if (edges == b).any()))


def confident_view(conf: np.ndarray, hit: np.ndarray, is_event: np.ndarray) -> dict:
    """How the confident tags fare: the share of non-NONE tags at or above CONFIDENT that
    are right, and the share of all items that are right, confident and an event."""
    sel = (conf >= CONFIDENT) & is_event
    return {"confident_events": int(sel.sum()),
            "confident_event_precision": float(hit[sel].mean()) if sel.any() else None,
            "right_and_confident_event_share": float((sel & hit.astype(bool)).mean())}


def event_arrays(preds: list[dict], threshold: float):
    x = np.stack([confidence_features(p["score"], p["second"], threshold, p["cue"], p["texts"]) for p in preds])
    decided = [p["top"] if p["score"] >= threshold else NONE for p in preds]
    hit = np.asarray([d == p["gold"] for d, p in zip(decided, preds, strict=True)], float)
    is_event = np.asarray([d != NONE for d in decided])
    return x, hit, is_event


def events_leave_one_out(by_family: dict[str, list[dict]], threshold: float) -> dict[str, dict]:
    """Per family: the calibration error and the confident view of a calibrator fitted
    without it."""
    arrays = {f: event_arrays(p, threshold) for f, p in by_family.items()}
    out = {}
    for family, (x, hit, is_event) in arrays.items():
        others = [f for f in arrays if f != family]
        weights = fit_weights(np.concatenate([arrays[f][0] for f in others]),
                              np.concatenate([arrays[f][1] for f in others]),
                              [f for f in others for _ in range(len(arrays[f][1]))])
        conf = sigmoid(x @ weights)
        out[family] = {"ece": ece(conf, hit), "accuracy": float(hit.mean()), "mean_confidence": float(conf.mean()),
                       **confident_view(conf, hit, is_event)}
    return out


def events_weights(by_family: dict[str, list[dict]], threshold: float) -> np.ndarray:
    arrays = {f: event_arrays(p, threshold) for f, p in by_family.items()}
    return fit_weights(np.concatenate([a[0] for a in arrays.values()]), np.concatenate([a[1] for a in arrays.values()]),
                       [f for f, a in arrays.items() for _ in range(len(a[1]))])


# ---- stance ---------------------------------------------------------------------------

STANCE_FAMILIES = ("fnc_held", "arc", "perspectrum", "ibm", "climate_fever")
# Pairs scored per corpus (a fixed sample by hash): enough for the calibration, quick.
STANCE_PER_LABEL = 400


def _stance_rows(name: str) -> list[tuple[str, str, str]]:
    with open(data.SHARED / "stance" / "more" / name, encoding="utf-8") as fh:
        return [(r["claim"], r["text"], r["label"]) for r in csv.DictReader(fh) if r["label"] and r["text"] and r["claim"]]


def stance_family(family: str) -> list[tuple[str, str, str]]:
    """(claim, text, gold label) of a stance corpus the network never trained on."""
    if family == "fnc_held":
        from training import train_stance

        bodies, _train, held = train_stance.split()
        rows = [(h, bodies[b], y) for h, b, y in held]
    else:
        rows = _stance_rows({"arc": "arc_stance.csv", "perspectrum": "perspectrum_stance.csv",
                             "ibm": "ibm_claim_stance.csv", "climate_fever": "climate_fever_pairs.csv"}[family])
    from training.families import stratified_per_label

    keyed = [(f"{c}\u0000{t}", y) for c, t, y in rows]
    chosen = set(k for k, _ in stratified_per_label(keyed, STANCE_PER_LABEL))
    return [(c, t, y) for c, t, y in rows if f"{c}\u0000{t}" in chosen]


def stance_predictions(model: StanceModel, rows: list[tuple[str, str, str]]) -> list[tuple[str, str, float, int]]:
    """(gold, predicted label, its score, sentences) per pair, through the tagger's path."""
    out = []
    for claim, text, gold in rows:
        body = model.body(split_sentences(text)[:60])
        probs, best, _evidence = model.predict(claim, body)
        out.append((gold, STANCE_LABELS[best], float(probs[best]), len(body.sentences)))
    return out


def stance_arrays(preds):
    x = np.stack([stance_features(label, score, n) for _g, label, score, n in preds])
    hit = np.asarray([g == label for g, label, _s, _n in preds], float)
    return x, hit


def stance_report(by_family: dict[str, list]) -> tuple[dict[str, dict], np.ndarray]:
    """Per corpus, scored by a calibrator fitted without it; and the shipped weights."""
    from sklearn.metrics import f1_score

    arrays = {f: stance_arrays(p) for f, p in by_family.items()}
    out = {}
    for family, (x, hit) in arrays.items():
        others = [f for f in arrays if f != family]
        weights = fit_weights(np.concatenate([arrays[f][0] for f in others]), np.concatenate([arrays[f][1] for f in others]),
                              [f for f in others for _ in range(len(arrays[f][1]))])
        conf = sigmoid(x @ weights)
        gold = [p[0] for p in by_family[family]]
        pred = [p[1] for p in by_family[family]]
        labels = sorted(set(gold))
        sel = conf >= CONFIDENT
        out[family] = {"n": len(gold), "accuracy": float(hit.mean()), "ece": ece(conf, hit),
                       "macro_f1": float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)),
                       "labels": labels, "fnc_score": fnc_score(gold, pred) if family in ("fnc_held", "arc") else None,
                       "confident": int(sel.sum()), "confident_precision": float(hit[sel].mean()) if sel.any() else None,
                       "raw_score_ece": ece(np.asarray([p[2] for p in by_family[family]]), hit)}
    shipped = fit_weights(np.concatenate([a[0] for a in arrays.values()]), np.concatenate([a[1] for a in arrays.values()]),
                          [f for f, a in arrays.items() for _ in range(len(a[1]))])
    return out, shipped


def add_arrays(path, **arrays) -> None:
    """Add (or replace) arrays in a shipped .npz model, its weights untouched."""
    with np.load(path, allow_pickle=False) as d:
        kept = {k: d[k] for k in d.files}
    kept.update({k: np.asarray(v) for k, v in arrays.items()})
    np.savez_compressed(path, **kept)


def calibrate_stance() -> dict:
    """Fit the stance confidence; write it into stance.npz; return the per-corpus report."""
    import json

    from training import train_stance

    model = StanceModel.load(str(train_stance.MODEL))
    by_family = {f: stance_predictions(model, stance_family(f)) for f in STANCE_FAMILIES}
    report, weights = stance_report(by_family)
    add_arrays(train_stance.MODEL, confidence=weights.astype(np.float32))
    STANCE_REPORT.write_text(json.dumps(report, indent=1) + "\n")
    return report


STANCE_REPORT = data.REPO / "training" / "calibration_stance.json"


def main(argv: list[str] | None = None) -> int:
    import json
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if "stance" in argv:
        print(json.dumps(calibrate_stance(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
