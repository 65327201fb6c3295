"""The Beam transforms that write a run: Parquet shards to its temporary directory, then the commit.

Writers buffer rows per Hive partition and write each buffer as one Parquet file under
``<output>/_tmp/<run_id>/`` (bounded by ``max_rows_per_file``, so worker memory does not
grow with the input). Nothing becomes visible until ``CommitRun`` runs the commit
protocol (``newsbeam.commit``) once every shard is written. The output's layout (which
partition directory a row goes to) is decided here.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import re
import uuid

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MAX_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam import storage
from newsbeam.commit import ARTICLES, ERRORS, commit_run
from newsbeam.records import (
    ARTICLE_SCHEMA,
    COLUMN_PARTITIONS,
    DERIVED_PARTITIONS,
    ERROR_SCHEMA,
    RowKey,
    ShardInfo,
    article_row,
    error_row,
)
from newsbeam.state import url_id
from newsbeam.storage import write_table
from newsbeam.stories import run_stories, story_sig

LOGGER = logging.getLogger(__name__)

KEYS = "keys"
SIGNATURES = "signatures"

UNKNOWN_PARTITION = "unknown"
# Partition values stay short and portable: word characters (any script), dot, dash.
_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)
MAX_PARTITION_VALUE = 100

def sanitize_partition_value(value: object) -> str:
    """A partition directory name that cannot escape its parent or confuse a reader.

    Separators, ``..``, ``=`` and control characters become ``_``; empty becomes
    ``unknown``.
    """
    text = "" if value is None else str(value)
    text = _UNSAFE.sub("_", text).strip("._")
    text = re.sub(r"_+", "_", text)[:MAX_PARTITION_VALUE].strip("._")
    return text or UNKNOWN_PARTITION


def format_partition_date(ts: dt.datetime, fmt: str) -> str:
    """A date partition value, always zero-padded ("0999-01-01", never "999-01-01"): strftime's
    %Y does not pad years below 1000 on glibc, and readers then mix strings with dates."""
    return fmt.replace("%Y", f"{ts.year:04d}").replace("%m", f"{ts.month:02d}").replace("%d", f"{ts.day:02d}")


def partition_values(row: dict, partition_by: list[str]) -> list[tuple[str, str]]:
    """``[(column, value), ...]`` for a row; dates fall back on ``fetched_at`` when unknown."""
    out = []
    for col in partition_by:
        if col in DERIVED_PARTITIONS:
            src, fmt = DERIVED_PARTITIONS[col]
            ts = row.get(src) or row.get("fetched_at")
            value = format_partition_date(ts.astimezone(dt.timezone.utc), fmt) if ts else None
        else:
            value = row.get(col)
        out.append((col, sanitize_partition_value(value)))
    return out


def file_schema(kind: str, partition_by: list[str]) -> pa.Schema:
    """The schema of the files of ``kind``: partition columns live in the path, not the file."""
    if kind == ERRORS:
        return ERROR_SCHEMA
    schema = ARTICLE_SCHEMA
    for col in partition_by:
        if col in COLUMN_PARTITIONS:
            schema = schema.remove(schema.get_field_index(col))
    return schema


# Rows a writer holds, over all its partitions, before it writes out its largest buffer:
# bounds worker memory however many rows and partitions a bundle has.
MAX_BUFFERED_BYTES = 32 * 1024 * 1024


def partition_dir(kind: str, row: dict, partition_by: list[str]) -> str:
    """The directory of a row under the output root: ``articles/published_date=...``."""
    return "/".join([kind] + [f"{c}={v}" for c, v in partition_values(row, partition_by)])


def write_shard(tmp_root: str, kind: str, relative_path: str, rows: list[dict], schema: pa.Schema, compression: str) -> ShardInfo:
    """Write rows as one Parquet file under ``tmp_root``; the file commit_run will move."""
    temp_path = storage.join(tmp_root, relative_path)
    write_table(temp_path, pa.table({name: [r.get(name) for r in rows] for name in schema.names}, schema=schema), compression)
    failures = collections.Counter((r["stage"], r["error_type"]) for r in rows) if kind == ERRORS else {}
    return ShardInfo(kind, temp_path, relative_path, len(rows), tuple((s, t, n) for (s, t), n in sorted(failures.items())))


class _Buffer:
    def __init__(self, relative_dir: str, run_id: str):
        self.name = f"part-{run_id}-{uuid.uuid4().hex[:12]}.parquet"
        self.relative_path = f"{relative_dir}/{self.name}" if relative_dir else self.name
        self.rows: list[dict] = []
        self.bytes = 0


class _WriteShardsFn(beam.DoFn):
    """Buffer rows per partition and write them as Parquet shards (temporary names)."""

    def __init__(self, kind: str, output: str, run_id: str, partition_by: list[str], compression: str, max_rows: int,
                 stories: bool = True):
        self.kind = kind
        self.stories = stories
        self.output = output
        self.run_id = run_id
        self.partition_by = list(partition_by) if kind == ARTICLES else []
        self.compression = compression
        self.max_rows = max_rows
        self.rows_written = Metrics.counter("newsbeam", f"write.{kind}_rows")

    def setup(self):
        self._schema = file_schema(self.kind, self.partition_by)
        self._tmp_root = storage.join(self.output, storage.TMP_DIR, self.run_id)

    def start_bundle(self):
        self._buffers: dict[str, _Buffer] = {}
        self._buffered = 0

    def process(self, element):
        if self.kind == ARTICLES:
            row = article_row(element, self.run_id)
        else:
            row = error_row(element, self.run_id)
        rel_dir = partition_dir(self.kind, row, self.partition_by)
        buf = self._buffers.get(rel_dir)
        if buf is None:
            buf = self._buffers[rel_dir] = _Buffer(rel_dir, self.run_id)
        if self.kind == ARTICLES:
            yield beam.pvalue.TaggedOutput(
                KEYS,
                RowKey(
                    row["article_id"],
                    row["text_fingerprint"],
                    element.article.input,
                    buf.relative_path,
                    len(buf.rows),
                    url_id(row["url"]),
                ),
            )
            if self.stories:
                # Beside the RowKey, not on it: the keys go through two dedup shuffles and
                # the runner keeps a copy of each; the signatures only reach the commit.
                yield beam.pvalue.TaggedOutput(SIGNATURES, (row["article_id"], story_sig(element.article)))
        buf.rows.append(row)
        size = len(row.get("text") or "") + len(row.get("message") or "") + 512
        buf.bytes += size
        self._buffered += size
        if len(buf.rows) >= self.max_rows:
            yield self._flush(self._buffers.pop(rel_dir))
        elif self._buffered > MAX_BUFFERED_BYTES:
            largest = max(self._buffers, key=lambda d: self._buffers[d].bytes)
            yield self._flush(self._buffers.pop(largest))

    def _flush(self, buf: _Buffer) -> ShardInfo:
        self._buffered -= buf.bytes
        self.rows_written.inc(len(buf.rows))
        return write_shard(self._tmp_root, self.kind, buf.relative_path, buf.rows, self._schema, self.compression)

    def finish_bundle(self):
        for buf in self._buffers.values():
            yield WindowedValue(self._flush(buf), MAX_TIMESTAMP, [GlobalWindow()])
        self._buffers = {}


class WriteShards(beam.PTransform):
    """Write TaggedArticles (or Failures) as Parquet shards under the run's temporary dir.

    Outputs ``shards`` (ShardInfo) and, for articles, ``keys`` (RowKey per row) and
    ``signatures`` ((article id, StorySig) per row, when stories are on).
    """

    def __init__(self, kind: str, output: str, run_id: str, partition_by: list[str], compression: str = "zstd",
                 max_rows: int = 5000, stories: bool = True):
        super().__init__()
        self.fn = _WriteShardsFn(kind, output, run_id, partition_by, compression, max_rows, stories)

    def expand(self, pcoll):
        return pcoll | "WriteShards" >> beam.ParDo(self.fn).with_outputs(KEYS, SIGNATURES, main="shards")


class _CommitFn(beam.DoFn):
    def __init__(self, output: str, state_path: str, run_id: str, summary_base: dict, compression: str,
                 stories: dict | None):
        self.stories = stories
        self.compression = compression
        self.output = output
        self.state_path = state_path
        self.run_id = run_id
        self.summary_base = summary_base

    def process(self, _unused, shards, winners, losers, counts, feed_statuses, retry_feeds, item_skips, open_stories,
                signatures):
        summary = dict(self.summary_base)
        winners = list(winners)
        stories = None
        if self.stories is not None:
            stories = run_stories(self.run_id, winners, self.state_path, self.stories, dict(signatures),
                                  list(open_stories))
        totals: collections.Counter = collections.Counter()
        for name, n in counts:  # a count may come from several branches: add them up
            totals[name] += n
        summary["counts"] = dict(sorted(totals.items()))
        yield commit_run(
            self.output,
            self.state_path,
            self.run_id,
            list(shards),
            winners,
            list(losers),
            summary,
            self.compression,
            list(feed_statuses),
            list(retry_feeds),
            list(item_skips),
            stories,
        )


class CommitRun(beam.PTransform):
    """After every shard is written: assign stories, rename into place, write the manifest, then the state.

    ``stories``: the story settings (``threshold``, ``window_days``), None for no stories.
    """

    def __init__(self, output: str, state_path: str, run_id: str, summary_base: dict, compression: str = "zstd",
                 stories: dict | None = None):
        super().__init__()
        self.fn = _CommitFn(output, state_path, run_id, summary_base, compression, stories)

    def expand(self, inputs):
        shards, winners, losers, counts, feed_statuses, retry_feeds, item_skips, open_stories, signatures = inputs
        pbegin = shards.pipeline
        return (
            pbegin
            | "Once" >> beam.Create([None])
            | "Commit"
            >> beam.ParDo(
                self.fn,
                shards=beam.pvalue.AsList(shards),
                winners=beam.pvalue.AsList(winners),
                losers=beam.pvalue.AsList(losers),
                counts=beam.pvalue.AsList(counts),
                feed_statuses=beam.pvalue.AsList(feed_statuses),
                retry_feeds=beam.pvalue.AsList(retry_feeds),
                item_skips=beam.pvalue.AsList(item_skips),
                open_stories=beam.pvalue.AsList(open_stories),
                signatures=beam.pvalue.AsList(signatures),
            )
        )
