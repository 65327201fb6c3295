"""ExtractArticles: RawDocuments to Articles (text, title, author, date, language, source)."""

from __future__ import annotations

import functools
import logging

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam.extraction import ExtractionError, Extractor
from newsbeam.records import STAGE_EXTRACT, Failure, RawDocument
from newsbeam.text import MAX_ARTICLE_CHARS

LOGGER = logging.getLogger(__name__)

FAILED = "failed"


@functools.lru_cache(maxsize=4)
def shared_extractor(min_words: int, max_chars: int = MAX_ARTICLE_CHARS) -> Extractor:
    """One Extractor per process and setting: its language model alone is about 75 MB,
    and a pipeline has an extraction step per source of documents."""
    return Extractor(min_words, max_chars)


class _ExtractFn(beam.DoFn):
    def __init__(self, min_words: int, max_chars: int = MAX_ARTICLE_CHARS):
        self.min_words = min_words
        self.max_chars = max_chars
        self.ok = Metrics.counter("newsbeam", "extract.articles")
        self.failed = Metrics.counter("newsbeam", "extract.failed")

    def setup(self):
        self._extractor = shared_extractor(self.min_words, self.max_chars)

    def process(self, doc: RawDocument):
        try:
            article = self._extractor.extract(doc)
        except ExtractionError as exc:
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(FAILED, Failure(STAGE_EXTRACT, doc.input, exc.error_type, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - a page that breaks the extractor is an error row
            LOGGER.debug("extraction crashed on %s", doc.input, exc_info=True)
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(FAILED, Failure(STAGE_EXTRACT, doc.input, type(exc).__name__, str(exc)))
            return
        self.ok.inc()
        yield article


class ExtractArticles(beam.PTransform):
    """Extract clean text and metadata; empty or failed extractions are error rows."""

    def __init__(self, min_words: int, max_chars: int = MAX_ARTICLE_CHARS):
        super().__init__()
        self.min_words = min_words
        self.max_chars = max_chars

    def expand(self, docs):
        return docs | "Extract" >> beam.ParDo(_ExtractFn(self.min_words, self.max_chars)).with_outputs(FAILED, main="articles")
