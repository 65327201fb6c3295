"""Event-type model: a sentence classifier over PLOVER types + NONE, aggregated per article.

Each sentence gets a probability per type from a multinomial logistic regression over
TF-IDF n-grams plus cue-pattern hits from the taxonomy (the patterns carry knowledge the
small training sets lack). An article's score for a type combines its best sentences as
independent evidence, the headline and lead weighing more; the primary type is the best
one if it clears the threshold, else NONE. Each type found keeps its evidence sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from newsbeam.tagging.features import SparseTfidf, ngrams, probability
from newsbeam.tagging.prefilter import text_prefixes, word_prefixes

NONE = "NONE"
PLOVER_TYPES = (
    "AGREE", "CONSULT", "SUPPORT", "CONCEDE", "COOPERATE", "AID", "RETREAT", "REQUEST",
    "ACCUSE", "REJECT", "THREATEN", "PROTEST", "SANCTION", "MOBILIZE", "COERCE", "ASSAULT",
)
LABELS = PLOVER_TYPES + (NONE,)
# How much an article's second and third best sentences for a type add to its score
# (noisy-OR): corroboration helps, but repetition in the body cannot outvote the lead.
SECOND_OPINIONS = np.asarray([1.0, 0.3, 0.1], np.float32)
# Weight of the headline and of the first sentences (news leads state the main event);
# sentences further down report background and context more often than the event.
TITLE_WEIGHT = 1.0
LEAD_WEIGHTS = (1.0, 0.85, 0.7)
BODY_WEIGHT = 0.5
# A type needs at least this score to be given an evidence sentence.
EVIDENCE_MIN_SCORE = 0.2
# A sentence with fewer known n-grams than this carries no evidence of any event.
MIN_FEATURES = 3
# A type whose every cue in a sentence is negated ("no agreement was reached", "little
# agreement", "never attacked") keeps this share of its probability there; the rest goes
# to NONE.
NEGATED_CUE_FACTOR = 0.25
_NEGATOR = re.compile(r"\b(?:no|not|never|little|without|n't|nor|neither|yet to|failed to|no longer)\b")
_NEGATED_WINDOW = 25  # characters between a negator and the cue it negates
NEGATION_CHECK_SHARE = 0.1
# An event tag at or above this event_confidence is "confident": right at least 8 times in
# 10 on sources the model never saw, where docs/tags.md says it holds. The report's
# confident-only view, newsbeam.connect's confident_events and training/calibrate.py use it.
CONFIDENT = 0.8


@dataclass(frozen=True)
class CuePatterns:
    """Each type's cue patterns as one regular expression, matched on lower-cased text.

    Matching lower-cased text without re.IGNORECASE is about twice as fast (measured:
    41 against 73 microseconds a sentence for the PLOVER taxonomy), and cue matching is
    the largest part of tagging. One combined expression with a group per type was
    slower still (171 us): it cannot stop at a type's first match.
    """

    patterns: tuple[tuple[str, re.Pattern], ...]
    # Cues of text that reports no political event (a disaster, an accident, ordinary
    # crime): a feature of NONE, as each type's cues are of that type.
    non_event: re.Pattern | None = None

    def __post_init__(self):
        # Each pattern's word-prefix prefilter (prefilter.py): the (name, pattern, prefixes)
        # searched per sentence, non-event cues last under NONE. Twice as fast as searching
        # every pattern in every sentence (73.5 against 32.8 us), with the same matches.
        named = list(self.patterns) + ([(NONE, self.non_event)] if self.non_event is not None else [])
        object.__setattr__(self, "_searched", tuple((name, p, word_prefixes(p.pattern)) for name, p in named))

    def first_matches(self, lowered: str) -> list[tuple[str, int]]:
        """(type, where its first cue starts) of each type with a cue in a lower-cased text
        (NONE for the non-event cues)."""
        words = text_prefixes(lowered)
        out = []
        for name, pattern, prefixes in self._searched:
            if prefixes is None or not prefixes.isdisjoint(words):
                m = pattern.search(lowered)
                if m is not None:
                    out.append((name, m.start()))
        return out

    def negated_types(self, text: str, only: set[str] | None = None) -> set[str]:
        """Types (of ``only``, if given) whose every cue in ``text`` follows a negator closely
        ("no deal was reached")."""
        lowered = text.lower()
        negators = [m.end() for m in _NEGATOR.finditer(lowered)]
        if not negators:
            return set()
        out = set()
        for name, pattern in self.patterns:
            if only is not None and name not in only:
                continue
            starts = [m.start() for m in pattern.finditer(lowered)]
            if starts and all(any(0 <= start - end <= _NEGATED_WINDOW for end in negators) for start in starts):
                out.add(name)
        return out

    def any_in(self, text: str) -> bool:
        """Whether a text has the cue of any event type (non-event cues aside)."""
        return any(name != NONE for name, _start in self.first_matches(text.lower()))


def _one_pattern(patterns: list[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def compile_patterns(taxonomy: dict) -> CuePatterns:
    non_event = (taxonomy.get("non_event") or {}).get("patterns")
    return CuePatterns(
        tuple(
            (name, _one_pattern(spec["patterns"]))
            for name, spec in taxonomy.get("types", {}).items()
            if spec.get("patterns")
        ),
        _one_pattern(non_event) if non_event else None,
    )


def event_grams(text: str, patterns: CuePatterns) -> list[str]:
    """N-grams of a sentence plus one pseudo-token per taxonomy type whose cues it contains
    (and one for the taxonomy's non-event cues), and, where there are several, one naming
    the type whose cue comes first: a sentence reports its own act before the acts it is
    about ("called for an end to the protests")."""
    grams = ngrams(text)
    found = patterns.first_matches(text.lower())
    grams += [f"__cue_{name}" for name, _start in found]
    if len(found) > 1:
        grams.append(f"__first_cue_{min(found, key=lambda f: f[1])[0]}")
    return grams


def confidence_features(top: float, second: float, threshold: float, cue: bool, texts: int) -> np.ndarray:
    """What the confidence calibration reads of an article: the top type's combined score
    (log-odds) and its margin over the second type; whether it fell short of the
    threshold (the article is NONE), and that with the score; whether any sentence holds
    a cue of an event type, and that for a NONE (a NONE among event words is a guess, a
    NONE without one is not); and the number of texts read (a headline alone, or a whole
    article). The training side (``training/calibrate.py``) and the tagger compute it
    here, once."""
    p = min(max(top, 1e-4), 1 - 1e-4)
    logit = float(np.log(p / (1 - p)))
    none = 1.0 if top < threshold else 0.0
    cued = 1.0 if cue else 0.0
    return np.asarray([1.0, logit, top - second, none, none * logit, cued, none * cued, float(np.log1p(texts))],
                      np.float64)


@dataclass(frozen=True)
class EventResult:
    """An article's event tag: the primary type, a score per label, each found type's
    evidence sentence, and the probability that the primary type is right (None when the
    model has no calibration)."""

    primary: str
    scores: dict[str, float]
    evidence: dict[str, str]
    confidence: float | None


class ArticleEvents:
    """How sentence probabilities become an article's event type, scores and evidence;
    shared by every event model (``sentence_probs``, ``labels`` and ``threshold`` are theirs)."""

    labels: tuple[str, ...]
    threshold: float
    # Weights of the logistic calibration over ``confidence_features`` (fitted on
    # out-of-family predictions by training/calibrate.py); None: the model has none.
    calibration: np.ndarray | None = None

    def confidence(self, combined: np.ndarray, cue: bool, texts: int) -> float | None:
        """The probability that the article's ``event_type`` is right: calibrated on source
        families the model never saw (docs/tags.md)."""
        if self.calibration is None:
            return None
        ranked = np.sort(combined)[::-1]
        features = confidence_features(float(ranked[0]), float(ranked[1]), self.threshold, cue, texts)
        return probability(features, self.calibration)

    def sentence_probs(self, sentences: list[str]) -> np.ndarray:
        return self.probs_and_cue(sentences)[0]

    def probs_and_cue(self, sentences: list[str]) -> tuple[np.ndarray, bool]:
        """(sentences, labels) probabilities, and whether any sentence holds an event cue."""
        raise NotImplementedError

    def sentence_scores(self, probs: np.ndarray) -> np.ndarray:
        """How strongly each sentence states each type (the NONE column zero)."""
        return sentence_event_scores(probs, self.labels.index(NONE))

    def classify(self, title: str | None, sentences: list[str]) -> tuple[str, dict[str, float], dict[str, str]]:
        """Primary type, a score per label, and the evidence sentence of each type found
        (``classify_full`` adds the confidence)."""
        result = self.classify_full(title, sentences)
        return result.primary, result.scores, result.evidence

    def classify_full(self, title: str | None, sentences: list[str]) -> EventResult:
        """Primary type, a score per label, the evidence sentence of each type found, and
        the calibrated confidence.

        A sentence's score for a type is how strongly it states that type against stating
        no event (``sentence_event_scores``). A type's score combines its best sentences as
        independent evidence (noisy-OR),
        each weighted by where it stands (headline and lead first) and the second and third
        discounted, so one clear statement in the lead outweighs events mentioned in
        passing further down. NONE scores one minus the best type's score. The primary
        type is the top-scoring label: a type when it clears the threshold, else NONE. A
        type's evidence is its best sentence, kept only where that sentence's own most
        likely label is the type (it states that event).
        """
        texts = ([title] if title else []) + sentences
        if not texts:
            empty = np.zeros(len(self.labels), np.float32)
            return EventResult(NONE, {label: (1.0 if label == NONE else 0.0) for label in self.labels}, {},
                               self.confidence(empty, False, 0))
        weights = np.asarray(
            ([TITLE_WEIGHT] if title else [])
            + [LEAD_WEIGHTS[i] if i < len(LEAD_WEIGHTS) else BODY_WEIGHT for i in range(len(sentences))],
            np.float32,
        )
        probs, cue = self.probs_and_cue(texts)
        none = self.labels.index(NONE)
        weighted = self.sentence_scores(probs) * weights[:, None]
        k = min(len(texts), len(SECOND_OPINIONS))
        top = -np.partition(-weighted, k - 1, axis=0)[:k] if len(texts) > k else weighted
        top = np.sort(top, axis=0)[::-1][:k]
        combined = 1.0 - np.prod(1.0 - top * SECOND_OPINIONS[:k, None], axis=0)
        combined[none] = 0.0
        best = int(combined.argmax())
        # Scores on the threshold's scale: a type that just clears it scores 0.5, so the
        # primary type is always the top-scoring label, NONE included.
        scaled = _rescale(combined, self.threshold)
        scores = {label: round(float(scaled[j]), 4) for j, label in enumerate(self.labels) if j != none}
        scores[NONE] = round(float(1.0 - scaled[best]), 4)
        primary = self.labels[best] if scaled[best] >= 0.5 else NONE
        evidence: dict[str, str] = {}
        sentence_best = probs.argmax(axis=1)
        for j, label in enumerate(self.labels):
            if j == none or scaled[j] < EVIDENCE_MIN_SCORE:
                continue
            row = int(weighted[:, j].argmax())
            if sentence_best[row] == j or label == primary:
                evidence[label] = texts[row]
        return EventResult(primary, scores, evidence, self.confidence(combined, cue, len(texts)))


@dataclass
class EventModel(ArticleEvents):
    vectorizer: SparseTfidf
    coef: np.ndarray  # (labels, features)
    intercept: np.ndarray
    labels: tuple[str, ...]
    patterns: CuePatterns
    threshold: float = 0.5
    calibration: np.ndarray | None = None

    def __post_init__(self):
        self._label_index = {label: i for i, label in enumerate(self.labels)}
        # The n-gram indices of the event types' cue tokens (not the non-event cues'):
        # whether a sentence holds one is a feature of the confidence.
        vocabulary = self.vectorizer.vocabulary
        self._is_cue = np.zeros(len(vocabulary), bool)
        self._is_cue[[i for g, i in vocabulary.items() if g.startswith("__cue_") and g != f"__cue_{NONE}"]] = True
        # (features, labels), rows contiguous: an article's n-grams gather their weights at once.
        self._coef_t = np.ascontiguousarray(self.coef.T)

    @classmethod
    def load(cls, path: str, taxonomy: dict) -> EventModel:
        data = np.load(path, allow_pickle=False)
        calibration = data["calibration"].astype(np.float64) if "calibration" in data.files else None
        vocab = {g: i for i, g in enumerate(data["vocabulary"].tolist())}
        patterns = compile_patterns(taxonomy)
        return cls(
            vectorizer=SparseTfidf(vocab, data["idf"], analyzer=lambda text: event_grams(text, patterns)),
            coef=data["coef"].astype(np.float32),
            intercept=data["intercept"].astype(np.float32),
            labels=tuple(data["labels"].tolist()),
            patterns=patterns,
            threshold=float(data["threshold"]),
            calibration=calibration,
        )

    def probs_and_cue(self, sentences: list[str]) -> tuple[np.ndarray, bool]:
        """(sentences, labels) probabilities, all sentences of an article in one product,
        and whether any sentence holds an event type's cue."""
        out = np.zeros((len(sentences), len(self.labels)), np.float32)
        none = self.labels.index(NONE)
        # A sentence with too few known n-grams (a date line, a caption, another language)
        # states no event: the intercepts alone would name one out of thin air.
        out[:, none] = 1.0
        features = [self.vectorizer.transform(sentence) for sentence in sentences]
        cue = any(self._is_cue[idx].any() for idx, _ in features)
        rows = [i for i, (idx, _) in enumerate(features) if len(idx) >= MIN_FEATURES]
        if not rows:
            return out, cue
        idx = np.concatenate([features[i][0] for i in rows])
        val = np.concatenate([features[i][1] for i in rows])
        starts = np.cumsum([0] + [len(features[i][0]) for i in rows[:-1]])
        # Each sentence's logits: the weights of its n-grams, scaled and summed per sentence.
        logits = np.add.reduceat(self._coef_t[idx] * val[:, None], starts, axis=0) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        if NEGATED_CUE_FACTOR < 1.0:
            # What a negated type loses goes to NONE: the sentence states that it did not
            # happen. Only types with a real share of the sentence are checked (cost).
            likely = e > NEGATION_CHECK_SHARE * e.sum(axis=1, keepdims=True)
            likely[:, none] = False
            for r in np.flatnonzero(likely.any(axis=1)):
                names = {self.labels[j] for j in np.flatnonzero(likely[r])}
                for name in self.patterns.negated_types(sentences[rows[r]], names):
                    j = self._label_index.get(name)
                    if j is not None:
                        e[r, none] += e[r, j] * (1.0 - NEGATED_CUE_FACTOR)
                        e[r, j] *= NEGATED_CUE_FACTOR
        out[rows] = e / e.sum(axis=1, keepdims=True)
        return out, cue


def sentence_event_scores(probs: np.ndarray, none: int) -> np.ndarray:
    """How strongly each sentence states each type, against its stating no event.

    A type's score in a sentence is p(type) / (p(type) + p(NONE)), scaled down by how far
    the type trails the sentence's most likely type: the classifier's probabilities are
    spread over 17 labels, so a sentence that clearly reports a protest may give PROTEST
    only 0.4, yet ten times NONE's probability.
    """
    ratio = probs / (probs + probs[:, [none]] + 1e-9)
    others = probs.copy()
    others[:, none] = 0.0
    ratio *= others / (others.max(axis=1, keepdims=True) + 1e-9)
    ratio[:, none] = 0.0
    return ratio


def unscale(v: float, threshold: float) -> float:
    """The inverse of ``_rescale``: a stored score back on the combined scale."""
    return v / 0.5 * threshold if v < 0.5 else threshold + (v - 0.5) / 0.5 * (1.0 - threshold)


def _rescale(p: np.ndarray, threshold: float) -> np.ndarray:
    """Map probabilities so that ``threshold`` lands on 0.5, monotonically (piecewise linear)."""
    return np.where(p < threshold, p / threshold * 0.5, 0.5 + (p - threshold) / (1.0 - threshold) * 0.5)
