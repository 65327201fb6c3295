"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom bytes to FeedItems.

feedparser only ever sees bytes here, never a URL: fetching is the fetcher's job, with
its limits and its SSRF guard.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from urllib.parse import urljoin

import feedparser

from newsbeam.fields import impossible_date
from newsbeam.records import UTC, FeedItem
from newsbeam.text import clean_text, language_code
from newsbeam.urls import canonicalize_url

LOGGER = logging.getLogger(__name__)

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


class FeedError(ValueError):
    """A document that is not a usable feed."""


def _struct_to_dt(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _entry_date(entry) -> tuple[dt.datetime | None, list[str]]:
    """An entry's publication date (else its update date) and the dates dropped on the way.

    feedparser rolls an impossible date over ("2026-02-30" becomes 2 March) and accepts an
    offset of +2400: the raw string is checked first (``newsbeam.fields``), and a date that
    is impossible or unreadable is dropped to null and named, not silently changed.
    """
    problems, seen = [], set()
    for key in ("published", "updated"):
        raw = entry.get(key)
        # feedparser answers "updated" with the published date where there is no other
        if not raw or raw in seen:
            continue
        seen.add(raw)
        why = impossible_date(raw)
        value = None if why else _struct_to_dt(entry.get(f"{key}_parsed"))
        if value is not None:
            return value, problems
        problems.append(f"{key}: {why or repr(raw[:80]) + ' is not a date'}")
    return None, problems


def _plain(value: str | None) -> str | None:
    """Feed titles and names sometimes carry markup or entities; keep plain text."""
    if not value:
        return None
    if "<" in value:
        import lxml.html

        try:
            value = lxml.html.fromstring(value).text_content()
        except Exception:  # noqa: BLE001 - unparseable markup: keep the raw string
            pass
    value = clean_text(value).replace("\n", " ")
    return value or None


def _entry_content(entry) -> str | None:
    """The longest HTML or text content of an entry (content:encoded, atom:content)."""
    best = None
    for content in entry.get("content") or []:
        ctype = (content.get("type") or "text/html").lower()
        value = content.get("value") or ""
        if value and (ctype in _HTML_TYPES or ctype.startswith("text/")):
            if best is None or len(value) > len(best):
                best = value
    return best


def parse_feed(data: bytes, feed: str, source: str | None = None) -> list[FeedItem]:
    """Parse feed bytes into items; raises ``FeedError`` when nothing usable is there.

    A feed that is malformed but still yields entries (a "bozo" feed) is accepted: that
    is most real feeds' condition, and feedparser recovers well.
    """
    if not data.strip():
        raise FeedError("empty document")
    parsed = feedparser.parse(
        data,
        sanitize_html=True,
        resolve_relative_uris=True,
        response_headers={"content-location": feed} if "://" in feed else None,
    )
    # A truncated document leaves empty shells of entries behind: they are not articles.
    entries = [
        e for e in parsed.get("entries") or []
        if e.get("link") or e.get("title") or e.get("content") or e.get("summary")
    ]
    if not entries:
        if parsed.get("bozo"):
            exc = parsed.get("bozo_exception")
            raise FeedError(f"malformed feed: {type(exc).__name__}: {exc}")
        if not parsed.get("version"):
            raise FeedError("not an RSS or Atom document")
        return []
    meta = parsed.get("feed") or {}
    feed_title = _plain(meta.get("title"))
    feed_link = _feed_base(meta, feed)
    language = language_code(meta.get("language"))
    items = []
    for index, entry in enumerate(entries):
        link = entry.get("link") or ""
        url = _absolute(link, feed_link) if canonicalize_url(link, base=feed_link) else None
        author = _plain(entry.get("author"))
        published, bad_fields = _entry_date(entry)
        items.append(
            FeedItem(
                feed=feed,
                url=url,
                title=_plain(entry.get("title")),
                author=author,
                published_at=published,
                feed_title=feed_title,
                language=language,
                content_html=_entry_content(entry),
                summary_html=entry.get("summary") or None,
                entry_index=index,
                source=source,
                bad_fields=tuple(bad_fields),
            )
        )
    return items


def _absolute(link: str, base: str | None) -> str:
    return urljoin(base, link.strip()) if base else link.strip()


def _feed_base(meta, feed: str) -> str | None:
    """The absolute URL that relative entry links resolve against.

    A feed read from disk has no URL of its own, and some publish relative links (Atom
    with xml:base): fall back on the feed's rel="self" link or an http id.
    """
    candidates = [feed if "://" in feed else None]
    candidates += [link.get("href") for link in meta.get("links") or [] if link.get("rel") == "self"]
    candidates.append(meta.get("id"))
    base = next((c for c in candidates if c and c.startswith(("http://", "https://"))), None)
    link = meta.get("link")
    if link:
        return urljoin(base, link) if base else link
    return base
