"""Sweeps behind the "tried and not kept" notes of the README's tag-quality section.

Both score on the held-out splits of ``make eval``, so they can only rule a change out,
not prove one in: a gain here would need confirming on data the sweep never saw.

    .venv/bin/python -m training.sweeps stance-seeds 4      # averaged stance networks
    .venv/bin/python -m training.sweeps stance-gbdt 0.5 1 2 4  # boosted trees beside the network
    .venv/bin/python -m training.sweeps cues OLD.yaml        # another cue file against the current one
"""

from __future__ import annotations

import sys
import tempfile

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import f1_score

from training import data


def stance_seeds(k: int) -> None:
    """Train ``k`` stance networks from consecutive seeds; score each alone and their average
    (hidden layers side by side, output weights divided by their number: averaged logits)."""
    from sklearn.neural_network import MLPClassifier

    from newsbeam.tagging.stance import LABELS, StanceModel, fnc_score
    from training import train_stance as ts

    bodies, train_all, held = ts.split()
    train, calibration = data.fnc_topic_split(train_all, salt="fnc-calibration", share=1)
    vocab, idf = ts.vocabulary([bodies[b] for b in sorted({b for _, b, _ in train})] + sorted({h for h, _, _ in train}))
    x_sparse, dense = ts.pair_matrix(ts.featurizer(vocab, idf), [(h, b) for h, b, _ in train], bodies)
    mean, scale = dense.mean(axis=0), dense.std(axis=0) + 1e-6
    x = sp.hstack([x_sparse, sp.csr_matrix((dense - mean) / scale)]).tocsr()
    y = np.asarray([label for _, _, label in train])
    repeat = np.concatenate([np.full(ts.OVERSAMPLE[label], i) for i, label in enumerate(y)])
    layers = []

    def score(parts, name):
        w1 = np.hstack([p[0] for p in parts])
        b1 = np.concatenate([p[1] for p in parts])
        w2 = np.vstack([p[2] for p in parts]) / len(parts)
        b2 = np.mean([p[3] for p in parts], axis=0)
        model = StanceModel(vocab, idf, w1, b1, w2, b2, mean, scale)
        params, decision = ts.fit_calibration(model, calibration, bodies)
        model = StanceModel(vocab, idf, w1, b1, w2, b2, mean, scale, params, decision)
        gold, pred = [], []
        for headline, body, label in ts.with_bodies(model, held, bodies):
            gold.append(label)
            pred.append(LABELS[model.predict(headline, body)[1]])
        f1 = f1_score(gold, pred, labels=list(LABELS), average=None)
        print(f"{name}: FNC-1 {fnc_score(gold, pred):.3f}, macro-F1 {np.mean(f1):.3f}, per label {np.round(f1, 3).tolist()}",
              flush=True)

    for i in range(k):
        clf = MLPClassifier(hidden_layer_sizes=(ts.HIDDEN,), alpha=ts.ALPHA, batch_size=500, max_iter=ts.EPOCHS,
                            learning_rate_init=1e-3, random_state=ts.SEED + i, shuffle=True)
        clf.fit(x[repeat], y[repeat])
        order = [list(clf.classes_).index(label) for label in LABELS]
        layers.append((clf.coefs_[0], clf.intercepts_[0], clf.coefs_[1][:, order], clf.intercepts_[1][order]))
        score(layers[-1:], f"seed {ts.SEED + i}")
        if i:
            score(layers, f"average of {i + 1}")


def stance_gbdt(weights: list[float]) -> None:
    """Gradient-boosted trees on the stance model's dense features (similarity, cues,
    polarity) beside the shipped network, as FNC-1's joint winner (Talos) paired trees with
    a network: logits + weight * log(tree probabilities), then temperature, biases and
    decision weights fitted on the calibration stories as for the network alone."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from newsbeam.tagging.stance import LABELS, StanceModel, fnc_score
    from training import train_stance as ts

    bodies, train_all, held = ts.split()
    train, calibration = data.fnc_topic_split(train_all, salt="fnc-calibration", share=1)
    model = StanceModel.load(str(ts.MODEL))

    def features(pairs):
        logits, polarity, dense, gold = [], [], [], []
        for headline, body, label in ts.with_bodies(model, pairs, bodies):
            z, pol, _ = model.raw(headline, body)
            logits.append(z)
            polarity.append(pol)
            dense.append(model.dense(model.claim(headline), body)[0])
            gold.append(label)
        return np.asarray(logits), np.asarray(polarity), np.asarray(dense), gold

    tr, cal, hb = features(train), features(calibration), features(held)
    trees = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, l2_regularization=1.0, random_state=0)
    trees.fit(tr[2], tr[3], sample_weight=np.asarray([ts.OVERSAMPLE[label] for label in tr[3]], float))
    order = [list(trees.classes_).index(label) for label in LABELS]
    for weight in [0.0, *weights]:
        def combined(part, w=weight):
            return part[0] + w * np.log(trees.predict_proba(part[2])[:, order] + 1e-6)

        params, decision = ts.calibrate_on(combined(cal), cal[1], cal[3])
        probs = StanceModel.calibrate(combined(hb), hb[1], params)
        pred = [LABELS[i] for i in np.argmax(probs * decision, axis=1)]
        f1 = f1_score(hb[3], pred, labels=list(LABELS), average=None)
        print(f"tree weight {weight}: held-back FNC-1 {fnc_score(hb[3], pred):.3f}, macro-F1 {np.mean(f1):.3f},"
              f" per label {np.round(f1, 3).tolist()}", flush=True)


def cues(other: str) -> None:
    """The fast tier trained with the cue file ``other`` against the current
    configs/taxonomy/plover.yaml, on the same held-out items: each macro-F1 and the 95 %
    paired-bootstrap interval of the difference (current - other), and the share of the
    non-political feed items tagged NONE. For judging an edit of the cues, e.g. against
    ``git show HEAD~1:configs/taxonomy/plover.yaml > /tmp/old.yaml``."""
    from pathlib import Path

    from training import evaluate, evaluate_none, train_events

    current = train_events.TAXONOMY
    feeds = evaluate_none.items()
    preds: dict[tuple[str, str], list] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for which, path in (("other", Path(other)), ("current", current)):
                train_events.TAXONOMY = path
                for name, exclude, load, _labels, _what in evaluate.EVENT_SPLITS[:2]:
                    tagger = evaluate.event_tagger(exclude, tmp)
                    preds[(which, name)] = evaluate.predict_events(tagger, [t for t, _ in load()])
                tagger = evaluate.event_tagger((), tmp)  # trained on every source
                preds[(which, "feeds")] = [tagger.tag(t or None, b, claims=[]).event_type for _f, t, b in feeds]
    finally:
        train_events.TAXONOMY = current
    for name, _exclude, load, labels, _what in evaluate.EVENT_SPLITS[:2]:
        gold = [y for _, y in load()]
        support = 1 if name == "plover" else evaluate.MIN_SUPPORT
        a, b = (evaluate.table(gold, preds[(w, name)], labels, min_support=support)[1] for w in ("other", "current"))
        low, high = evaluate.macro_f1_difference_interval(gold, preds[("other", name)], preds[("current", name)],
                                                          evaluate.scored_labels(gold, labels, support))
        print(f"{name}: macro-F1 {a:.3f} -> {b:.3f}, difference {b - a:+.3f} (95 % paired {low:+.3f} to {high:+.3f})")
    old_none, new_none = (np.asarray(preds[(w, "feeds")]) == "NONE" for w in ("other", "current"))
    print(f"non-political feeds: NONE {old_none.mean():.1%} -> {new_none.mean():.1%}"
          f" ({int((old_none & ~new_none).sum())} items became events, {int((~old_none & new_none).sum())} became NONE)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["stance-seeds"]:
        stance_seeds(int(argv[1]) if len(argv) > 1 else 4)
    elif argv[:1] == ["stance-gbdt"]:
        stance_gbdt([float(a) for a in argv[1:]] or [0.5, 1.0, 2.0, 4.0])
    elif argv[:1] == ["cues"] and len(argv) == 2:
        cues(argv[1])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
