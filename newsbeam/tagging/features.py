"""Text features shared by training (scikit-learn) and tagging (numpy only).

The same tokenizer and the same sparse TF-IDF vectorisation run in ``make train`` and in
the pipeline, so a model sees at run time exactly the features it was trained on. A
trained model is stored as plain arrays (vocabulary, idf, weights) in an ``.npz`` file:
no pickle, no scikit-learn at run time.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter

import numpy as np

_TOKEN = re.compile(r"[a-z][a-z0-9'-]*|[0-9]+", re.UNICODE)
_NUMBER = re.compile(r"^[0-9]+$")

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being
    has have had do does did it its this that these those there their they them he she his her
    we our you your i me my will would shall should can could may might must about into over
    after before between during under above also just than so such very which who whom whose
    what when where while how all any both each few more most other some own same too up down
    out off then once here only s t said says say""".split()
)


@functools.lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """A light suffix stripper (plural, -ed, -ing, -ly): merges word forms, keeps stems readable."""
    if len(token) <= 4:
        return token
    for suffix, keep in (("ies", "y"), ("ied", "y"), ("ing", ""), ("edly", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)] + keep
    return token


def tokens(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens; numbers collapse to one token.

    The event and the stance model both tokenise every sentence of an article: the last
    few hundred sentences' tokens are kept, so the second model finds them ready.
    """
    return list(_tokens(text))


@functools.lru_cache(maxsize=256)
def _tokens(text: str) -> tuple[str, ...]:
    out = []
    for tok in _TOKEN.findall(text.lower()):
        out.append("<num>" if _NUMBER.match(tok) else stem(tok.replace("'s", "")))
    return tuple(out)


def ngrams(text: str, bigrams: bool = True, stop: bool = True) -> list[str]:
    """Unigrams without stop words, plus bigrams over all tokens (they keep "not agree")."""
    toks = tokens(text)
    grams = [t for t in toks if not (stop and t in STOPWORDS)]
    if bigrams:
        grams += [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]
    return grams


def probability(features: np.ndarray, weights: np.ndarray) -> float:
    """A logistic calibration's probability (the events' and the stances' confidence),
    rounded as every score the tagger gives."""
    return round(float(1.0 / (1.0 + np.exp(-float(features @ weights)))), 4)


class SparseTfidf:
    """TF-IDF with sublinear tf and l2 norm over a fixed vocabulary (scikit-learn compatible)."""

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, analyzer=ngrams):
        self.vocabulary = vocabulary
        self.idf = idf.astype(np.float32)
        self._idf = self.idf.tolist()  # Python floats: indexing a list is cheaper per n-gram
        self.analyzer = analyzer

    def transform(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of one text's l2-normalised TF-IDF vector."""
        counts = Counter(self.analyzer(text))
        idx, val = [], []
        vocabulary, idf = self.vocabulary, self._idf
        for gram, n in counts.items():
            j = vocabulary.get(gram)
            if j is not None:
                idx.append(j)
                val.append((1.0 + math.log(n)) * idf[j] if n > 1 else idf[j])
        if not idx:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        values = np.asarray(val, np.float32)
        values /= np.linalg.norm(values) or 1.0
        return np.asarray(idx, np.int32), values

    @staticmethod
    def cosine(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
        if not len(a[0]) or not len(b[0]):
            return 0.0
        common, ia, ib = np.intersect1d(a[0], b[0], assume_unique=True, return_indices=True)
        return float(np.dot(a[1][ia], b[1][ib])) if len(common) else 0.0
