"""Stance model (FNC-1 labels): claim and article as term-frequency vectors plus
similarity and cue features, into a one-hidden-layer network (the design that placed
third in FNC-1), with the evidence sentence chosen by similarity to the claim.

Trained by ``training/train_stance.py``; stored as arrays in an ``.npz``; run with numpy.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from newsbeam.tagging.features import STOPWORDS, probability, tokens

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
# Phrases that say a thing is false, failed or stopped, and phrases that say it is real
# and going on. Matched on the lower-cased sentences most similar to the claim; when the
# claim itself is negative ("talks have collapsed"), the two swap. Generic English, not
# tied to a topic: refutation in FNC-1 ("the video is a hoax") and the failure of an
# event ("the talks are in tatters") are the same signal toward a claim.
_REFUTE_PHRASES = re.compile(
    r"\b(not|no|never|nothing|none|neither|nor|without|deny|denies|denied|denial|false|fake|hoax|untrue|"
    r"debunk(ed)?|baseless|unfounded|bogus|myth|refute[sd]?|retract(ed)?|dismiss(ed|es)?|reject(ed|s)?|"
    r"collaps(e|ed|es|ing)|dead|tatters|stall(ed|s)?|suspend(ed|s)?|suspension|cancel(l?ed|s)?|called off|"
    r"broke(n)? down|break ?down|halt(ed|s)?|abandon(ed|s)?|fail(ed|s|ure)?|doubt(s|ful)?|in limbo|on hold|"
    r"derail(ed)?|scuttl(ed|es)|pull(ed)? out|walk(ed)? out|impossible|unlikely|no longer|end(ed)? (the|any) (talks|hopes?))\b"
)
_SUPPORT_PHRASES = re.compile(
    r"\b(confirm(ed|s)?|under ?way|serious(ly)?|progress(ing)?|breakthrough|advanc(e|ed|ing)|on track|"
    r"going on|continu(e|es|ed|ing)|resum(e|ed|es)|succeed(ed|s)?|success(ful)?|agreed|verified|proved|"
    r"indeed|true|real|genuine|official(ly)?|announced|for the first time|moving forward|productive|constructive)\b"
)
N_DENSE = 21
# Bare negations are too common in news prose ("should not obscure") to decide a stance
# on their own; the lead rule below counts only explicit refutation or failure.
_BARE_NEGATION = frozenset({"not", "no", "never", "nothing", "none", "neither", "nor", "without"})
# The lead rule reads the headline and the sentence after it; this much similarity-weighted
# polarity there makes the article's own stance explicit. It needs a headline: on FNC-1's
# untitled bodies, whose opening sentences report and rebut in one breath, the same rule
# applied to the first sentences cost 1.5 to 2 points of FNC-1 score (measured on the
# calibration stories), so it is not applied to text without one.
LEAD_SENTENCES = 2
LEAD_POLARITY = 0.2


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


def _polarity_counts(texts: list[str]) -> dict[str, np.ndarray]:
    """Refuting (all, and other than bare negations) and supporting phrases per sentence, in one pass each."""
    refute, strong, support = [], [], []
    for text in texts:
        lowered = text.lower()
        found = _REFUTE_PHRASES.findall(lowered)
        refute.append(len(found))
        strong.append(sum(1 for m in found if m[0] not in _BARE_NEGATION))
        support.append(len(_SUPPORT_PHRASES.findall(lowered)))
    as_array = lambda values: np.asarray(values or [0], np.float32)  # noqa: E731
    return {"refute": as_array(refute), "strong_refute": as_array(strong), "support": as_array(support)}


@dataclass
class Body:
    """What the stance model needs of an article, computed once for all claims."""

    tf: tuple
    tfidf: tuple
    sentences: list[str]
    # Every sentence's TF-IDF vector in one sparse (row, column, value) triple: a claim's
    # similarity to all sentences is one gather and one bincount.
    rows: np.ndarray
    columns: np.ndarray
    values: np.ndarray
    sentence_tokens: list[set]
    words: int
    refute: np.ndarray  # refuting phrases per sentence
    support: np.ndarray  # supporting phrases per sentence
    strong_refute: np.ndarray  # refuting phrases other than bare negations
    titled: bool = False  # the first sentence is the headline
    _sims: dict = field(default_factory=dict, repr=False)

    def similarities(self, claim_tfidf: tuple) -> np.ndarray:
        """Cosine similarity of a claim's TF-IDF vector (sorted columns) to each sentence."""
        key = claim_tfidf[0].tobytes() + claim_tfidf[1].tobytes()
        sims = self._sims.get(key)
        if sims is None:
            c_idx, c_val = claim_tfidf
            n = len(self.sentences)
            if not len(c_idx) or not len(self.columns):
                sims = np.zeros(max(1, n), np.float32)
            else:
                at = np.minimum(np.searchsorted(c_idx, self.columns), len(c_idx) - 1)
                products = np.where(c_idx[at] == self.columns, c_val[at] * self.values, 0.0)
                sims = np.bincount(self.rows, weights=products, minlength=max(1, n)).astype(np.float32)
            self._sims[key] = sims
        return sims


class StanceModel:
    def __init__(self, vocabulary: list[str], idf: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray,
                 b2: np.ndarray, dense_mean: np.ndarray, dense_scale: np.ndarray, calibration: np.ndarray | None = None,
                 decision: np.ndarray | None = None, confidence: np.ndarray | None = None):
        self.vocab = {t: i for i, t in enumerate(vocabulary)}
        self.idf = idf.astype(np.float32)
        self.w1 = w1.astype(np.float32)
        self.b1 = b1.astype(np.float32)
        self.w2 = w2.astype(np.float32)
        self.b2 = b2.astype(np.float32)
        self.dense_mean = dense_mean.astype(np.float32)
        self.dense_scale = dense_scale.astype(np.float32)
        # Calibration fitted on stories held out from the network's training (see
        # training/train_stance.py): [temperature, bias x 4, disagree-polarity weight,
        # agree-polarity weight]. Probabilities are softmax((logits + bias + polarity) / T).
        self.calibration = np.asarray([1.0, 0, 0, 0, 0, 0, 0] if calibration is None else calibration, np.float32)
        # Per-label weights on the calibrated probabilities for the label decision
        # (rare labels need less probability to win); scores stay calibrated.
        self.decision = np.ones(len(LABELS), np.float32) if decision is None else decision.astype(np.float32)
        # Weights of the logistic calibration over ``confidence_features``, fitted on corpora
        # and topics the network never saw (training/calibrate.py); None: no confidence.
        self.confidence_weights = None if confidence is None else confidence.astype(np.float64)
        self._claims: dict[str, tuple] = {}

    @classmethod
    def load(cls, path: str) -> StanceModel:
        d = np.load(path, allow_pickle=False)
        return cls(d["vocabulary"].tolist(), d["idf"], d["w1"], d["b1"], d["w2"], d["b2"], d["dense_mean"], d["dense_scale"],
                   d["calibration"] if "calibration" in d else None, d["decision"] if "decision" in d else None,
                   d["confidence"] if "confidence" in d else None)

    def confidence(self, label: str, score: float, sentences: int) -> float | None:
        """The probability that the stance ``label`` (scored ``score``, on a text of
        ``sentences`` sentences) is right on a topic and a kind of text the model never
        saw (docs/tags.md)."""
        if self.confidence_weights is None:
            return None
        return probability(confidence_features(label, score, sentences), self.confidence_weights)

    @property
    def size(self) -> int:
        return len(self.vocab)

    def body(self, sentences: list[str], title: str | None = None) -> Body:
        texts = ([title] if title else []) + sentences
        counts = [term_counts(s) for s in texts]
        total = Counter()
        rows, columns, tf = [], [], []
        vocab = self.vocab
        for r, c in enumerate(counts):
            total.update(c)
            for t, n in c.items():
                j = vocab.get(t)
                if j is not None:
                    rows.append(r)
                    columns.append(j)
                    tf.append(n)
        rows_a = np.asarray(rows, np.int64)
        columns_a = np.asarray(columns, np.int32)
        # Sublinear tf times idf, l2-normalised per sentence (as _tfidf_vector, all rows at once).
        values = (1.0 + np.log(np.asarray(tf, np.float32))) * self.idf[columns_a]
        norms = np.sqrt(np.bincount(rows_a, weights=values * values, minlength=len(texts)))
        values = (values / np.where(norms > 0, norms, 1.0)[rows_a]).astype(np.float32)
        return Body(
            tf=_tf_vector(total, self.vocab),
            tfidf=_tfidf_vector(total, self.vocab, self.idf),
            sentences=texts,
            rows=rows_a,
            columns=columns_a,
            values=values,
            sentence_tokens=[set(c) for c in counts],
            words=sum(total.values()),
            **_polarity_counts(texts),
            titled=bool(title),
        )

    def claim(self, text: str) -> tuple:
        cached = self._claims.get(text)
        if cached is None:
            counts = term_counts(text)
            cached = (_tf_vector(counts, self.vocab), _tfidf_vector(counts, self.vocab, self.idf), set(counts),
                      sum(1 for t in tokens(text) if t in _REFUTE), bool(_REFUTE_PHRASES.search(text.lower())))
            if len(self._claims) < 10_000:
                self._claims[text] = cached
        return cached

    def dense(self, claim: tuple, body: Body) -> tuple[np.ndarray, int]:
        """Similarity and cue features; also the index of the evidence sentence."""
        _tf, c_tfidf, c_tokens, c_refute, c_negative = claim
        sims = body.similarities(c_tfidf)
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
                *self.polarity(sims, order, body, c_negative),
            ],
            np.float32,
        )
        return feats, best

    @staticmethod
    def polarity(sims: np.ndarray, order: np.ndarray, body: Body, claim_negative: bool) -> tuple[float, ...]:
        """Refuting and supporting phrases in the sentences about the claim, seen from the claim.

        Weighted by each sentence's similarity to the claim (its five closest) and, apart,
        in the opening sentence (the headline when there is one); swapped when the claim
        is itself negative, so "the talks collapsed" supports "the talks have failed".
        """
        if not len(body.refute) or len(sims) != len(body.refute):
            return 0.0, 0.0, 0.0, 0.0
        top = order[:5]
        refute = float(np.dot(sims[top], np.minimum(body.refute[top], 3)))
        support = float(np.dot(sims[top], np.minimum(body.support[top], 3)))
        lead_refute = float(sims[0] * min(body.refute[0], 3))
        lead_support = float(sims[0] * min(body.support[0], 3))
        if claim_negative:
            refute, support, lead_refute, lead_support = support, refute, lead_support, lead_refute
        return refute, support, lead_refute, lead_support

    def raw(self, claim_text: str, body: Body) -> tuple[np.ndarray, np.ndarray, int]:
        """The network's logits, the polarity evidence (disagree, agree) and the evidence row."""
        claim = self.claim(claim_text)
        feats, best = self.dense(claim, body)
        dense = (feats - self.dense_mean) / self.dense_scale
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
        refute, support, lead_refute, lead_support = feats[-4:]
        polarity = np.asarray([max(0.0, refute + lead_refute - support - lead_support),
                               max(0.0, support + lead_support - refute - lead_refute)], np.float32)
        return hidden @ self.w2 + self.b2, polarity, best

    def lead_stance(self, claim_text: str, body: Body) -> str | None:
        """The stance an article's headline and lead state outright, if they do.

        News states its position in the headline and the first sentences ("Talks in
        Tatters", "talks are under way and, for the first time, serious"), where the
        network, trained on FNC-1's reports and rebuttals, hears only a report. Polarity
        there (refutation or failure against support, each weighted by the sentence's
        similarity to the claim, swapped for a negative claim) beyond LEAD_POLARITY decides.
        """
        claim = self.claim(claim_text)
        n = min(LEAD_SENTENCES, len(body.sentences))
        if not n or not body.titled:
            return None
        sims = body.similarities(claim[1])[:n]
        balance = float(np.dot(sims, body.strong_refute[:n] - body.support[:n]))
        if claim[4]:
            balance = -balance
        if balance >= LEAD_POLARITY:
            return "disagree"
        if balance <= -LEAD_POLARITY:
            return "agree"
        return None

    @staticmethod
    def calibrate(logits: np.ndarray, polarity: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from logits (rows) and polarity evidence (rows of 2)."""
        z = logits + params[1:5]
        z = z + np.outer(polarity[..., 0], [0, params[5], 0, 0]).reshape(z.shape)
        z = z + np.outer(polarity[..., 1], [params[6], 0, 0, 0]).reshape(z.shape)
        z = z / params[0]
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    def predict(self, claim_text: str, body: Body) -> tuple[np.ndarray, int, str | None]:
        """Calibrated probabilities over LABELS, the decided label's index and the evidence sentence.

        The evidence is the sentence that carries the stance: for agree or disagree, the
        closest sentence to the claim with a supporting or refuting phrase (as seen from
        the claim); otherwise the closest sentence.
        """
        logits, polarity, best = self.raw(claim_text, body)
        probs = self.calibrate(logits, polarity, self.calibration)
        label = int(np.argmax(probs * self.decision))
        lead = self.lead_stance(claim_text, body)
        if lead is not None and LABELS[label] != "unrelated":
            label = LABELS.index(lead)
        evidence = body.sentences[best] if body.sentences else None
        if LABELS[label] in ("agree", "disagree") and body.sentences:
            claim_negative = self.claim(claim_text)[4]
            wants_refute = (LABELS[label] == "disagree") != claim_negative
            cues = body.refute if wants_refute else body.support
            others = body.support if wants_refute else body.refute
            sims = body.similarities(self.claim(claim_text)[1])
            candidates = np.flatnonzero((cues > others) & (sims > 0))
            if len(candidates):
                evidence = body.sentences[int(candidates[np.argmax(sims[candidates])])]
        return probs, label, evidence


def confidence_features(label: str, score: float, sentences: int) -> np.ndarray:
    """What the stance confidence reads: the label's calibrated score (log-odds), the
    label itself (on a new topic, agree and disagree are guessed far less well than
    unrelated) and the text's length in sentences (the network learned from news
    articles; a one-sentence comment or quote is another kind of text). training/calibrate.py
    fits the weights on the same features."""
    p = min(max(score, 1e-4), 1 - 1e-4)
    onehot = [1.0 if label == name else 0.0 for name in LABELS[:3]]
    return np.asarray([1.0, float(np.log(p / (1 - p))), *onehot, float(np.log1p(sentences))], np.float64)


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
