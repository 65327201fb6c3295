"""FeedItems to RawDocuments: use the entry's full text when it has it, else fetch its link."""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam.text import word_count
from newsbeam.transforms.records import KIND_FRAGMENT, STAGE_FETCH, Failure, FeedItem, RawDocument

LOGGER = logging.getLogger(__name__)

FAILED = "failed"
TO_FETCH = "to_fetch"

# An RSS description this long is the article itself, not a teaser (teasers run to one
# or two sentences; feeds that publish in full do so in the description too).
FULL_SUMMARY_WORDS = 150


def _markup_words(html: str) -> int:
    import lxml.html

    try:
        return word_count(lxml.html.fragment_fromstring(html, create_parent="div").text_content())
    except Exception:  # noqa: BLE001 - unparseable markup counts as no text
        return 0


def item_document(item: FeedItem, min_words: int) -> RawDocument | None:
    """The document an entry carries in full, or None when its link must be fetched."""
    body = None
    if item.content_html and _markup_words(item.content_html) >= min_words:
        body = item.content_html
    elif item.summary_html and _markup_words(item.summary_html) >= FULL_SUMMARY_WORDS:
        body = item.summary_html
    if body is None:
        return None
    return RawDocument(
        input=item.identity,
        kind=KIND_FRAGMENT,
        body=body,
        url=item.url,
        source=item.source or item.feed_title,
        title_hint=item.title,
        author_hint=item.author,
        published_hint=item.published_at,
        language_hint=item.language,
    )


class _SplitItemsFn(beam.DoFn):
    def __init__(self, min_words: int):
        self.min_words = min_words
        self.full = Metrics.counter("newsbeam", "fetch.full_text_in_feed")

    def process(self, item: FeedItem):
        doc = item_document(item, self.min_words)
        if doc is not None:
            self.full.inc()
            yield doc
        elif item.url:
            yield beam.pvalue.TaggedOutput(TO_FETCH, item)
        else:
            yield beam.pvalue.TaggedOutput(
                FAILED,
                Failure(STAGE_FETCH, item.identity, "NoLink", "entry has neither full text nor a link"),
            )


class _NoFetchFn(beam.DoFn):
    """Stand-in until HTTP fetching is configured: each link is an error row saying so."""

    def process(self, item: FeedItem):
        yield Failure(
            STAGE_FETCH,
            item.identity,
            "FetchNotAvailable",
            "entry carries no full text and fetching article pages over HTTP is not enabled",
        )


class FetchArticles(beam.PTransform):
    """FeedItems to RawDocuments: the entry's own full text, or its fetched link."""

    def __init__(self, min_words: int):
        super().__init__()
        self.min_words = min_words

    def expand(self, items):
        split = items | "SplitFullText" >> beam.ParDo(_SplitItemsFn(self.min_words)).with_outputs(
            TO_FETCH, FAILED, main="documents"
        )
        not_fetched = split[TO_FETCH] | "NoFetch" >> beam.ParDo(_NoFetchFn())
        failed = (split[FAILED], not_fetched) | "FetchFailures" >> beam.Flatten()
        return {"documents": split.documents, FAILED: failed}
