"""Stance model (FNC-1 labels): claim and article as term-frequency vectors plus
similarity and cue features, into a one-hidden-layer network (the design that placed
third in FNC-1), with the evidence sentence chosen by similarity to the claim.

Trained by ``training/train_stance.py``; stored as arrays in an ``.npz``; run with numpy.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from newsbeam.tagging.features import STOPWORDS, tokens

LABELS = ("agree", "disagree", "discuss", "unrelated")

_REFUTE = frozenset(
    "fake fraud hoax false deny denies denied not despite nope doubt doubts debunk debunked refute refuted "
    "prank retract retracted untrue baseless bogus misleading never no rumour rumor unfounded".split()
)
_HEDGE = frozenset(
    "reportedly allegedly alleged claim claims claimed rumour rumor unconfirmed could may might appears "
    "apparently purportedly suggests speculation report reports according".split()
)
_ASSERT = frozenset("confirmed confirms confirm official officially indeed revealed proved verified announced".split())
N_DENSE = 17


def term_counts(text: str) -> Counter:
    return Counter(t for t in tokens(text) if t not in STOPWORDS)


def _tf_vector(counts: Counter, vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    idx = [vocab[t] for t in counts if t in vocab]
    if not idx:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    val = np.asarray([counts[t] for t in counts if t in vocab], np.float32)
    return np.asarray(idx, np.int32), val / np.linalg.norm(val)


def _tfidf_vector(counts: Counter, vocab: dict[str, int], idf: np.ndarray):
    keys = [t for t in counts if t in vocab]
    if not keys:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    idx = np.asarray([vocab[t] for t in keys], np.int32)
    val = np.asarray([(1 + math.log(counts[t])) for t in keys], np.float32) * idf[idx]
    order = np.argsort(idx)
    idx, val = idx[order], val[order]
    return idx, val / (np.linalg.norm(val) or 1.0)


def _cos(a, b) -> float:
    if not len(a[0]) or not len(b[0]):
        return 0.0
    _, ia, ib = np.intersect1d(a[0], b[0], assume_unique=True, return_indices=True)
    return float(a[1][ia] @ b[1][ib]) if len(ia) else 0.0


@dataclass
class Body:
    """What the stance model needs of an article, computed once for all claims."""

    tf: tuple
    tfidf: tuple
    sentences: list[str]
    sentence_vecs: list[tuple]
    sentence_tokens: list[set]
    words: int


class StanceModel:
    def __init__(self, vocabulary: list[str], idf: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray,
                 b2: np.ndarray, dense_mean: np.ndarray, dense_scale: np.ndarray):
        self.vocab = {t: i for i, t in enumerate(vocabulary)}
        self.idf = idf.astype(np.float32)
        self.w1 = w1.astype(np.float32)
        self.b1 = b1.astype(np.float32)
        self.w2 = w2.astype(np.float32)
        self.b2 = b2.astype(np.float32)
        self.dense_mean = dense_mean.astype(np.float32)
        self.dense_scale = dense_scale.astype(np.float32)
        self._claims: dict[str, tuple] = {}

    @classmethod
    def load(cls, path: str) -> StanceModel:
        d = np.load(path, allow_pickle=False)
        return cls(d["vocabulary"].tolist(), d["idf"], d["w1"], d["b1"], d["w2"], d["b2"], d["dense_mean"], d["dense_scale"])

    @property
    def size(self) -> int:
        return len(self.vocab)

    def body(self, sentences: list[str], title: str | None = None) -> Body:
        texts = ([title] if title else []) + sentences
        counts = [term_counts(s) for s in texts]
        total = Counter()
        for c in counts:
            total.update(c)
        return Body(
            tf=_tf_vector(total, self.vocab),
            tfidf=_tfidf_vector(total, self.vocab, self.idf),
            sentences=texts,
            sentence_vecs=[_tfidf_vector(c, self.vocab, self.idf) for c in counts],
            sentence_tokens=[set(c) for c in counts],
            words=sum(total.values()),
        )

    def claim(self, text: str) -> tuple:
        cached = self._claims.get(text)
        if cached is None:
            counts = term_counts(text)
            cached = (_tf_vector(counts, self.vocab), _tfidf_vector(counts, self.vocab, self.idf), set(counts),
                      sum(1 for t in tokens(text) if t in _REFUTE))
            if len(self._claims) < 10_000:
                self._claims[text] = cached
        return cached

    def dense(self, claim: tuple, body: Body) -> tuple[np.ndarray, int]:
        """Similarity and cue features; also the index of the evidence sentence."""
        _tf, c_tfidf, c_tokens, c_refute = claim
        sims = np.asarray([_cos(c_tfidf, v) for v in body.sentence_vecs] or [0.0], np.float32)
        order = np.argsort(-sims)
        best = int(order[0])
        top = order[:3]
        overlap = [len(c_tokens & body.sentence_tokens[i]) / max(1, len(c_tokens)) for i in top] if body.sentence_tokens else [0.0]
        body_tokens = set().union(*body.sentence_tokens) if body.sentence_tokens else set()
        top_tokens = set().union(*(body.sentence_tokens[i] for i in top)) if body.sentence_tokens else set()
        words = max(1, body.words)
        feats = np.asarray(
            [
                _cos(c_tfidf, body.tfidf),
                float(sims[best]),
                float(np.mean(sims[top])),
                float(np.mean(sims[:3])) if len(sims) else 0.0,
                len(c_tokens & body_tokens) / max(1, len(c_tokens)),
                max(overlap),
                len(top_tokens & _REFUTE),
                len(top_tokens & _HEDGE),
                len(top_tokens & _ASSERT),
                sum(1 for t in body_tokens if t in _REFUTE) / math.log(words + 2),
                sum(1 for t in body_tokens if t in _HEDGE) / math.log(words + 2),
                float(c_refute),
                math.log(words + 1),
                best / max(1, len(sims)),
                # cues weighted by how close their sentence is to the claim
                sum(float(sims[i]) * len(body.sentence_tokens[i] & _REFUTE) for i in order[:5]) if body.sentence_tokens else 0.0,
                sum(float(sims[i]) * len(body.sentence_tokens[i] & _HEDGE) for i in order[:5]) if body.sentence_tokens else 0.0,
                float(len(body.sentence_tokens[0] & _REFUTE)) if body.sentence_tokens else 0.0,
            ],
            np.float32,
        )
        return feats, best

    def predict(self, claim_text: str, body: Body) -> tuple[np.ndarray, str | None]:
        """Probabilities over LABELS and the evidence sentence."""
        claim = self.claim(claim_text)
        dense, best = self.dense(claim, body)
        dense = (dense - self.dense_mean) / self.dense_scale
        c_idx, c_val = claim[0]
        b_idx, b_val = body.tf
        n = self.size
        hidden = self.b1.copy()
        if len(c_idx):
            hidden += c_val @ self.w1[c_idx]
        if len(b_idx):
            hidden += b_val @ self.w1[n + b_idx]
        hidden += dense @ self.w1[2 * n :]
        np.maximum(hidden, 0, out=hidden)
        logits = hidden @ self.w2 + self.b2
        logits -= logits.max()
        probs = np.exp(logits)
        probs /= probs.sum()
        evidence = body.sentences[best] if body.sentences else None
        return probs, evidence


def fnc_score(gold: list[str], pred: list[str]) -> float:
    """The FNC-1 score as a fraction of the best possible (0.25 related/unrelated, +0.75 label)."""
    related = {"agree", "disagree", "discuss"}
    score = best = 0.0
    for g, p in zip(gold, pred, strict=True):
        best += 0.25 + (0.75 if g in related else 0.0)
        if (g in related) == (p in related):
            score += 0.25
            if g in related and g == p:
                score += 0.75
    return score / best if best else 0.0
