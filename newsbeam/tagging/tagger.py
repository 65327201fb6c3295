"""The tagger: event type (PLOVER + NONE) with a calibrated confidence, stance toward
claims (FNC-1 labels) with a confidence, tone.

Event type and stance come from models trained by ``make train`` (``training/``) and
shipped with the package (``newsbeam/tagging/models/``) as plain numpy arrays
(``events.py``, ``stance.py``). Every choice in them (data, weights, threshold,
calibration) was made by leave-one-source-out (``training/loso.py``). Each event type
found gets its source and target actors from its evidence sentence (``actors.py``: rules
over a gazetteer from config). Tone is the balance of a positive and a negative lexicon
(``configs/taxonomy/tone.yaml``). Every article records which models tagged it
(``tag_model``).

Round 3's accurate tier (a fine-tuned MiniLM on onnxruntime) was retired in round 4: on
held-out sources it lost to this model (docs/tags.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsbeam.tagging.actors import ActorCoder, Gazetteer, dominant_code, primary_codes
from newsbeam.tagging.events import NONE, EventModel, EventResult
from newsbeam.tagging.stance import LABELS as STANCE_LABELS
from newsbeam.tagging.stance import StanceModel
from newsbeam.text import article_sentences, is_boilerplate, language_code

LOGGER = logging.getLogger(__name__)

MODELS = Path(__file__).resolve().parent / "models"
EVENT_MODEL = MODELS / "events.npz"
# The one tier since round 4 (``tagging.model: fast``); the name stays in configs.
TIERS = ("fast",)
# The headline and this many sentences are the lead, where a missing actor role is sought.
LEAD_SENTENCES = 4
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


class ModelFileError(ValueError):
    """A model file is missing, truncated or not one of newsbeam's (the message names it)."""


def _load_model(path, load):
    """``load(path)``, with any failure to read the file as one ModelFileError naming it
    (a truncated download, a file overwritten by something else): checked at start-up,
    never a traceback in the middle of a run."""
    try:
        return load(str(path))
    except FileNotFoundError:
        raise ModelFileError(f"model file {path} is missing: reinstall newsbeam") from None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, IndexError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
        if "pickle" in reason or isinstance(exc, zipfile.BadZipFile):
            reason = "not a numpy .npz archive"  # numpy's own message suggests unpickling it: never
        raise ModelFileError(f"model file {path} cannot be read ({reason}):"
                             " reinstall newsbeam or retrain it (make train)") from None


def check_story_weights() -> None:
    """The story weights file (``newsbeam.stories``) as the tagger's files are checked."""
    from newsbeam import stories

    _load_model(stories.WEIGHTS, lambda _p: stories.weight_table())


# The name in every row's ``tag_model``: which recipe made the models (training/), bumped
# when the recipe changes; the content hash beside it changes with any retrained file or
# edited taxonomy, lexicon or gazetteer.
MODEL_NAME = "newsbeam-tags-r4"


def model_identity(event_model, stance_model, tier: str, configs: list) -> str:
    """``tag_model``: the recipe's name, the tier, and a hash of everything that decides a
    tag (the model files' bytes and the taxonomy, tone lexicon and gazetteer)."""
    digest = hashlib.sha256()
    for path in (event_model, stance_model):
        digest.update(Path(path).read_bytes())
    digest.update(json.dumps(configs, sort_keys=True, default=str).encode("utf-8"))
    return f"{MODEL_NAME}-{tier}+{digest.hexdigest()[:12]}"


class Tagger:
    """Tags articles; build once per worker (loading the models takes a few milliseconds).

    The event model reads n-grams and cues of every sentence (numpy only); the stance
    model each claim against the article. ``tier`` must be ``fast``, the one tier.
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
        self.tier = tier
        self.events_model = _load_model(event_model or EVENT_MODEL, lambda p: EventModel.load(p, taxonomy))
        self.stance_model = _load_model(stance_model or STANCE_MODEL, StanceModel.load)
        self._positive = frozenset(tone_lexicon.get("positive", []))
        self._negative = frozenset(tone_lexicon.get("negative", []))
        self.claims = list(claims or [])
        self.model_id = model_identity(event_model or EVENT_MODEL, stance_model or STANCE_MODEL, tier,
                                       [taxonomy, tone_lexicon, actors])
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
                    "confidence": self.stance_model.confidence(label, float(probs[best]), len(body.sentences)),
                    "evidence": None if label == "unrelated" else evidence,
                }
            )
        return out

    def tag(self, title: str | None, text: str, claims: list[Claim] | None = None, language: str | None = None) -> TagResult:
        """Tag one article with every registered tag (``newsbeam.tags``); ``language``
        (ISO 639-1) outside LANGUAGES leaves it untagged."""
        from newsbeam.tags import TagInput, compute_tags, untagged

        # A language given but not English once normalised (en-US, EN: en) leaves it untagged.
        if language and language_code(language) not in LANGUAGES:
            return TagResult(untagged())
        # The first MAX_SENTENCES are all that is tagged: split only the text they can come from.
        sentences = article_sentences(text[:MAX_TAG_CHARS])[:MAX_SENTENCES]
        if title and is_boilerplate(title):
            title = None
        doc = TagInput(title, text, sentences, self.claims if claims is None else claims, self)
        return TagResult(compute_tags(doc))

    def classify_events(self, title: str | None, sentences: list[str]) -> EventResult:
        """The primary event type, every type's score, each found type's evidence sentence,
        and the probability that the primary type is right (calibrated, docs/tags.md)."""
        return self.events_model.classify_full(title, sentences)

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
