"""Polling feeds and fetching their articles, without Beam: the core both drivers share.

``FeedPoller.poll`` turns one feed URL into its entries, a ``FeedStatus`` (validators for
the next conditional GET) and error rows; ``route_item`` decides what an entry needs (its
own full text, a fetch, or nothing can be done); ``PageFetcher.fetch`` turns an entry
into the page's ``RawDocument`` or an error row. The Beam transforms
(``newsbeam.transforms.fetch``) and the streaming loop (``newsbeam.pipelines.streaming``)
only run these and route their results.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from newsbeam import storage
from newsbeam.feeds import FeedError, parse_feed
from newsbeam.fields import BAD_FIELD
from newsbeam.http import BackgroundLoop, Fetcher, FetchError, FetchPolicy, Response, find_canonical
from newsbeam.ids import url_id
from newsbeam.records import KIND_FRAGMENT, KIND_HTML, STAGE_FEED, STAGE_FETCH, Failure, FeedItem, RawDocument, utcnow
from newsbeam.text import DecodeError, decode_bytes, word_count
from newsbeam.urls import canonicalize_url, same_site

LOGGER = logging.getLogger(__name__)

# An RSS description this long is the article itself, not a teaser (teasers run to one
# or two sentences; feeds that publish in full do so in the description too).
FULL_SUMMARY_WORDS = 150

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"


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


@dataclass(frozen=True)
class FeedPoll:
    """One feed's poll: its entries, the error rows (the feed's own, or its bad fields), its status."""

    status: FeedStatus
    items: tuple[FeedItem, ...] = ()
    failures: tuple[Failure, ...] = ()


@dataclass(frozen=True)
class PageResult:
    """One entry's fetch: the page's document, or an error row; ``retry_feed`` names the
    entry's feed when a later poll may succeed (its validators must not be saved)."""

    document: RawDocument | None = None
    failure: Failure | None = None
    retry_feed: str | None = None


def retry_later(exc: Exception) -> bool:
    """The retry rule: whether a later run (or poll) may fetch what ``exc`` stopped.

    A failure the fetcher itself retries (connection, DNS, HTTP 429 and 5xx, an
    unreachable robots.txt) may pass later; so may a timeout, which the fetcher does not
    retry within a run (a second wait of ``total_timeout`` rarely helps at once).
    """
    return bool(getattr(exc, "retryable", False)) or getattr(exc, "error_type", None) == "Timeout"


def item_key(item: FeedItem) -> str:
    """The key an entry is known by in the run state: its link's URL id, else its identity."""
    return url_id(item.url) or item.identity


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


def route_item(item: FeedItem, min_words: int, fetch_enabled: bool = True) -> RawDocument | FeedItem | Failure:
    """What a new entry needs: its own full text (a document), a fetch of its link (the
    entry itself), or nothing can be had (an error row)."""
    doc = item_document(item, min_words)
    if doc is not None:
        return doc
    if not item.url:
        return Failure(STAGE_FETCH, item.identity, "NoLink", "entry has neither full text nor a link")
    if not fetch_enabled:
        return Failure(STAGE_FETCH, item.url, "FetchDisabled", "entry carries no full text and fetching is disabled")
    return item


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


class FetchSession:
    """A fetcher and the event loop it runs on (a background thread), for sync callers."""

    def __init__(self, policy: FetchPolicy):
        self.policy = policy
        self.loop = BackgroundLoop()
        self.fetcher = Fetcher(policy)

    def gather(self, coroutines: list) -> list:
        """Run coroutines concurrently; their results in order."""
        import asyncio

        async def run_all():
            return await asyncio.gather(*coroutines)

        return self.loop.run(run_all()) if coroutines else []

    def close(self) -> None:
        try:
            self.loop.run(self.fetcher.close(), timeout=5)
        except Exception:  # noqa: BLE001 - best effort: closing must not raise
            pass
        self.loop.stop()


class FeedPoller:
    """Poll feeds with conditional GET, using (and not changing) ``validators``:
    ``{feed url: {"etag": ..., "last_modified": ...}}``."""

    def __init__(self, fetcher: Fetcher, validators: dict):
        self.fetcher = fetcher
        self.validators = validators

    async def poll(self, url: str, source: str | None) -> FeedPoll:
        known = self.validators.get(url, {})
        try:
            resp = await self._get(url, known)
        except OSError as exc:
            return _feed_failed(url, None, type(exc).__name__, str(exc))
        except FetchError as exc:
            return _feed_failed(url, exc.status, exc.error_type, str(exc))
        if resp.status == 304:
            return FeedPoll(FeedStatus(url, 304, 0, resp.etag or known.get("etag"), resp.last_modified or known.get("last_modified")))
        try:
            items = parse_feed(resp.body, resp.final_url, source)
        except FeedError as exc:
            return _feed_failed(url, resp.status, "MalformedFeed", str(exc))
        # Entries keep the configured feed URL as their feed, so state and retries key on it.
        items = [dataclasses.replace(i, feed=url) for i in items]
        bad = tuple(Failure(STAGE_FEED, i.identity, BAD_FIELD, problem) for i in items for problem in i.bad_fields)
        return FeedPoll(FeedStatus(url, resp.status, len(items), resp.etag, resp.last_modified), tuple(items), bad)

    async def _get(self, url: str, known: dict) -> Response:
        if storage.is_local(url):
            return self._read_local(url, known.get("etag"))
        headers = {"Accept": FEED_ACCEPT}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
        return await self.fetcher.get(url, headers=headers, guarded=False, use_robots=False)

    def _read_local(self, path: str, etag: str | None) -> Response:
        """A feed file on disk, with its modification time and size standing in for an ETag."""
        st = os.stat(path)
        tag = f"{st.st_mtime_ns}-{st.st_size}"
        if tag == etag:
            return Response(path, path, 304, b"", None, None, tag, None, 1)
        body = storage.read_bytes(path, limit=self.fetcher.policy.max_bytes)
        return Response(path, path, 200, body, None, None, tag, None, 1)


def _feed_failed(url: str, status: int | None, error_type: str, message: str) -> FeedPoll:
    return FeedPoll(FeedStatus(url, status, 0, error=error_type), failures=(Failure(STAGE_FEED, url, error_type, message),))


class PageFetcher:
    """Fetch an entry's article page: HTML only, size-capped, SSRF-guarded."""

    def __init__(self, fetcher: Fetcher):
        self.fetcher = fetcher

    async def fetch(self, item: FeedItem) -> PageResult:
        try:
            resp = await self.fetcher.get(item.url, html_only=True)
            html, _ = decode_bytes(resp.body, resp.charset)
        except (FetchError, DecodeError) as exc:
            error_type = getattr(exc, "error_type", "Undecodable")
            failure = Failure(STAGE_FETCH, item.url, error_type, str(exc))
            return PageResult(failure=failure, retry_feed=item.feed if retry_later(exc) else None)
        except Exception as exc:  # noqa: BLE001 - one odd page never stops the run
            return PageResult(failure=Failure(STAGE_FETCH, item.url, type(exc).__name__, str(exc)))
        return PageResult(RawDocument(
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
        ))
