"""Stance through the shared encoder: the claim and the article's passage about it as a pair.

The numpy stance model (``stance.py``) stays the relatedness gate: it is fast and says
``unrelated`` well. For a related article, the claim and its passage (the sentences
most similar to the claim, in the article's order) go through the fine-tuned encoder as
one pair, and a linear head on the pooled vector says agree, disagree or discuss.
"""

from __future__ import annotations

import numpy as np

# Sentences of the article read with the claim, and the pair's length in word pieces:
# a claim (~15) and three news sentences (~30 each) fit in 128.
PASSAGE_SENTENCES = 3
PAIR_LENGTH = 128
RELATED = ("agree", "disagree", "discuss")


def passage(stance_model, claim_text: str, body) -> str:
    """The sentences of ``body`` most similar to the claim (TF-IDF), in the article's order."""
    if not body.sentences:
        return ""
    sims = body.similarities(stance_model.claim(claim_text)[1])
    top = sorted(int(i) for i in np.argsort(-sims)[:PASSAGE_SENTENCES])
    return " ".join(body.sentences[i] for i in top)


class EncoderStance:
    """agree / disagree / discuss probabilities of (claim, passage) pairs."""

    def __init__(self, encoder, coef: np.ndarray, intercept: np.ndarray):
        self.encoder = encoder
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)

    def probs(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """(pairs, 3) probabilities over RELATED."""
        from newsbeam.tagging.onnx_encoder import linear_softmax

        return linear_softmax(self.encoder.encode_pairs(pairs, PAIR_LENGTH), self.coef, self.intercept)
