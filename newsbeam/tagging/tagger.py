"""The tagger: event type (PLOVER + NONE), stance toward claims (FNC-1 labels), tone.

Event type and stance come from models trained by ``make train`` (``training/``) and
shipped with the package (``newsbeam/tagging/models/*.npz``, a few hundred KB to 1.4 MB);
they run on the CPU with numpy only. Each event type found gets its source and target
actors from its evidence sentence (``actors.py``: rules over a gazetteer from config).
Tone is the balance of a positive and a negative lexicon (``configs/taxonomy/tone.yaml``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from newsbeam.tagging.actors import ActorCoder, Gazetteer, dominant_code, primary_codes
from newsbeam.tagging.events import NONE, EventModel
from newsbeam.tagging.stance import LABELS as STANCE_LABELS
from newsbeam.tagging.stance import StanceModel
from newsbeam.text import article_sentences, is_boilerplate

LOGGER = logging.getLogger(__name__)

MODELS = Path(__file__).resolve().parent / "models"
EVENT_MODEL = MODELS / "events.npz"
ACCURATE_EVENT_MODEL = MODELS / "events_accurate.npz"
TIERS = ("fast", "accurate")
# The accurate tier encodes each sentence (about 5 ms on one core): it reads the headline
# and the lead, where an article states its event, not the whole text.
ACCURATE_SENTENCES = 15
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
    event_type: str | None  # None: not tagged (a language the models do not know)
    event_scores: dict[str, float]
    event_evidence: dict[str, str]
    stances: list[dict] = field(default_factory=list)
    tone: float | None = 0.0
    # One entry per event type with evidence, the primary type first:
    # {event_type, source: [actor], target: [actor], evidence}; an actor is {text, code, sector}.
    event_actors: list[dict] = field(default_factory=list)

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

    ``tier`` is ``fast`` (n-grams and cues, numpy only) or ``accurate`` (the same features
    plus a sentence encoder's vector per sentence, for the event type; needs
    ``newsbeam[accurate]``). Both tiers share every step but the event model's features.
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
    ):
        if tier not in TIERS:
            raise ValueError(f"tagging tier {tier!r}: not one of {', '.join(TIERS)}")
        if tier == "accurate":
            from newsbeam.tagging.encoder import check_available

            check_available()
        self.tier = tier
        self.events_model = EventModel.load(str(event_model or (ACCURATE_EVENT_MODEL if tier == "accurate" else EVENT_MODEL)), taxonomy)
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
        out = []
        for claim in claims:
            probs, best, evidence = self.stance_model.predict(claim.text, body)
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

    def tag(self, title: str | None, text: str, claims: list[Claim] | None = None, language: str | None = None) -> TagResult:
        """Tag one article; ``language`` (ISO 639-1) outside LANGUAGES leaves it untagged."""
        if language and language not in LANGUAGES:
            return TagResult(None, {}, {}, [], None)
        # The first MAX_SENTENCES are all that is tagged: split only the text they can come from.
        sentences = article_sentences(text[:MAX_TAG_CHARS])[:MAX_SENTENCES]
        if title and is_boilerplate(title):
            title = None
        event_sentences = sentences[:ACCURATE_SENTENCES] if self.tier == "accurate" else sentences
        primary, scores, evidence = self.events_model.classify(title, event_sentences)
        stances = self.stances(title, sentences, self.claims if claims is None else claims)
        event_actors = self.event_actors(title, sentences, primary, scores, evidence)
        return TagResult(primary, scores, evidence, stances, self.tone(f"{title or ''}\n{text}"), event_actors)

    def event_actors(self, title: str | None, sentences: list[str], primary: str, scores: dict[str, float],
                     evidence: dict[str, str]) -> list[dict]:
        """Source and target actors of each event type found, from its evidence sentence.

        An actor named only by its sector ("police") takes its country from a place in the
        sentence, else from the country the headline and lead name most.
        """
        if self.actor_coder is None or not evidence:
            return []
        context = dominant_code(self.actor_coder, ([title] if title else []) + sentences[:3])
        ordered = sorted(evidence, key=lambda t: (t != primary, -scores.get(t, 0.0), t))
        out = []
        for event_type in ordered:
            sentence = evidence[event_type]
            roles = self.actor_coder.code(sentence, event_type, context)
            out.append({"event_type": event_type, "source": roles["source"], "target": roles["target"], "evidence": sentence})
        return out
