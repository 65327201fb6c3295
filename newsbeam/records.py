"""Record types that flow between the steps, and the Arrow schemas of the output.

One definition per arrow of the architecture (FeedItem -> RawDocument -> Article ->
TaggedArticle, Failure from every step). The Parquet schema of ``articles/`` and
``errors/`` is declared here next to the records that fill it, and ``to_row`` is the only
place a record becomes an output row, so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field

import pyarrow as pa

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
    evidence: str | None


@dataclass(frozen=True)
class TaggedArticle:
    """An article with its event type, stances and tone."""

    article: Article
    event_type: str | None
    event_scores: dict[str, float]
    event_evidence: dict[str, str]
    stances: tuple[Stance, ...]
    tone: float | None
    # Per event type with evidence: {event_type, source, target, evidence} (see Tagger.event_actors).
    event_actors: tuple[dict, ...] = ()


_STANCE_TYPE = pa.struct(
    [
        pa.field("claim_id", pa.string()),
        pa.field("target", pa.string()),
        pa.field("label", pa.string()),
        pa.field("score", pa.float32()),
        pa.field("evidence", pa.string()),
    ]
)

_ACTOR_TYPE = pa.struct(
    [
        pa.field("text", pa.string()),
        pa.field("code", pa.string()),  # ISO 3166 alpha-3, or IGO; null where no country is known
        pa.field("sector", pa.string()),
    ]
)

_EVENT_ACTORS_TYPE = pa.struct(
    [
        pa.field("event_type", pa.string()),
        pa.field("source", pa.list_(_ACTOR_TYPE)),
        pa.field("target", pa.list_(_ACTOR_TYPE)),
        pa.field("evidence", pa.string()),
    ]
)

_TS = pa.timestamp("us", tz="UTC")

ARTICLE_SCHEMA = pa.schema(
    [
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
        # Articles telling the same story share it, across outlets and runs (newsbeam.stories).
        pa.field("story_id", pa.string()),
        pa.field("event_type", pa.string()),  # null: not tagged (unsupported language)
        pa.field("event_scores", pa.map_(pa.string(), pa.float32())),
        pa.field("event_evidence", pa.map_(pa.string(), pa.string())),
        pa.field("event_actors", pa.list_(_EVENT_ACTORS_TYPE)),
        # The primary event's distinct actor codes, for grouping by dyad.
        pa.field("source_codes", pa.list_(pa.string())),
        pa.field("target_codes", pa.list_(pa.string())),
        pa.field("stances", pa.list_(_STANCE_TYPE)),
        pa.field("tone", pa.float32()),
        pa.field("input", pa.string()),
        pa.field("run_id", pa.string(), nullable=False),
    ],
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
    from newsbeam.tagging.actors import primary_codes

    a = tagged.article
    source_codes, target_codes = primary_codes(tagged.event_actors, tagged.event_type)
    return {
        "article_id": a.article_id,
        "url": a.url,
        "final_url": a.final_url,
        "canonical_url": a.canonical_url,
        "source": a.source,
        "title": a.title,
        "author": a.author,
        "published_at": a.published_at,
        "fetched_at": a.fetched_at,
        "language": a.language,
        "text": a.text,
        "word_count": a.word_count,
        "text_fingerprint": a.text_fingerprint,
        "story_id": None,  # stamped by the commit, once the run's stories are known
        "event_type": tagged.event_type,
        "event_scores": list(tagged.event_scores.items()),
        "event_evidence": list(tagged.event_evidence.items()),
        "event_actors": list(tagged.event_actors),
        "source_codes": source_codes,
        "target_codes": target_codes,
        "stances": [dataclasses.asdict(s) for s in tagged.stances],
        "tone": tagged.tone,
        "input": a.input,
        "run_id": run_id,
    }


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
