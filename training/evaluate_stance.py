"""Stance evaluation on the FNC-1 pairs whose bodies are held back from training."""

from __future__ import annotations

import time

import numpy as np

from newsbeam.tagging.stance import LABELS, StanceModel, fnc_score
from newsbeam.text import split_sentences
from training import train_stance


def eval_stance() -> tuple[list[str], dict]:
    from training.evaluate import confusion, table

    bodies, _train, held = train_stance.split()
    model = StanceModel.load(str(train_stance.MODEL))
    gold, pred = [], []
    cache = {}
    start = time.perf_counter()
    for headline, body_id, label in held:
        body = cache.get(body_id)
        if body is None:
            body = cache[body_id] = model.body(split_sentences(bodies[body_id]))
        probs, _ = model.predict(headline, body)
        gold.append(label)
        pred.append(LABELS[int(np.argmax(probs))])
    per_pair = (time.perf_counter() - start) / max(1, len(held)) * 1000
    tab, macro = table(gold, pred, list(LABELS))
    score = fnc_score(gold, pred)
    sections = [
        "### Stance: FNC-1, topics held back (20 % of stories: their bodies and claims)",
        f"{len(held)} (claim, body) pairs over {len(cache)} bodies never seen in training, and no claim about those"
        f" stories trained on ({per_pair:.2f} ms per pair, body features included)."
        " **FNC-1 score {:.1%}**, macro-F1 {:.3f}.".format(score, macro),
        "", tab, "", confusion(gold, pred, list(LABELS)), "",
    ]
    return sections, {"fnc_score": score, "stance_macro_f1": macro}
