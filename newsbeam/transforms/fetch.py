"""Fetching: feeds over HTTP (conditional GET), then each entry's article.

An entry that carries its full text needs no request. The others' links are fetched
concurrently (``newsbeam.http``): each DoFn instance keeps many requests in flight on a
background event loop and emits results as they complete.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam import storage
from newsbeam.fields import BAD_FIELD
from newsbeam.http import BackgroundLoop, Fetcher, FetchError, FetchPolicy, find_canonical
from newsbeam.records import (
    KIND_FRAGMENT,
    KIND_HTML,
    STAGE_FEED,
    STAGE_FETCH,
    Failure,
    FeedItem,
    RawDocument,
    utcnow,
)
from newsbeam.state import load_feed_state, url_id
from newsbeam.text import DecodeError, decode_bytes, word_count
from newsbeam.transforms.feeds import FeedError, parse_feed
from newsbeam.urls import canonicalize_url, same_site

LOGGER = logging.getLogger(__name__)

FAILED = "failed"
TO_FETCH = "to_fetch"
FULL_TEXT = "full_text"
PAGES = "pages"
FEED_STATUS = "feed_status"
RETRY_FEEDS = "retry_feeds"

# An RSS description this long is the article itself, not a teaser (teasers run to one
# or two sentences; feeds that publish in full do so in the description too).
FULL_SUMMARY_WORDS = 150


@dataclass(frozen=True)
class FeedStatus:
    """Outcome of polling one feed; its validators go to the state after the commit."""

    url: str
    status: int | None
    entries: int
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _AsyncFetchFn(beam.DoFn):
    """Base for DoFns whose work is one coroutine per element, run concurrently.

    ``handle`` returns the element's outputs (values or TaggedOutputs). At most
    ``max_in_flight`` elements are pending; the rest of the bundle waits for a slot.
    """

    def __init__(self, policy: FetchPolicy):
        self.policy = policy

    def setup(self):
        self._loop = BackgroundLoop()
        self._fetcher = Fetcher(self.policy)

    def start_bundle(self):
        self._pending: collections.deque = collections.deque()

    async def handle(self, element) -> list:
        raise NotImplementedError

    def process(self, element, window=beam.DoFn.WindowParam, timestamp=beam.DoFn.TimestampParam):
        future = self._loop.submit(self.handle(element))
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
        loop = getattr(self, "_loop", None)
        if loop is not None:
            try:
                loop.run(self._fetcher.close(), timeout=5)
            except Exception:  # noqa: BLE001 - best effort: teardown must not raise
                pass
            loop.stop()


class _FetchFeedFn(_AsyncFetchFn):
    """Poll one feed URL with conditional GET; emit its entries, status and failures."""

    def __init__(self, policy: FetchPolicy, state_path: str):
        super().__init__(policy)
        self.state_path = state_path
        self.not_modified = Metrics.counter("newsbeam", "feed.not_modified")
        self.failed = Metrics.counter("newsbeam", "feed.failed")

    def setup(self):
        super().setup()
        self._validators = None

    async def handle(self, spec: tuple[str, str | None]) -> list:
        url, source = spec
        if self._validators is None:
            self._validators = load_feed_state(self.state_path)
        known = self._validators.get(url, {})
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
        try:
            if storage.is_local(url):
                resp = self._read_local(url, known.get("etag"))
            else:
                resp = await self._fetcher.get(url, headers=headers, guarded=False, use_robots=False)
        except OSError as exc:
            self.failed.inc()
            return [
                beam.pvalue.TaggedOutput(FAILED, Failure(STAGE_FEED, url, type(exc).__name__, str(exc))),
                beam.pvalue.TaggedOutput(FEED_STATUS, FeedStatus(url, None, 0, error=type(exc).__name__)),
            ]
        except FetchError as exc:
            self.failed.inc()
            return [
                beam.pvalue.TaggedOutput(FAILED, Failure(STAGE_FEED, url, exc.error_type, str(exc))),
                beam.pvalue.TaggedOutput(FEED_STATUS, FeedStatus(url, exc.status, 0, error=exc.error_type)),
            ]
        if resp.status == 304:
            self.not_modified.inc()
            return [beam.pvalue.TaggedOutput(FEED_STATUS, FeedStatus(url, 304, 0, resp.etag or known.get("etag"), resp.last_modified or known.get("last_modified")))]
        try:
            items = parse_feed(resp.body, resp.final_url, source)
        except FeedError as exc:
            self.failed.inc()
            return [
                beam.pvalue.TaggedOutput(FAILED, Failure(STAGE_FEED, url, "MalformedFeed", str(exc))),
                beam.pvalue.TaggedOutput(FEED_STATUS, FeedStatus(url, resp.status, 0, error="MalformedFeed")),
            ]
        # Entries keep the configured feed URL as their feed, so state and retries key on it.
        items = [dataclasses.replace(i, feed=url) for i in items]
        status = FeedStatus(url, resp.status, len(items), resp.etag, resp.last_modified)
        bad = [beam.pvalue.TaggedOutput(FAILED, Failure(STAGE_FEED, i.identity, BAD_FIELD, problem))
               for i in items for problem in i.bad_fields]
        return [*items, *bad, beam.pvalue.TaggedOutput(FEED_STATUS, status)]


    def _read_local(self, path: str, etag: str | None):
        """A feed file on disk, with its modification time and size standing in for an ETag."""
        import os

        from newsbeam.http import Response

        st = os.stat(path)
        tag = f"{st.st_mtime_ns}-{st.st_size}"
        if tag == etag:
            return Response(path, path, 304, b"", None, None, tag, None, 1)
        body = storage.read_bytes(path, limit=self.policy.max_bytes)
        return Response(path, path, 200, body, None, None, tag, None, 1)


class ReadFeeds(beam.PTransform):
    """Poll feed URLs (conditional GET); outputs FeedItems, ``feed_status`` and ``failed``."""

    def __init__(self, policy: FetchPolicy, state_path: str):
        super().__init__()
        self.fn = _FetchFeedFn(policy, state_path)

    def expand(self, specs):
        return specs | "PollFeeds" >> beam.ParDo(self.fn).with_outputs(FEED_STATUS, FAILED, main="items")


# -- entries already stored or listed twice ---------------------------------------------

_SEEN = "__seen__"


def _item_key(item: FeedItem) -> str:
    return url_id(item.url) or item.identity


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
            yield beam.pvalue.TaggedOutput("skipped", ("seen", len(items)))
            return
        items.sort(key=lambda i: (i.feed, i.entry_index))
        if len(items) > 1:
            self.dupes.inc(len(items) - 1)
            yield beam.pvalue.TaggedOutput("skipped", ("duplicate", len(items) - 1))
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
            (items | "KeyByUrl" >> beam.Map(lambda i: (_item_key(i), i)), marks)
            | "FlattenKeys" >> beam.Flatten()
            | "GroupByUrl" >> beam.GroupByKey()
            | "KeepNew" >> beam.ParDo(_KeepNewFn()).with_outputs("skipped", main="items")
        )


# -- articles -----------------------------------------------------------------------------


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


def page_canonical(html: str, final_url: str) -> str | None:
    """The canonical URL of a fetched page: its rel=canonical, unless that is implausible.

    The canonical URL becomes the article's id, so a page may only name one on its own
    site (same registrable domain as the URL it was fetched from): a page that named
    another site's article would otherwise be stored under that article's id, and the
    real article would be skipped as already stored. Some sites point every page's
    canonical link at their home page: a canonical without a path, for a page that has
    one, is ignored too.
    """
    final = canonicalize_url(final_url)
    declared = canonicalize_url(find_canonical(html, final_url) or "")
    if declared is None:
        return final
    if not same_site(declared, final):
        LOGGER.info("ignoring cross-site canonical link %s on %s", declared, final)
        return final
    if urlsplit(declared).path in ("", "/") and final and urlsplit(final).path not in ("", "/"):
        return final
    return declared


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


class _FetchPageFn(_AsyncFetchFn):
    """Fetch an entry's article page; HTML only, size-capped, SSRF-guarded."""

    def __init__(self, policy: FetchPolicy):
        super().__init__(policy)
        self.ok = Metrics.counter("newsbeam", "fetch.pages")
        self.failed = Metrics.counter("newsbeam", "fetch.failed")

    async def handle(self, item: FeedItem) -> list:
        try:
            resp = await self._fetcher.get(item.url, html_only=True)
            html, _ = decode_bytes(resp.body, resp.charset)
        except (FetchError, DecodeError) as exc:
            self.failed.inc()
            error_type = getattr(exc, "error_type", "Undecodable")
            out = [beam.pvalue.TaggedOutput(FAILED, Failure(STAGE_FETCH, item.url, error_type, str(exc)))]
            if getattr(exc, "retryable", False):
                out.append(beam.pvalue.TaggedOutput(RETRY_FEEDS, item.feed))
            return out
        except Exception as exc:  # noqa: BLE001 - one odd page never stops the run
            self.failed.inc()
            return [beam.pvalue.TaggedOutput(FAILED, Failure(STAGE_FETCH, item.url, type(exc).__name__, str(exc)))]
        self.ok.inc()
        return [
            RawDocument(
                input=item.url,
                kind=KIND_HTML,
                body=html,
                url=item.url,
                final_url=resp.final_url,
                canonical_url=page_canonical(html, resp.final_url),
                source=item.source,
                title_hint=item.title,
                author_hint=item.author,
                published_hint=item.published_at,
                language_hint=item.language,
                fetched_at=utcnow(),
            )
        ]


class _NoFetchFn(beam.DoFn):
    """When fetching is switched off: each link is an error row saying so."""

    def process(self, item: FeedItem):
        yield Failure(STAGE_FETCH, item.url, "FetchDisabled", "entry carries no full text and fetching is disabled")


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
        split = items | "SplitFullText" >> beam.ParDo(_SplitItemsFn(self.min_words)).with_outputs(
            TO_FETCH, FAILED, main="documents"
        )
        if self.policy is None:
            not_fetched = split[TO_FETCH] | "NoFetch" >> beam.ParDo(_NoFetchFn())
            failed = (split[FAILED], not_fetched) | "FetchFailures" >> beam.Flatten()
            pipeline = items.pipeline
            return {
                FULL_TEXT: split.documents,
                PAGES: pipeline | "NoPages" >> beam.Create([]),
                FAILED: failed,
                RETRY_FEEDS: pipeline | "NoRetries" >> beam.Create([]),
            }
        fetched = (
            split[TO_FETCH]
            | "SpreadLinks" >> beam.Reshuffle()
            | "FetchPages" >> beam.ParDo(_FetchPageFn(self.policy)).with_outputs(FAILED, RETRY_FEEDS, main="documents")
        )
        failed = (split[FAILED], fetched[FAILED]) | "FetchFailures" >> beam.Flatten()
        return {FULL_TEXT: split.documents, PAGES: fetched.documents, FAILED: failed, RETRY_FEEDS: fetched[RETRY_FEEDS]}


def policy_from_config(fetch_cfg) -> FetchPolicy:
    """The fetcher's policy from the config's ``fetch`` section (same field names)."""
    names = {f.name for f in dataclasses.fields(FetchPolicy)}
    return FetchPolicy(**{k: v for k, v in fetch_cfg.model_dump().items() if k in names})
