"""The tagger: event type (PLOVER + NONE), stance toward claims (FNC-1 labels), tone.

Event type and stance come from models trained by ``make train`` (``training/``) and
shipped with the package (``newsbeam/tagging/models/``): the accurate tier's fine-tuned
encoder (int8 ONNX on onnxruntime, ``encoder_model.py``) and the fast tier's numpy models
(``events.py``, ``stance.py``; the stance model is also the accurate tier's relatedness
gate). Each event type found gets its source and target actors from its evidence
sentence (``actors.py``: rules over a gazetteer from config).
Tone is the balance of a positive and a negative lexicon (``configs/taxonomy/tone.yaml``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsbeam.tagging.actors import ActorCoder, Gazetteer, dominant_code, primary_codes
from newsbeam.tagging.encoder_model import LEAD_SENTENCES
from newsbeam.tagging.events import NONE, EventModel
from newsbeam.tagging.stance import LABELS as STANCE_LABELS
from newsbeam.tagging.stance import StanceModel
from newsbeam.text import article_sentences, is_boilerplate

LOGGER = logging.getLogger(__name__)

MODELS = Path(__file__).resolve().parent / "models"
EVENT_MODEL = MODELS / "events.npz"
TIERS = ("fast", "accurate")
STANCE_MODEL = MODELS / "stance.npz"
# The models are trained on English; text in another language is left untagged (null)
# rather than given tags that would look measured and are not.
LANGUAGES = frozenset({"en"})
# Articles are tagged on their first sentences: the lead carries the events and the
# claims; a very long text adds cost, not signal.
MAX_SENTENCES = 60
# Sixty sentences fit well inside this many characters (news sentences average ~150).
MAX_TAG_CHARS = 60_000

_TOKEN = re.compile(r"[a-z]+")

__all__ = ["NONE", "Claim", "TagResult", "Tagger"]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str


@dataclass
class TagResult:
    """One article's tags: a value for every column of the registered tags (``newsbeam.tags``)."""

    values: dict

    @property
    def event_type(self) -> str | None:
        """None: not tagged (a language the models do not know)."""
        return self.values["event_type"]

    @property
    def event_scores(self) -> dict[str, float]:
        return self.values["event_scores"]

    @property
    def event_evidence(self) -> dict[str, str]:
        return self.values["event_evidence"]

    @property
    def stances(self) -> list[dict]:
        return self.values["stances"]

    @property
    def tone(self) -> float | None:
        return self.values["tone"]

    @property
    def event_actors(self) -> list[dict]:
        """One entry per event type with evidence, the primary type first: {event_type,
        source: [actor], target: [actor], evidence}; an actor is {text, code, sector}."""
        return self.values["event_actors"]

    @property
    def actors(self) -> dict | None:
        """Source and target actors of the primary event (None when it has none)."""
        entry = next((e for e in self.event_actors if e["event_type"] == self.event_type), None)
        return None if entry is None else {"source": entry["source"], "target": entry["target"]}

    def primary_codes(self) -> tuple[list[str], list[str]]:
        """The primary event's distinct source and target codes."""
        return primary_codes(self.event_actors, self.event_type)


class Tagger:
    """Tags articles; build once per worker (loading the models takes a few milliseconds).

    ``tier`` is ``accurate`` (the fine-tuned encoder on onnxruntime reads the headline and
    the lead for the event type, and each related claim with its passage for the stance)
    or ``fast`` (n-grams and cues for the event type, numpy only, every sentence). Both
    share the aggregation rules, the relatedness gate, tone and actors. ``encoder`` is
    the accurate tier's model folder (default: the shipped one).
    """

    def __init__(
        self,
        taxonomy: dict,
        tone_lexicon: dict,
        claims: list[Claim] | None = None,
        event_model: str | None = None,
        stance_model: str | None = None,
        tier: str = "fast",
        actors: dict | None = None,
        encoder: str | None = None,
    ):
        if tier not in TIERS:
            raise ValueError(f"tagging tier {tier!r}: not one of {', '.join(TIERS)}")
        self.tier = tier
        self.encoder_stance = None
        if tier == "accurate" and event_model is None:
            from newsbeam.tagging import encoder_model

            self.events_model, self.encoder_stance = encoder_model.load(taxonomy, *([encoder] if encoder else []))
        else:
            self.events_model = EventModel.load(str(event_model or EVENT_MODEL), taxonomy)
        self.stance_model = StanceModel.load(str(stance_model or STANCE_MODEL))
        self._positive = frozenset(tone_lexicon.get("positive", []))
        self._negative = frozenset(tone_lexicon.get("negative", []))
        self.claims = list(claims or [])
        # No gazetteer, no actors: event_actors stays empty.
        self.actor_coder = (
            ActorCoder(Gazetteer(actors), dict(self.events_model.patterns.patterns)) if actors else None
        )

    def tone(self, text: str) -> float:
        tokens = _TOKEN.findall(text.lower())
        pos = sum(1 for t in tokens if t in self._positive)
        neg = sum(1 for t in tokens if t in self._negative)
        return round((pos - neg) / (pos + neg + 3), 4)

    def stances(self, title: str | None, sentences: list[str], claims: list[Claim]) -> list[dict]:
        if not claims:
            return []
        body = self.stance_model.body(sentences, title)
        predicted = [self.stance_model.predict(claim.text, body) for claim in claims]
        if self.encoder_stance is not None:
            predicted = self._encoder_stances(claims, body, predicted)
        out = []
        for claim, (probs, best, evidence) in zip(claims, predicted, strict=True):
            label = STANCE_LABELS[best]
            out.append(
                {
                    "claim_id": claim.id,
                    "target": claim.text,
                    "label": label,
                    "score": round(float(probs[best]), 4),
                    "evidence": None if label == "unrelated" else evidence,
                }
            )
        return out

    def _encoder_stances(self, claims: list[Claim], body, predicted: list[tuple]) -> list[tuple]:
        """The numpy model's answers with agree / disagree / discuss decided by the encoder
        for every claim the numpy model finds related (it stays the relatedness gate)."""
        from newsbeam.tagging.stance_encoder import RELATED, passage

        unrelated = STANCE_LABELS.index("unrelated")
        # Not where the headline and lead state the stance outright (StanceModel.lead_stance),
        # nor where the numpy model hears a refutation: its refuting-phrase features find
        # disagree better than the encoder does from FNC-1's few hundred examples.
        disagree = STANCE_LABELS.index("disagree")
        related = [i for i, (_p, best, _e) in enumerate(predicted)
                   if best not in (unrelated, disagree) and self.stance_model.lead_stance(claims[i].text, body) is None]
        if not related:
            return predicted
        pairs = [(claims[i].text, passage(self.stance_model, claims[i].text, body)) for i in related]
        out = list(predicted)
        for i, probs in zip(related, self.encoder_stance.probs(pairs), strict=True):
            old_probs, _best, evidence = predicted[i]
            # Scores: the gate's probability of being related, shared out by the encoder.
            new_probs = np.asarray([*(probs * (1.0 - old_probs[unrelated])), old_probs[unrelated]], np.float32)
            # agree or discuss: disagree is the gate's call (above)
            best = STANCE_LABELS.index("agree" if probs[RELATED.index("agree")] >= probs[RELATED.index("discuss")] else "discuss")
            out[i] = (new_probs, best, evidence)
        return out

    def tag(self, title: str | None, text: str, claims: list[Claim] | None = None, language: str | None = None) -> TagResult:
        """Tag one article with every registered tag (``newsbeam.tags``); ``language``
        (ISO 639-1) outside LANGUAGES leaves it untagged."""
        from newsbeam.tags import TagInput, compute_tags, untagged

        if language and language not in LANGUAGES:
            return TagResult(untagged())
        # The first MAX_SENTENCES are all that is tagged: split only the text they can come from.
        sentences = article_sentences(text[:MAX_TAG_CHARS])[:MAX_SENTENCES]
        if title and is_boilerplate(title):
            title = None
        doc = TagInput(title, text, sentences, self.claims if claims is None else claims, self)
        return TagResult(compute_tags(doc))

    def classify_events(self, title: str | None, sentences: list[str]) -> tuple[str, dict[str, float], dict[str, str]]:
        """The primary event type, every type's score, and each found type's evidence
        sentence; the accurate tier reads the headline and the lead only."""
        event_sentences = sentences[:LEAD_SENTENCES] if self.tier == "accurate" else sentences
        return self.events_model.classify(title, event_sentences)

    def event_actors(self, title: str | None, sentences: list[str], primary: str, scores: dict[str, float],
                     evidence: dict[str, str]) -> list[dict]:
        """Source and target actors of each event type found, from its evidence sentence.

        An actor named only by its sector ("police") takes its country from a place in the
        sentence, else from the country the headline and lead name most.
        """
        if self.actor_coder is None or not evidence or primary == NONE:
            return []
        context = dominant_code(self.actor_coder, ([title] if title else []) + sentences[:3])
        ordered = sorted(evidence, key=lambda t: (t != primary, -scores.get(t, 0.0), t))
        lead = ([title] if title else []) + sentences[:LEAD_SENTENCES]
        out = []
        for event_type in ordered:
            sentence = evidence[event_type]
            roles = self.actor_coder.code(sentence, event_type, context)
            if not (roles["source"] and roles["target"]):
                roles = self._fill_roles(roles, event_type, [s for s in lead if s != sentence], context)
            out.append({"event_type": event_type, "source": roles["source"], "target": roles["target"], "evidence": sentence})
        return out

    def _fill_roles(self, roles: dict, event_type: str, others: list[str], context: str | None) -> dict:
        """A headline often names one side only ("Council says ceasefire is holding"): a
        missing role comes from the lead's other sentences that state the same type, the
        likeliest first."""
        if not others or event_type not in self.events_model.labels:
            return roles
        probs = self.events_model.sentence_probs(others)
        j = self.events_model.labels.index(event_type)
        for row in np.argsort(-probs[:, j]):
            if int(probs[row].argmax()) != j:
                continue
            more = self.actor_coder.code(others[row], event_type, context)
            roles = {"source": roles["source"] or more["source"], "target": roles["target"] or more["target"]}
            if roles["source"] and roles["target"]:
                break
        return roles
