"""TagArticles: event type, stance toward the configured claims, and tone."""

from __future__ import annotations

import json
import logging
import threading

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam.records import STAGE_TAG, Article, Failure, Stance, TaggedArticle
from newsbeam.tagging import Claim, Tagger

LOGGER = logging.getLogger(__name__)

FAILED = "failed"

_TAGGERS: dict[str, Tagger] = {}
_TAGGERS_LOCK = threading.Lock()


def shared_tagger(taxonomy: dict, tone_lexicon: dict, claims: list[tuple[str, str]], tier: str = "fast",
                  actors: dict | None = None) -> Tagger:
    """One Tagger per process and configuration, however many tagging steps use it."""
    key = json.dumps([taxonomy, tone_lexicon, claims, tier, actors], sort_keys=True)
    with _TAGGERS_LOCK:
        tagger = _TAGGERS.get(key)
        if tagger is None:
            tagger = _TAGGERS[key] = Tagger(taxonomy, tone_lexicon, [Claim(i, t) for i, t in claims], tier=tier, actors=actors)
    return tagger


def tag_article(tagger: Tagger, article: Article) -> TaggedArticle:
    result = tagger.tag(article.title, article.text, language=article.language)
    return TaggedArticle(
        article=article,
        event_type=result.event_type,
        event_scores=result.event_scores,
        event_evidence=result.event_evidence,
        stances=tuple(Stance(**s) for s in result.stances),
        tone=result.tone,
        event_actors=tuple(result.event_actors),
    )


class _TagFn(beam.DoFn):
    def __init__(self, taxonomy: dict, tone_lexicon: dict, claims: list[tuple[str, str]], tier: str = "fast",
                 actors: dict | None = None):
        self.taxonomy = taxonomy
        self.tone_lexicon = tone_lexicon
        self.claims = claims
        self.tier = tier
        self.actors = actors
        self.ok = Metrics.counter("newsbeam", "tag.articles")
        self.failed = Metrics.counter("newsbeam", "tag.failed")

    def setup(self):
        self._tagger = shared_tagger(self.taxonomy, self.tone_lexicon, self.claims, self.tier, self.actors)

    def process(self, article: Article):
        try:
            tagged = tag_article(self._tagger, article)
        except Exception as exc:  # noqa: BLE001 - an article that breaks a tagger is an error row
            self.failed.inc()
            identity = getattr(article, "input", None) or repr(article)[:200]
            yield beam.pvalue.TaggedOutput(FAILED, Failure(STAGE_TAG, identity, type(exc).__name__, str(exc)))
            return
        self.ok.inc()
        yield tagged


class TagArticles(beam.PTransform):
    """Tag each article with its event type and actors, stances and tone."""

    def __init__(self, taxonomy: dict, tone_lexicon: dict, claims: list[tuple[str, str]], tier: str = "fast",
                 actors: dict | None = None):
        super().__init__()
        self.fn = _TagFn(taxonomy, tone_lexicon, claims, tier, actors)

    def expand(self, articles):
        return articles | "Tag" >> beam.ParDo(self.fn).with_outputs(FAILED, main="tagged")
