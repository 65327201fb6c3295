"""TagArticles: event type, stance toward the configured claims, and tone."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam import progress
from newsbeam.documents import shared_tagger, tag
from newsbeam.records import FAILED, Article, Failure
from newsbeam.settings import TagSettings


class _TagFn(beam.DoFn):
    def __init__(self, settings: TagSettings):
        self.settings = settings
        self.ok = Metrics.counter("newsbeam", "tag.articles")
        self.failed = Metrics.counter("newsbeam", "tag.failed")

    def setup(self):
        self._tagger = shared_tagger(self.settings)

    def process(self, article: Article):
        tagged = tag(self._tagger, article)
        if isinstance(tagged, Failure):
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(FAILED, tagged)
            return
        self.ok.inc()
        progress.add("articles")
        yield tagged


class TagArticles(beam.PTransform):
    """Tag each article with its event type and actors, stances and tone."""

    def __init__(self, settings: TagSettings):
        super().__init__()
        self.fn = _TagFn(settings)

    def expand(self, articles):
        return articles | "Tag" >> beam.ParDo(self.fn).with_outputs(FAILED, main="tagged")
