"""Reading local (or object-store) inputs as Beam transforms: globs to files, files to
documents and feed items. The work is the core's (``newsbeam.reading``); these DoFns
route what it gives to outputs."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam import progress
from newsbeam.reading import match_input, read_file
from newsbeam.records import FAILED, Failure, FeedItem
from newsbeam.text import MAX_ARTICLE_CHARS

FEED_ITEMS = "feed_items"


class _MatchFn(beam.DoFn):
    """Expand one input glob (or directory) to ``(path, size, source)`` tuples."""

    def __init__(self, follow_links: bool = False):
        self.follow_links = follow_links
        self.matched = Metrics.counter("newsbeam", "read.files_matched")

    def process(self, spec: tuple[str, str | None]):
        for out in match_input(*spec, follow_links=self.follow_links):
            if isinstance(out, Failure):
                yield beam.pvalue.TaggedOutput(FAILED, out)
            else:
                self.matched.inc()
                yield out


class MatchInputs(beam.PTransform):
    """Expand input globs to files; a glob that matches nothing is a warning and an error row."""

    def __init__(self, follow_links: bool = False):
        super().__init__()
        self.follow_links = follow_links

    def expand(self, specs):
        return specs | "Match" >> beam.ParDo(_MatchFn(self.follow_links)).with_outputs(FAILED, main="files")


class _ReadFileFn(beam.DoFn):
    def __init__(self, max_bytes: int, max_article_chars: int = MAX_ARTICLE_CHARS):
        self.max_bytes = max_bytes
        self.max_article_chars = max_article_chars
        self.docs = Metrics.counter("newsbeam", "read.documents")
        self.items = Metrics.counter("newsbeam", "read.feed_items")
        self.failed = Metrics.counter("newsbeam", "read.failed")

    def process(self, file: tuple[str, int | None, str | None]):
        is_feed = False
        for rec in read_file(*file, self.max_bytes, self.max_article_chars):
            if isinstance(rec, Failure):
                self.failed.inc()
                yield beam.pvalue.TaggedOutput(FAILED, rec)
            elif isinstance(rec, FeedItem):
                self.items.inc()
                is_feed = True
                yield beam.pvalue.TaggedOutput(FEED_ITEMS, rec)
            else:
                self.docs.inc()
                progress.add("pages")  # a page read from a file counts as one fetched would
                yield rec
        if is_feed:
            progress.add("feeds")  # a feed read from a file counts as one polled would


class ReadLocalInputs(beam.PTransform):
    """Read matched files into RawDocuments (main), FeedItems and Failures."""

    def __init__(self, max_bytes: int, max_article_chars: int = MAX_ARTICLE_CHARS):
        super().__init__()
        self.max_bytes = max_bytes
        self.max_article_chars = max_article_chars

    def expand(self, files):
        return files | "ReadFile" >> beam.ParDo(_ReadFileFn(self.max_bytes, self.max_article_chars)).with_outputs(
            FEED_ITEMS, FAILED, main="documents"
        )
