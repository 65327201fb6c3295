"""Leave-one-source-out for the event-type model: every choice is made here.

For each scored family (``training/families.py``) a model is trained on every other
family (the lockbox never) and scores the one left out. That is run for the candidate
recipes; the predictions each fold makes on its left-out family ("out-of-family"
predictions) are what the threshold and the confidence calibration are fitted on, again
family by family (the calibrator scoring a family is fitted without it).

    .venv/bin/python -m training.loso              # the table, per family, with intervals
    .venv/bin/python -m training.loso --lockbox-report   # once, at the end: the lockbox family

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

from newsbeam.tagging.events import LABELS, NONE, EventModel, compile_patterns, event_grams, unscale
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
    # Every family, each weighing the same: NONE-only families are 5 of 13, and the model
    # learned to say NONE (PLOVER 0.47, CAMEO 0.35 left out: below round 3).
    "all-balanced-C8": {"families": families.SCORED + families.TRAIN_ONLY, "C": 8.0, "balance": True},
    # Round 3's sources plus the real event sentences (RAMS, MAVEN, CAMEO-coded) and the
    # non-political sets as one group (each a quarter), without synthetic stories.
    "r3-plus-real": {"families": ("seeds", "plover", "acled", "background", "rams", "maven", "cameo") + families.NONPOLITICAL,
                     "C": 32.0, "balance": True,
                     "weights": {"agnews": 0.25, "bbc": 0.25, "newscat": 0.25, "mind": 0.25, "background": 0.5}},
    # Round 3's sources plus only the event sentences of RAMS, MAVEN and the CAMEO-coded
    # sets (their NONE items left out: more NONE cost PLOVER and CAMEO above), as round 3
    # weighs examples (no family balance).
    "r3-plus-events": {"families": ("seeds", "plover", "acled", "background", "rams", "maven", "cameo"), "C": 32.0,
                       "balance": False, "events_only": ("rams", "maven", "cameo")},
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


def fit(train_families: tuple[str, ...], c: float, balance: bool, grams: Grams, family_weights: dict | None = None,
        events_only: tuple[str, ...] = ()):
    """A vectorizer and logistic regression trained on ``train_families``: with
    ``balance`` each family weighs ``family_weights[family]`` (default 1) in the loss
    whatever its size, else each example weighs that."""
    texts, labels, weights = [], [], []
    for family in train_families:
        items = families.training_items(family)
        if family in events_only:
            items = [(t, y) for t, y in items if y != NONE]
        if not items:
            continue
        w = (family_weights or {}).get(family, 1.0) / (len(items) if balance else 1.0)
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
    """Per item: gold, the top type and its combined score (the threshold decides NONE),
    the second type's, whether an event cue occurs, and how many sentences were read."""
    out = []
    for text, gold in items:
        sentences = article_sentences(text)
        result = model.classify_full(None, sentences)
        types = {k: v for k, v in result.scores.items() if k != NONE}
        ranked = sorted(types.items(), key=lambda kv: -kv[1])
        cue = model.probs_and_cue(sentences)[1] if sentences else False
        out.append({"gold": gold, "top": ranked[0][0], "score": ranked[0][1], "second": ranked[1][1], "cue": cue,
                    "texts": len(sentences)})
    return out


def decide(pred: dict, threshold: float) -> str:
    return pred["top"] if pred["score"] >= threshold else NONE


def family_figure(family: str, preds: list[dict], threshold: float) -> dict:
    """A family's figure: the NONE share for the non-political sets, else the macro-F1 over
    the labels with MIN_SUPPORT gold items (every PLOVER type for the PLOVER gold set, as
    the held-out PLOVER figure counts them), each with its 95 % bootstrap interval."""
    gold = [p["gold"] for p in preds]
    pred = [decide(p, threshold) for p in preds]
    acc = float(np.mean([g == q for g, q in zip(gold, pred, strict=True)]))
    if family in families.NONPOLITICAL:
        hits = np.asarray([g == q for g, q in zip(gold, pred, strict=True)], float)
        draws = np.random.default_rng(0).integers(0, len(hits), size=(1000, len(hits)))
        low, high = np.percentile(hits[draws].mean(axis=1), [2.5, 97.5])
        return {"metric": "NONE share", "value": acc, "low": float(low), "high": float(high), "n": len(gold)}
    labels = scored_labels(gold, list(LABELS), 1 if family == "plover" else MIN_SUPPORT)
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
            vec, clf, n = fit(train, recipe["C"], recipe["balance"], grams, recipe.get("weights"),
                              recipe.get("events_only", ()))
            model = as_model(vec, clf, taxonomy, tmp, f"{name}-without-{family}")
            log(f"  {name} without {family}: {n} examples, {time.time() - started:.0f} s")
            if family not in recipe["families"]:
                baseline_full = model
        out[family] = predict(model, families.scoring_items(family))
    return out


# Round 3's fast tier: its own training code (``train_events.training_examples``, seeded,
# so the same model it shipped) run without the family where the family was among its
# sources; one model for the families it never saw.
ROUND3_EXCLUDE = {"plover": ("plover",), "acled": ("acled_afg", "acled_extra")}


def _round3(scored, taxonomy: dict, tmp: str) -> dict[str, list[dict]]:
    out = {}
    for family in scored:
        exclude = ROUND3_EXCLUDE.get(family, ())
        path = Path(tmp) / f"r3-without-{'-'.join(exclude) or 'nothing'}.npz"
        if not path.exists():
            vec, clf = train_events.fit(train_events.training_examples(exclude=exclude), compile_patterns(taxonomy))
            train_events.export(vec, clf, path, {}, threshold=train_events.THRESHOLD)
        model = EventModel.load(str(path), taxonomy)
        # Scores back on the combined scale (the file's own threshold lands on 0.5).
        preds = predict(model, families.scoring_items(family))
        for p in preds:
            for key in ("score", "second"):
                p[key] = unscale(p[key], model.threshold)
        out[family] = preds
    return out


BASELINE = ("fast-r3", 0.45)
# What `make train` ships: chosen by `python -m training.loso --report` (``choose``).
SHIPPED = ("fast-r3", 0.45)


def predictions(name: str) -> dict[str, list[dict]]:
    """A recipe's out-of-family predictions, from loso_events.json or by running its folds."""
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    if name not in results:
        main([name])
        results = json.loads(OUT.read_text())
    return results[name]["predictions"]  # round 3's fast tier as shipped: its recipe and threshold


def table(results: dict, scored=families.SCORED) -> dict:
    """{(recipe, threshold): {family: figure}} for every recipe run and threshold."""
    out = {}
    for name, entry in results.items():
        if "@" in name:
            continue
        preds = entry["predictions"]
        for threshold in THRESHOLDS:
            out[(name, threshold)] = {f: family_figure(f, preds[f], threshold) for f in scored if f in preds}
    return out


def choose(figures: dict) -> tuple[str, float]:
    """The recipe and threshold to ship: the best mean over the families left out among
    those at or above round 3's fast tier on every family (round 3's own recipe among
    them). Chosen on out-of-family figures only; the lockbox is not read."""
    base = figures[BASELINE]

    def shortfall(key):
        return min(figures[key][f]["value"] - base[f]["value"] for f in base)

    # The baseline is a candidate too: where nothing matches it on every family, it stays.
    winners = [k for k in figures if shortfall(k) >= 0]
    return max(winners, key=lambda k: (np.mean([v["value"] for v in figures[k].values()]), k == BASELINE))


def markdown(figures: dict, chosen: tuple[str, float], calibration: dict | None = None) -> str:
    """The leave-one-source-out table: the shipped recipe (with intervals and its
    calibration) beside every other recipe tried, each at the shipped threshold."""
    new = figures[chosen]
    others = sorted({k[0] for k in figures} - {chosen[0]})
    head = (f"| family left out | items | metric | **shipped: {chosen[0]}** | "
            + " | ".join(others) + " |" + (" calibration error | confident events right |" if calibration else ""))
    rows = [head, "|---" * (4 + len(others) + (2 if calibration else 0)) + "|"]
    for family, n in new.items():
        cells = [f"| {family} | {n['n']} | {n['metric']} | **{n['value']:.3f}** ({n['low']:.3f}-{n['high']:.3f}) |"]
        cells += [f" {figures[(o, chosen[1])][family]['value']:.3f} |" for o in others]
        if calibration:
            c = calibration[family]
            right = "-" if c["confident_event_precision"] is None else \
                f"{c['confident_event_precision']:.2f} of {c['confident_events']}"
            cells.append(f" {c['ece']:.3f} | {right} |")
        rows.append("".join(cells))
    return "\n".join(rows)


SUMMARY = Path(__file__).resolve().parent / "loso_summary.md"


def report() -> int:
    """Print the table of every recipe and threshold, choose, and write the shipped
    recipe's table (with its calibration, each family's calibrator fitted without it) to
    training/loso_summary.md, which docs/tags.md quotes (a test checks it)."""
    from training import calibrate

    for name in RECIPES:  # on a fresh clone, every recipe's folds run first (about half an hour)
        predictions(name)
    results = json.loads(OUT.read_text())
    figures = table(results)
    chosen = choose(figures)
    if chosen != SHIPPED:
        print(f"note: leave-one-source-out now chooses {chosen}; training.loso.SHIPPED says {SHIPPED}")
    preds = results[SHIPPED[0]]["predictions"]
    cal = calibrate.events_leave_one_out(preds, SHIPPED[1])
    text = markdown(figures, SHIPPED, cal)
    SUMMARY.write_text(text + "\n")
    print(f"chosen: recipe {chosen[0]}, threshold {chosen[1]}; shipped: {SHIPPED}")
    print(text)
    for key in sorted(figures):
        print(key, " ".join(f"{f}={v['value']:.3f}" for f, v in figures[key].items()),
              f"mean={np.mean([v['value'] for v in figures[key].values()]):.3f}")
    return 0


LOCKBOX_REPORT = Path(__file__).resolve().parent / "loso_lockbox.md"


def lockbox_report() -> int:
    """The lockbox family scored once by the shipped model and its shipped calibration
    (fitted on every scored family, never on this one); written to loso_lockbox.md."""
    from training import calibrate

    results = json.loads(OUT.read_text())
    key = f"{SHIPPED[0]}@lockbox"
    if key not in results:
        main([SHIPPED[0], "--lockbox"])
        results = json.loads(OUT.read_text())
    preds = results[key]["predictions"][families.LOCKBOX]
    base = family_figure(families.LOCKBOX, preds, BASELINE[1]) if SHIPPED[0] == BASELINE[0] else None
    shipped = family_figure(families.LOCKBOX, preds, SHIPPED[1])
    weights = calibrate.events_weights(results[SHIPPED[0]]["predictions"], SHIPPED[1])
    x, hit, is_event = calibrate.event_arrays(preds, SHIPPED[1])
    conf = calibrate.sigmoid(x @ weights)
    view = calibrate.confident_view(conf, hit, is_event)
    text = (f"| lockbox | items | macro-F1 (labels with {MIN_SUPPORT}+ items) | accuracy | calibration error |"
            " confident events right | right, confident and an event |\n|---|---|---|---|---|---|---|\n"
            f"| {families.LOCKBOX} | {shipped['n']} | {shipped['value']:.3f} ({shipped['low']:.3f}-{shipped['high']:.3f}) |"
            f" {shipped['accuracy']:.3f} | {calibrate.ece(conf, hit):.3f} | "
            + ("-" if view["confident_event_precision"] is None else
               f"{view['confident_event_precision']:.2f} of {view['confident_events']}")
            + f" | {view['right_and_confident_event_share']:.3f} |")
    LOCKBOX_REPORT.write_text(text + "\n")
    print(text)
    if base is not None:
        print(f"(the shipped event model is round 3's recipe: {base['value']:.3f} is also round 3's figure)")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--report" in argv:
        return report()
    if "--lockbox-report" in argv:
        return lockbox_report()
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
