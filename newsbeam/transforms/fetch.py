"""Fetching as Beam transforms: feeds over HTTP (conditional GET), then each entry's article.

The work is the core's (``newsbeam.fetching``): these DoFns run it and route its results
to outputs. An entry that carries its full text needs no request; the others' links are
fetched concurrently, many requests in flight per DoFn instance on a background event
loop, results emitted as they complete.
"""

from __future__ import annotations

import collections
import concurrent.futures

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam import progress
from newsbeam.dedup import DUPLICATE, SEEN_BEFORE
from newsbeam.fetching import (
    FeedPoll,
    FeedPoller,
    FeedStatus,
    FetchSession,
    PageFetcher,
    PageResult,
    item_key,
    route_item,
)
from newsbeam.http import FetchPolicy
from newsbeam.records import FAILED, FeedItem, RawDocument
from newsbeam.state import load_feed_state

TO_FETCH = "to_fetch"
FULL_TEXT = "full_text"
PAGES = "pages"
FEED_STATUS = "feed_status"
RETRY_FEEDS = "retry_feeds"

__all__ = ["FeedStatus", "ReadFeeds", "DropKnownItems", "FetchArticles"]


class _AsyncFetchFn(beam.DoFn):
    """Base for DoFns whose work is one coroutine per element, run concurrently.

    ``handle`` returns the element's outputs (values or TaggedOutputs). At most
    ``max_in_flight`` elements are pending; the rest of the bundle waits for a slot.
    """

    def __init__(self, policy: FetchPolicy):
        self.policy = policy

    def setup(self):
        self._session = FetchSession(self.policy)

    def start_bundle(self):
        self._pending: collections.deque = collections.deque()

    async def handle(self, element) -> list:
        raise NotImplementedError

    def process(self, element, window=beam.DoFn.WindowParam, timestamp=beam.DoFn.TimestampParam):
        future = self._session.loop.submit(self.handle(element))
        self._pending.append((future, window, timestamp))
        if len(self._pending) >= self.policy.concurrency:
            concurrent.futures.wait([f for f, _, _ in self._pending], return_when=concurrent.futures.FIRST_COMPLETED)
        yield from self._collect(windowed=False)

    def _collect(self, windowed: bool):
        still = collections.deque()
        for future, window, timestamp in self._pending:
            if not future.done():
                still.append((future, window, timestamp))
                continue
            for out in future.result():
                if not windowed:
                    yield out
                elif isinstance(out, beam.pvalue.TaggedOutput):
                    yield beam.pvalue.TaggedOutput(out.tag, WindowedValue(out.value, timestamp, [window]))
                else:
                    yield WindowedValue(out, timestamp, [window])
        self._pending = still

    def finish_bundle(self):
        concurrent.futures.wait([f for f, _, _ in self._pending])
        yield from self._collect(windowed=True)

    def teardown(self):
        session = getattr(self, "_session", None)
        if session is not None:
            session.close()


def poll_outputs(poll: FeedPoll) -> list:
    """A feed's poll as outputs: its entries (main), ``failed`` and ``feed_status``."""
    return [*poll.items, *(beam.pvalue.TaggedOutput(FAILED, f) for f in poll.failures),
            beam.pvalue.TaggedOutput(FEED_STATUS, poll.status)]


class _FetchFeedFn(_AsyncFetchFn):
    """Poll one feed URL with conditional GET; emit its entries, status and failures."""

    def __init__(self, policy: FetchPolicy, state_path: str):
        super().__init__(policy)
        self.state_path = state_path
        self.not_modified = Metrics.counter("newsbeam", "feed.not_modified")
        self.failed = Metrics.counter("newsbeam", "feed.failed")

    def setup(self):
        super().setup()
        self._poller = None

    async def handle(self, spec: tuple[str, str | None]) -> list:
        if self._poller is None:  # the validators of earlier runs, read once
            self._poller = FeedPoller(self._session.fetcher, load_feed_state(self.state_path))
        poll = await self._poller.poll(*spec)
        progress.add("feeds")
        if poll.status.status == 304:
            self.not_modified.inc()
        if not poll.status.ok:
            self.failed.inc()
        return poll_outputs(poll)


class ReadFeeds(beam.PTransform):
    """Poll feed URLs (conditional GET); outputs FeedItems, ``feed_status`` and ``failed``."""

    def __init__(self, policy: FetchPolicy, state_path: str):
        super().__init__()
        self.fn = _FetchFeedFn(policy, state_path)

    def expand(self, specs):
        return specs | "PollFeeds" >> beam.ParDo(self.fn).with_outputs(FEED_STATUS, FAILED, main="items")


# -- entries already stored or listed twice ---------------------------------------------

_SEEN = "__seen__"


class _KeepNewFn(beam.DoFn):
    def __init__(self):
        self.seen = Metrics.counter("newsbeam", "fetch.already_stored")
        self.dupes = Metrics.counter("newsbeam", "fetch.listed_twice")

    def process(self, group):
        _key, values = group
        items = [v for v in values if v != _SEEN]
        if not items:
            return
        if len(items) != len(values):
            self.seen.inc(len(items))
            yield beam.pvalue.TaggedOutput("skipped", (SEEN_BEFORE, len(items)))
            return
        items.sort(key=lambda i: (i.feed, i.entry_index))
        if len(items) > 1:
            self.dupes.inc(len(items) - 1)
            yield beam.pvalue.TaggedOutput("skipped", (DUPLICATE, len(items) - 1))
        yield items[0]


class DropKnownItems(beam.PTransform):
    """Drop feed entries stored by earlier runs, and keep one of entries listed twice.

    ``seen_ids`` holds every id the state knows: article ids and the URL ids that led
    to them (a page's canonical link can differ from the link in the feed).
    """

    def __init__(self, seen_ids):
        super().__init__()
        self.seen_ids = seen_ids

    def expand(self, items):
        marks = self.seen_ids | "MarkSeen" >> beam.Map(lambda i: (i, _SEEN))
        return (
            (items | "KeyByUrl" >> beam.Map(lambda i: (item_key(i), i)), marks)
            | "FlattenKeys" >> beam.Flatten()
            | "GroupByUrl" >> beam.GroupByKey()
            | "KeepNew" >> beam.ParDo(_KeepNewFn()).with_outputs("skipped", main="items")
        )


# -- articles -----------------------------------------------------------------------------


class _SplitItemsFn(beam.DoFn):
    def __init__(self, min_words: int, fetch_enabled: bool):
        self.min_words = min_words
        self.fetch_enabled = fetch_enabled
        self.full = Metrics.counter("newsbeam", "fetch.full_text_in_feed")

    def process(self, item: FeedItem):
        routed = route_item(item, self.min_words, self.fetch_enabled)
        if isinstance(routed, RawDocument):
            self.full.inc()
            yield routed
        elif isinstance(routed, FeedItem):
            yield beam.pvalue.TaggedOutput(TO_FETCH, routed)
        else:
            yield beam.pvalue.TaggedOutput(FAILED, routed)


def page_outputs(result: PageResult) -> list:
    """An entry's fetch as outputs: the document (main), or ``failed`` and ``retry_feeds``."""
    if result.document is not None:
        return [result.document]
    out = [beam.pvalue.TaggedOutput(FAILED, result.failure)]
    if result.retry_feed is not None:
        out.append(beam.pvalue.TaggedOutput(RETRY_FEEDS, result.retry_feed))
    return out


class _FetchPageFn(_AsyncFetchFn):
    """Fetch an entry's article page; HTML only, size-capped, SSRF-guarded."""

    def __init__(self, policy: FetchPolicy):
        super().__init__(policy)
        self.ok = Metrics.counter("newsbeam", "fetch.pages")
        self.failed = Metrics.counter("newsbeam", "fetch.failed")

    def setup(self):
        super().setup()
        self._pages = PageFetcher(self._session.fetcher)

    async def handle(self, item: FeedItem) -> list:
        result = await self._pages.fetch(item)
        (self.ok if result.document is not None else self.failed).inc()
        if result.document is not None:
            progress.add("pages")
        return page_outputs(result)


class FetchArticles(beam.PTransform):
    """FeedItems to RawDocuments: the entry's own full text, or its fetched page.

    Outputs ``full_text`` (documents the feed carried), ``pages`` (fetched documents),
    ``failed``, and ``retry_feeds`` (feeds with a transient failure, whose validators must
    not be saved so the next run lists their entries again). The two document outputs
    stay apart so each can be processed in its own fused chain.
    """

    def __init__(self, min_words: int, policy: FetchPolicy | None):
        super().__init__()
        self.min_words = min_words
        self.policy = policy

    def expand(self, items):
        split = items | "SplitFullText" >> beam.ParDo(_SplitItemsFn(self.min_words, self.policy is not None)).with_outputs(
            TO_FETCH, FAILED, main="documents"
        )
        if self.policy is None:
            pipeline = items.pipeline
            return {
                FULL_TEXT: split.documents,
                PAGES: pipeline | "NoPages" >> beam.Create([]),
                FAILED: split[FAILED],
                RETRY_FEEDS: pipeline | "NoRetries" >> beam.Create([]),
            }
        fetched = (
            split[TO_FETCH]
            | "SpreadLinks" >> beam.Reshuffle()
            | "FetchPages" >> beam.ParDo(_FetchPageFn(self.policy)).with_outputs(FAILED, RETRY_FEEDS, main="documents")
        )
        failed = (split[FAILED], fetched[FAILED]) | "FetchFailures" >> beam.Flatten()
        return {FULL_TEXT: split.documents, PAGES: fetched.documents, FAILED: failed, RETRY_FEEDS: fetched[RETRY_FEEDS]}

