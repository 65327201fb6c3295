"""ExtractArticles: RawDocuments to Articles (text, title, author, date, language, source)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam.documents import extract, shared_extractor
from newsbeam.records import FAILED, Failure, RawDocument
from newsbeam.settings import ExtractSettings


class _ExtractFn(beam.DoFn):
    def __init__(self, settings: ExtractSettings):
        self.settings = settings
        self.ok = Metrics.counter("newsbeam", "extract.articles")
        self.failed = Metrics.counter("newsbeam", "extract.failed")

    def setup(self):
        self._extractor = shared_extractor(self.settings)

    def process(self, doc: RawDocument):
        article = extract(self._extractor, doc)
        if isinstance(article, Failure):
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(FAILED, article)
            return
        self.ok.inc()
        yield article


class ExtractArticles(beam.PTransform):
    """Extract clean text and metadata; empty or failed extractions are error rows."""

    def __init__(self, settings: ExtractSettings):
        super().__init__()
        self.settings = settings

    def expand(self, docs):
        return docs | "Extract" >> beam.ParDo(_ExtractFn(self.settings)).with_outputs(FAILED, main="articles")
