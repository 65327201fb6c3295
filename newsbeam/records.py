"""Record types that flow between the steps, and the Arrow schemas of the output.

One definition per arrow of the architecture (FeedItem -> RawDocument -> Article ->
TaggedArticle, Failure from every step). The Parquet schema of ``articles/`` and
``errors/`` is declared here next to the records that fill it, and ``to_row`` is the only
place a record becomes an output row, so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import pyarrow as pa

from newsbeam.tags import tag_columns

LOGGER = logging.getLogger(__name__)

UTC = dt.timezone.utc

# Stage names used in error rows and in the run summary.
STAGE_READ = "read"
STAGE_FEED = "feed"
STAGE_FETCH = "fetch"
STAGE_EXTRACT = "extract"
STAGE_TAG = "tag"

# The output every step sends its Failures (error rows) to: one name for all drivers.
FAILED = "failed"


def utcnow() -> dt.datetime:
    """Timezone-aware current time, truncated to microseconds (Arrow's unit)."""
    return dt.datetime.now(UTC)


@dataclass(frozen=True)
class Failure:
    """One element that a step could not process; becomes a row of ``errors/``."""

    stage: str
    input: str
    error_type: str
    message: str
    at: dt.datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class FeedItem:
    """One entry of an RSS/Atom feed, before its article is fetched or extracted."""

    feed: str
    url: str | None
    title: str | None = None
    author: str | None = None
    published_at: dt.datetime | None = None
    feed_title: str | None = None
    language: str | None = None
    # Full article HTML when the entry carries it (content:encoded, atom:content).
    content_html: str | None = None
    summary_html: str | None = None
    entry_index: int = 0
    source: str | None = None
    # Fields dropped to null for a wrong type or an impossible value ("published: '2026-02-30'
    # ..."); each becomes a BadField error row beside the kept entry (newsbeam.fields).
    bad_fields: tuple[str, ...] = ()

    @property
    def identity(self) -> str:
        return self.url or f"{self.feed}#entry{self.entry_index}"


@dataclass(frozen=True)
class RawDocument:
    """A document ready for extraction: a whole HTML page, an HTML fragment or plain text.

    The ``*_hint`` fields come from the container (feed entry, JSON line, file name) and
    are used where the document itself has nothing better.
    """

    input: str
    kind: str  # one of KIND_*
    body: str
    url: str | None = None
    final_url: str | None = None
    canonical_url: str | None = None
    source: str | None = None
    title_hint: str | None = None
    author_hint: str | None = None
    published_hint: dt.datetime | None = None
    language_hint: str | None = None
    id_hint: str | None = None
    fetched_at: dt.datetime = field(default_factory=utcnow)


KIND_HTML = "html"  # a whole page: boilerplate removal by trafilatura
KIND_FRAGMENT = "fragment"  # the article body as HTML (feed content): no boilerplate
KIND_TEXT = "text"  # plain text, already clean


@dataclass(frozen=True)
class Article:
    """Clean text and metadata of one article."""

    article_id: str
    url: str | None
    canonical_url: str | None
    source: str | None
    title: str | None
    author: str | None
    published_at: dt.datetime | None
    fetched_at: dt.datetime
    language: str | None
    text: str
    word_count: int
    text_fingerprint: str
    input: str
    final_url: str | None = None


@dataclass(frozen=True)
class Stance:
    """Stance of an article toward one claim (FNC-1 labels)."""

    claim_id: str
    target: str
    label: str
    score: float
    confidence: float | None
    evidence: str | None


@dataclass(frozen=True)
class TaggedArticle:
    """An article with its tags: a value for every column of the registered tags
    (``newsbeam.tags``), keyed by column name; the properties name the built-in ones."""

    article: Article
    tags: dict

    @property
    def event_type(self) -> str | None:
        return self.tags.get("event_type")

    @property
    def event_scores(self) -> dict[str, float]:
        return self.tags.get("event_scores") or {}

    @property
    def event_evidence(self) -> dict[str, str]:
        return self.tags.get("event_evidence") or {}

    @property
    def stances(self) -> tuple[Stance, ...]:
        return tuple(Stance(**s) for s in self.tags.get("stances") or ())

    @property
    def tone(self) -> float | None:
        return self.tags.get("tone")

    @property
    def event_actors(self) -> tuple[dict, ...]:
        """Per event type with evidence: {event_type, source, target, evidence} (see Tagger.event_actors)."""
        return tuple(self.tags.get("event_actors") or ())


_TS = pa.timestamp("us", tz="UTC")

# The article's own columns, then every registered tag's (newsbeam.tags: story_id,
# event_type, event_scores, event_evidence, event_actors, source_codes, target_codes,
# stances, tone), then where it came from and the run that stored it.
ARTICLE_FIELDS = [
    pa.field("article_id", pa.string(), nullable=False),
    pa.field("url", pa.string()),
    pa.field("final_url", pa.string()),
    pa.field("canonical_url", pa.string()),
    pa.field("source", pa.string()),
    pa.field("title", pa.string()),
    pa.field("author", pa.string()),
    pa.field("published_at", _TS),
    pa.field("fetched_at", _TS, nullable=False),
    pa.field("language", pa.string()),
    pa.field("text", pa.string(), nullable=False),
    pa.field("word_count", pa.int32(), nullable=False),
    pa.field("text_fingerprint", pa.string(), nullable=False),
]
TAIL_FIELDS = [
    pa.field("input", pa.string()),
    pa.field("run_id", pa.string(), nullable=False),
]
# What each of the article's own columns means (the tags' columns document themselves in
# newsbeam.tags); docs/output.md's schema table is generated from these and the schemas.
FIELD_DOCS = {
    "article_id": "32 hex digits: hash of the canonical URL, or of the normalised text when there is no URL (newsbeam.ids).",
    "url": "The article's URL as found (feed link, page, JSON line).",
    "final_url": "Where the fetch ended after redirects; null for articles that were not fetched.",
    "canonical_url": "Lower-case scheme and host, no fragment, no tracking parameters (utm_*, fbclid, gclid, ...), sorted "
                     "query; the page's own rel=canonical when it names a page of the same site.",
    "source": "The configured label, else the site name, else the host, else the input's folder.",
    "title": "The headline.",
    "author": "The byline, when the page or entry has one.",
    "published_at": "Publication time (UTC); null when unknown (the row is then filed under the date it was fetched).",
    "fetched_at": "When newsbeam read or fetched it (UTC).",
    "language": "ISO 639-1, from the feed or page, else identified from the text (py3langid).",
    "text": "The clean article text (NFC), boilerplate removed, cut at read.max_article_chars.",
    "word_count": "Words in the text.",
    "text_fingerprint": "Hash of the text without case, punctuation or spacing: the same story under two URLs has one.",
    "input": "The file, file:line, feed entry or URL the article came from.",
    "run_id": "The run that wrote the row (its manifest is _runs/<run_id>.json).",
}
ERROR_DOCS = {
    "run_id": "The run that wrote the row.",
    "stage": "read, feed, fetch, extract or tag.",
    "input": "The file, feed, entry or URL that failed.",
    "error_type": "What went wrong, as a name: HTTP404, TooShort, BadField, WorkerDied, ...",
    "message": "One line saying why (at most 2,000 characters).",
    "at": "When it happened (UTC).",
}

ARTICLE_SCHEMA = pa.schema(
    ARTICLE_FIELDS + [c.field for c in tag_columns()] + TAIL_FIELDS,
    metadata={"newsbeam.schema": "articles/3"},
)

ERROR_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("input", pa.string()),
        pa.field("error_type", pa.string(), nullable=False),
        pa.field("message", pa.string()),
        pa.field("at", _TS, nullable=False),
    ],
    metadata={"newsbeam.schema": "errors/1"},
)

# Columns a user may partition ``articles/`` by. Derived ones are computed from a
# timestamp; the others are article columns that move from the files into the path.
DERIVED_PARTITIONS = {
    "published_date": ("published_at", "%Y-%m-%d"),
    "published_month": ("published_at", "%Y-%m"),
    "published_year": ("published_at", "%Y"),
    "fetched_date": ("fetched_at", "%Y-%m-%d"),
}
COLUMN_PARTITIONS = ("source", "language", "event_type")
PARTITION_COLUMNS = tuple(DERIVED_PARTITIONS) + COLUMN_PARTITIONS


def article_row(tagged: TaggedArticle, run_id: str) -> dict:
    """The output row of a tagged article, keyed by ``ARTICLE_SCHEMA`` names."""
    a = tagged.article
    row = {f.name: getattr(a, f.name) for f in ARTICLE_FIELDS}
    row.update({c.name: tagged.tags.get(c.name) for c in tag_columns()})
    row.update(input=a.input, run_id=run_id)
    return row


def error_row(failure: Failure, run_id: str) -> dict:
    """The output row of a failure, keyed by ``ERROR_SCHEMA`` names."""
    return {
        "run_id": run_id,
        "stage": failure.stage,
        "input": failure.input,
        "error_type": failure.error_type,
        "message": failure.message[:2000],
        "at": failure.at,
    }


# -- what the writers and the commit pass between them ---------------------------------


@dataclass(frozen=True)
class RowKey:
    """Identity of one written row, for deduplication after the write."""

    article_id: str
    text_fingerprint: str
    rank: str  # the smallest rank among duplicates is kept
    shard: str
    index: int
    url_id: str | None = None


@dataclass(frozen=True)
class ShardInfo:
    """One Parquet file written to the run's temporary directory."""

    kind: str
    temp_path: str
    relative_path: str  # under the output root, e.g. articles/published_date=.../part-...
    rows: int
    failures: tuple[tuple[str, str, int], ...] = ()  # (stage, error_type, count) for errors
