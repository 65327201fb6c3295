"""Rule-based tagger, first version: lexicons and patterns from the taxonomy config.

Event type: each sentence is matched against every type's patterns; a type's article
score combines its sentence scores as independent evidence (1 - prod(1 - s)), the title
counting double, and the primary type is the best-scoring one above the taxonomy's
threshold, else NONE. Stance: the sentence most similar to the claim is the evidence;
below a relatedness threshold the article is ``unrelated``, otherwise refuting cues near
the claim's words make it ``disagree``, asserting cues ``agree``, and the rest ``discuss``.
Tone: balance of positive and negative lexicon words, in [-1, 1].
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field

from newsbeam.text import split_sentences

LOGGER = logging.getLogger(__name__)

NONE = "NONE"

# Words that carry no topic: they must not make a sentence look related to a claim.
_STOP = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been
    being has have had do does did not no nor so than that this these those it its they them
    their there here he she his her we our you your i me my will would shall should can
    could may might must about into over after before between during under above also just
    more most other some such only own same too very says said say new""".split()
)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _stem(token: str) -> str:
    """A light suffix stripper: enough to match talks/talk, agreed/agree across texts."""
    for suffix in ("ing", "edly", "ed", "es", "s", "ly"):
        if len(token) > len(suffix) + 3 and token.endswith(suffix):
            return token[: -len(suffix)]
    return token


def content_tokens(text: str) -> list[str]:
    return [_stem(t) for t in _TOKEN.findall(text.lower()) if t not in _STOP]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str


@dataclass
class TagResult:
    event_type: str
    event_scores: dict[str, float]
    event_evidence: dict[str, str]
    stances: list[dict] = field(default_factory=list)
    tone: float = 0.0


def _compile(patterns: list[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


class Tagger:
    """Tags articles with the rules of a taxonomy, a tone lexicon and default claims."""

    def __init__(self, taxonomy: dict, tone_lexicon: dict, claims: list[Claim] | None = None):
        self.types = list(taxonomy["types"])
        self.threshold = float(taxonomy.get("threshold", 0.5))
        self._patterns = {
            name: _compile(spec["patterns"]) for name, spec in taxonomy["types"].items() if spec.get("patterns")
        }
        self._weights = {name: float(spec.get("weight", 1.0)) for name, spec in taxonomy["types"].items()}
        stance = taxonomy.get("stance", {})
        self._refute = _compile(stance.get("refute", [r"\bnot\b"]))
        self._assert = _compile(stance.get("assert", [r"\bconfirm"]))
        self._related_threshold = float(stance.get("related_threshold", 0.34))
        self._positive = frozenset(tone_lexicon.get("positive", []))
        self._negative = frozenset(tone_lexicon.get("negative", []))
        self.claims = list(claims or [])

    # -- events ----------------------------------------------------------------------

    def _sentence_scores(self, sentence: str) -> dict[str, float]:
        scores = {}
        for name, pattern in self._patterns.items():
            hits = len({m.group(0).lower() for m in pattern.finditer(sentence)})
            if hits:
                # One cue is suggestive, two or more distinct cues are strong evidence.
                scores[name] = min(0.95, (1 - math.exp(-0.9 * hits)) * self._weights[name])
        return scores

    def events(self, title: str | None, sentences: list[str]) -> tuple[str, dict, dict]:
        miss = {name: 1.0 for name in self.types}
        best: dict[str, tuple[float, str]] = {}
        weighted = [(title, 2)] if title else []
        weighted += [(s, 1) for s in sentences]
        for sentence, weight in weighted:
            for name, score in self._sentence_scores(sentence).items():
                miss[name] *= (1 - score) ** weight
                if score > best.get(name, (0.0, ""))[0]:
                    best[name] = (score, sentence)
        scores = {name: round(1 - miss[name], 4) for name in self.types}
        top = max(scores, key=lambda n: (scores[n], -self.types.index(n))) if scores else NONE
        primary = top if scores.get(top, 0.0) >= self.threshold else NONE
        scores[NONE] = round(1 - max(scores.values(), default=0.0), 4)
        evidence = {name: sent for name, (_, sent) in best.items()}
        return primary, scores, evidence

    # -- stance ----------------------------------------------------------------------

    def stance(self, claim_text: str, title: str | None, sentences: list[str]) -> dict:
        claim_tokens = set(content_tokens(claim_text))
        if not claim_tokens:
            return {"label": "unrelated", "score": 1.0, "evidence": None}
        best_overlap, best_sentence = 0.0, None
        for sentence in ([title] if title else []) + sentences:
            overlap = len(claim_tokens & set(content_tokens(sentence))) / len(claim_tokens)
            if overlap > best_overlap:
                best_overlap, best_sentence = overlap, sentence
        if best_overlap < self._related_threshold or best_sentence is None:
            return {"label": "unrelated", "score": round(1 - best_overlap, 4), "evidence": best_sentence}
        if self._refute.search(best_sentence):
            label = "disagree"
        elif self._assert.search(best_sentence):
            label = "agree"
        else:
            label = "discuss"
        return {"label": label, "score": round(best_overlap, 4), "evidence": best_sentence}

    # -- tone ------------------------------------------------------------------------

    def tone(self, text: str) -> float:
        tokens = _TOKEN.findall(text.lower())
        pos = sum(1 for t in tokens if t in self._positive)
        neg = sum(1 for t in tokens if t in self._negative)
        return round((pos - neg) / (pos + neg + 3), 4)

    # -- all -------------------------------------------------------------------------

    def tag(self, title: str | None, text: str, claims: list[Claim] | None = None) -> TagResult:
        sentences = split_sentences(text)
        primary, scores, evidence = self.events(title, sentences)
        stances = []
        for claim in self.claims if claims is None else claims:
            result = self.stance(claim.text, title, sentences)
            stances.append({"claim_id": claim.id, "target": claim.text, **result})
        return TagResult(primary, scores, evidence, stances, self.tone(f"{title or ''}\n{text}"))
