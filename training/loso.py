"""Leave-one-source-out for the event-type model: every choice is made here.

For each scored family (``training/families.py``) a model is trained on every other
family (the lockbox never) and scores the one left out. That is run for the candidate
recipes; the predictions each fold makes on its left-out family ("out-of-family"
predictions) are what the threshold and the confidence calibration are fitted on, again
family by family (the calibrator scoring a family is fitted without it).

    .venv/bin/python -m training.loso              # the table, per family, with intervals
    .venv/bin/python -m training.loso --lockbox    # once, at the end: the lockbox family

Writes ``training/loso_events.json`` (the figures the README and docs/tags.md quote).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from newsbeam.tagging.events import LABELS, NONE, EventModel, compile_patterns, event_grams
from newsbeam.text import article_sentences
from training import families, train_events
from training.evaluate import macro_f1_interval, scored_labels

OUT = Path(__file__).resolve().parent / "loso_events.json"
SEED = 13
MIN_SUPPORT = 10

# The candidate recipes. "fast-r3" is the shipped fast tier's recipe of round 3 (its four
# sources, no family balance), the baseline every family must be matched on.
RECIPES = {
    "fast-r3": {"families": ("seeds", "plover", "acled", "background"), "C": 32.0, "balance": False},
    "all-balanced-C8": {"families": families.SCORED + families.TRAIN_ONLY, "C": 8.0, "balance": True},
    "all-balanced-C32": {"families": families.SCORED + families.TRAIN_ONLY, "C": 32.0, "balance": True},
    "real-balanced-C8": {"families": families.SCORED + ("seeds", "background"), "C": 8.0, "balance": True},
}
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55)


def _taxonomy() -> dict:
    return yaml.safe_load(train_events.TAXONOMY.read_text())


class Grams:
    """Each text's n-grams and cue tokens, computed once for every fold."""

    def __init__(self, patterns):
        self.patterns = patterns
        self.cache: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        grams = self.cache.get(text)
        if grams is None:
            grams = self.cache[text] = event_grams(text, self.patterns)
        return grams


def fit(train_families: tuple[str, ...], c: float, balance: bool, grams: Grams):
    """A vectorizer and logistic regression trained on ``train_families`` (each family
    weighing the same in the loss when ``balance``)."""
    texts, labels, weights = [], [], []
    for family in train_families:
        items = families.training_items(family)
        if not items:
            continue
        w = 1.0 / len(items) if balance else 1.0
        for text, label in items:
            texts.append(text)
            labels.append(label)
            weights.append(w)
    weights = np.asarray(weights)
    weights *= len(weights) / weights.sum()
    vectorizer = TfidfVectorizer(analyzer=grams, sublinear_tf=True, min_df=1)
    x = vectorizer.fit_transform(texts)
    clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=SEED)
    clf.fit(x, labels, sample_weight=weights)
    return vectorizer, clf, len(texts)


def as_model(vectorizer, clf, taxonomy: dict, tmp: str, name: str) -> EventModel:
    """The fitted model as the pipeline loads it (threshold 0.5: scores stay unscaled)."""
    path = Path(tmp) / f"{name}.npz"
    train_events.export(vectorizer, clf, path, {"recipe": name}, threshold=0.5)
    return EventModel.load(str(path), taxonomy)


def predict(model: EventModel, items: list[tuple[str, str]]) -> list[dict]:
    """Per item: gold, the top type and its combined score (the threshold decides NONE)."""
    out = []
    for text, gold in items:
        _primary, scores, _ev = model.classify(None, article_sentences(text))
        types = {k: v for k, v in scores.items() if k != NONE}
        ranked = sorted(types.items(), key=lambda kv: -kv[1])
        out.append({"gold": gold, "top": ranked[0][0], "score": ranked[0][1], "second": ranked[1][1]})
    return out


def decide(pred: dict, threshold: float) -> str:
    return pred["top"] if pred["score"] >= threshold else NONE


def family_figure(family: str, preds: list[dict], threshold: float) -> dict:
    gold = [p["gold"] for p in preds]
    pred = [decide(p, threshold) for p in preds]
    acc = float(np.mean([g == q for g, q in zip(gold, pred, strict=True)]))
    if family in families.NONPOLITICAL:
        hits = np.asarray([g == q for g, q in zip(gold, pred, strict=True)], float)
        draws = np.random.default_rng(0).integers(0, len(hits), size=(1000, len(hits)))
        low, high = np.percentile(hits[draws].mean(axis=1), [2.5, 97.5])
        return {"metric": "NONE share", "value": acc, "low": float(low), "high": float(high), "n": len(gold)}
    labels = scored_labels(gold, list(LABELS), MIN_SUPPORT)
    from sklearn.metrics import f1_score

    macro = float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0))
    low, high = macro_f1_interval(gold, pred, labels)
    return {"metric": "macro-F1", "value": macro, "low": low, "high": high, "n": len(gold), "accuracy": acc,
            "labels": labels}


def run_recipe(name: str, recipe: dict, scored: tuple[str, ...], grams: Grams, taxonomy: dict, tmp: str,
               log=print) -> dict[str, list[dict]]:
    """Out-of-family predictions of a recipe on each family in ``scored``."""
    if name == "fast-r3":
        return _round3(scored, taxonomy, tmp)
    out = {}
    baseline_full = None
    for family in scored:
        train = tuple(f for f in recipe["families"] if f != family and f != families.LOCKBOX)
        if family not in recipe["families"] and baseline_full is not None:
            model = baseline_full  # the family was never in this recipe: one model serves
        else:
            started = time.time()
            vec, clf, n = fit(train, recipe["C"], recipe["balance"], grams)
            model = as_model(vec, clf, taxonomy, tmp, f"{name}-without-{family}")
            log(f"  {name} without {family}: {n} examples, {time.time() - started:.0f} s")
            if family not in recipe["families"]:
                baseline_full = model
        out[family] = predict(model, families.scoring_items(family))
    return out


# Round 3's fast tier: the shipped file where the family was never among its sources,
# else its own training code run without the family.
ROUND3_FILE = Path("/tmp/events_r3.npz")
ROUND3_EXCLUDE = {"plover": ("plover",), "acled": ("acled_afg", "acled_extra")}


def _round3(scored, taxonomy: dict, tmp: str) -> dict[str, list[dict]]:
    out = {}
    for family in scored:
        exclude = ROUND3_EXCLUDE.get(family)
        if exclude is None:
            path = ROUND3_FILE
        else:
            vec, clf = train_events.fit(train_events.training_examples(exclude=exclude), compile_patterns(taxonomy))
            path = Path(tmp) / f"r3-without-{family}.npz"
            train_events.export(vec, clf, path, {}, threshold=train_events.THRESHOLD)
        model = EventModel.load(str(path), taxonomy)
        # Scores rescaled back to the combined scale (the file's own threshold lands on 0.5).
        thr = model.threshold
        preds = predict(model, families.scoring_items(family))
        for p in preds:
            for key in ("score", "second"):
                v = p[key]
                p[key] = v / 0.5 * thr if v < 0.5 else thr + (v - 0.5) / 0.5 * (1 - thr)
        out[family] = preds
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    taxonomy = _taxonomy()
    grams = Grams(compile_patterns(taxonomy))
    names = [a for a in argv if a in RECIPES] or list(RECIPES)
    scored = (families.LOCKBOX,) if "--lockbox" in argv else families.SCORED
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f"recipe {name}", flush=True)
            preds = run_recipe(name, RECIPES[name], scored, grams, taxonomy, tmp)
            key = f"{name}{'@lockbox' if '--lockbox' in argv else ''}"
            results[key] = {"recipe": {**RECIPES[name], "families": list(RECIPES[name]["families"])},
                            "predictions": preds}
            OUT.write_text(json.dumps(results))
            for threshold in THRESHOLDS:
                figures = {f: family_figure(f, p, threshold) for f, p in preds.items()}
                print(f"  t={threshold}: " + "  ".join(f"{f} {v['value']:.3f}" for f, v in figures.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
