"""Writing Parquet shards to a run's temporary directory, and committing the run.

Writers buffer rows per Hive partition and write each buffer as one Parquet file under
``<output>/_tmp/<run_id>/`` (bounded by ``max_rows_per_file``, so worker memory does not
grow with the input). Nothing becomes visible until ``commit_run``: it drops the rows that
deduplication rejected, renames every shard into ``articles/`` and ``errors/``, then writes
the run manifest, then the state. A reader never sees a partial file or a partial run.
"""

from __future__ import annotations

import collections
import datetime as dt
import io
import logging
import os
import re
import signal
import uuid
from dataclasses import dataclass

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MAX_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam import storage
from newsbeam.text import stable_id
from newsbeam.transforms.records import (
    ARTICLE_SCHEMA,
    COLUMN_PARTITIONS,
    DERIVED_PARTITIONS,
    ERROR_SCHEMA,
    article_row,
    error_row,
    utcnow,
)
from newsbeam.urls import canonicalize_url

LOGGER = logging.getLogger(__name__)

ARTICLES = "articles"
ERRORS = "errors"
RUNS = "_runs"
SEEN = "seen"
JOURNAL = "_commit.json"
FEEDS_STATE = "feeds.json"
KEYS = "keys"

UNKNOWN_PARTITION = "unknown"
# Partition values stay short and portable: word characters (any script), dot, dash.
_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)
MAX_PARTITION_VALUE = 100

SEEN_SCHEMA = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("text_fingerprint", pa.string(), nullable=False),
        # The id of the URL the article was listed under, when a page's canonical link
        # gave it another id: a later run must recognise the listing too.
        pa.field("url_id", pa.string()),
        pa.field("run_id", pa.string(), nullable=False),
    ]
)


def url_id(url: str | None) -> str | None:
    """The id an article gets from this URL (before any page says otherwise)."""
    canonical = canonicalize_url(url)
    return stable_id("url", canonical) if canonical else None


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


def write_table(path: str, table: pa.Table, compression: str) -> None:
    buf = io.BytesIO()
    pq.write_table(
        table,
        buf,
        compression=None if compression == "none" else compression,
        # Statistics and a modest row group let readers prune by date and id.
        row_group_size=10_000,
        write_statistics=True,
    )
    with storage.create(path) as fh:
        fh.write(buf.getvalue())


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

    def __init__(self, kind: str, output: str, run_id: str, partition_by: list[str], compression: str, max_rows: int):
        self.kind = kind
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

    Outputs ``shards`` (ShardInfo) and, for articles, ``keys`` (RowKey per row).
    """

    def __init__(self, kind: str, output: str, run_id: str, partition_by: list[str], compression: str = "zstd", max_rows: int = 5000):
        super().__init__()
        self.fn = _WriteShardsFn(kind, output, run_id, partition_by, compression, max_rows)

    def expand(self, pcoll):
        return pcoll | "WriteShards" >> beam.ParDo(self.fn).with_outputs(KEYS, main="shards")


# -- commit ------------------------------------------------------------------------------


def _filtered_copy(shard: ShardInfo, drop: set[int], compression: str) -> tuple[str | None, int]:
    """Rewrite a shard without the rows in ``drop``; returns (path or None, rows kept)."""
    with storage.open_read(shard.temp_path) as fh:
        table = pq.read_table(fh)
    keep = [i for i in range(table.num_rows) if i not in drop]
    if not keep:
        return None, 0
    path = shard.temp_path[: -len(".parquet")] + ".dedup.parquet"
    write_table(path, table.take(pa.array(keep, pa.int64())), compression)
    return path, len(keep)


def commit_run(
    output: str,
    state_path: str,
    run_id: str,
    shards: list[ShardInfo],
    winners: list[RowKey],
    losers: list[tuple[RowKey, str]],
    summary: dict,
    compression: str = "zstd",
    feed_statuses: list | None = None,
    retry_feeds: list[str] | None = None,
    item_skips: list[tuple[str, int]] | None = None,
) -> dict:
    """Make a run's output visible, in an order that a crash at any point cannot corrupt.

    Data files first, then ``_runs/<run_id>.json``, then the state's seen-id file. Returns
    the manifest.
    """
    drop_by_shard: dict[str, set[int]] = collections.defaultdict(set)
    for key, _reason in losers:
        drop_by_shard[key.shard].add(key.index)
    moves: list[tuple[str, str]] = []
    files = []
    for shard in sorted(shards, key=lambda s: s.relative_path):
        src, rows = shard.temp_path, shard.rows
        if shard.kind == ARTICLES and drop_by_shard.get(shard.relative_path):
            src, rows = _filtered_copy(shard, drop_by_shard[shard.relative_path], compression)
            if src is None:
                continue
        moves.append((src, storage.join(output, shard.relative_path)))
        files.append({"path": shard.relative_path, "kind": shard.kind, "rows": rows})

    failed: dict[str, dict[str, int]] = collections.defaultdict(dict)
    for shard in shards:
        for stage, error_type, count in shard.failures:
            failed[stage][error_type] = failed[stage].get(error_type, 0) + count
    reasons = collections.Counter(reason for _key, reason in losers)
    entry_skips = collections.Counter()
    for reason, count in item_skips or []:
        entry_skips[reason] += count
    feeds = {
        st.url: {"status": st.status, "entries": st.entries, "error": st.error}
        for st in sorted(feed_statuses or [], key=lambda st: st.url)
    }
    manifest = {
        "run_id": run_id,
        "committed_at": utcnow().isoformat(),
        "output": output,
        "state": state_path,
        **summary,
        "written": {
            "articles": sum(f["rows"] for f in files if f["kind"] == ARTICLES),
            "errors": sum(f["rows"] for f in files if f["kind"] == ERRORS),
            "files": len(files),
        },
        "skipped": {
            "duplicate_in_run": reasons.get("duplicate", 0) + entry_skips.get("duplicate", 0),
            "already_stored": reasons.get("seen", 0) + entry_skips.get("seen", 0),
        },
        "feeds": feeds,
        "failed": {stage: dict(sorted(types.items())) for stage, types in sorted(failed.items())},
        "compression": compression,
        "files": files,
    }
    tmp_root = storage.join(output, storage.TMP_DIR, run_id)
    seen_tmp = None
    if winners:
        seen_tmp = storage.join(tmp_root, "_seen.parquet")
        table = pa.table(
            {
                "article_id": [k.article_id for k in winners],
                "text_fingerprint": [k.text_fingerprint for k in winners],
                "url_id": [k.url_id if k.url_id != k.article_id else None for k in winners],
                "run_id": [run_id] * len(winners),
            },
            schema=SEEN_SCHEMA,
        )
        write_table(seen_tmp, table, compression)
    journal = {
        "run_id": run_id,
        "output": output,
        "state": state_path,
        "moves": moves,
        "manifest": manifest,
        "seen": seen_tmp,
        "validators": feed_validators(feed_statuses or [], set(retry_feeds or [])),
    }
    # Everything the rest of the commit needs is in the journal: from here on a crash is
    # finished by the next run (roll forward), never undone.
    storage.write_json_atomic(storage.join(tmp_root, JOURNAL), journal)
    finish_commit(journal)
    return manifest


def feed_validators(statuses: list, retry: set[str]) -> dict[str, dict | None]:
    """Validators to save per feed; None forgets a feed's, so its next poll is a full GET.

    A feed whose poll failed, or one of whose articles failed transiently, is forgotten:
    the next run lists its entries again and fetches the ones still missing.
    """
    out: dict[str, dict | None] = {}
    for st in statuses:
        if st.error is not None or st.url in retry or not (st.etag or st.last_modified):
            out[st.url] = None
        else:
            out[st.url] = {"etag": st.etag, "last_modified": st.last_modified, "checked_at": utcnow().isoformat()}
    return out


def save_feed_state(state_path: str, validators: dict[str, dict | None]) -> None:
    path = storage.join(state_path, FEEDS_STATE)
    state = storage.read_json(path) if storage.exists(path) else {}
    for url, value in validators.items():
        if value is None:
            state.pop(url, None)
        else:
            state[url] = value
    storage.write_json_atomic(path, state)


def crash_point(name: str) -> None:
    """Fault injection for the crash tests: SIGKILL this process at a named commit step.

    Active only when NEWSBEAM_CRASH_AT names the step; costs one environment lookup.
    """
    wanted = os.environ.get("NEWSBEAM_CRASH_AT")
    if wanted and wanted == name:
        os.kill(os.getpid(), signal.SIGKILL)


def finish_commit(journal: dict) -> None:
    """The idempotent tail of a commit: data files, then the manifest, then deletions and state.

    The manifest is the commit point for readers that follow it (``newsbeam.dataset``,
    the report, compaction): a data file is committed once the manifest of the run named
    in its file name exists, and a file a committed compaction lists as ``removed`` is
    gone for them even before it is deleted. So such a reader sees all of a run or none
    of it, and a compaction's old files or its new ones, never both.

    Safe to run again after a crash at any point in it: a move whose source is gone was
    done, the manifest and the seen-id file are rewritten whole, deleting a deleted file
    does nothing, the feed validators are merged again.
    """
    output, state_path, run_id = journal["output"], journal.get("state"), journal["run_id"]
    for n, (src, dst) in enumerate(journal["moves"], start=1):
        if storage.exists(src):
            storage.rename(src, dst)
        crash_point(f"commit:renamed:{n}")
    crash_point("commit:before_manifest")
    storage.write_json_atomic(storage.join(output, RUNS, f"{run_id}.json"), journal["manifest"])
    # Files replaced by the moves (compaction) go once the manifest has made them invisible.
    crash_point("commit:before_deletes")
    storage.delete([src for src in journal.get("deletes", [])])
    crash_point("commit:before_state")
    if journal.get("seen") and storage.exists(journal["seen"]):
        storage.rename(journal["seen"], storage.join(state_path, SEEN, f"{run_id}.parquet"))
    if journal.get("validators"):
        save_feed_state(state_path, journal["validators"])
    crash_point("commit:before_cleanup")
    storage.delete_tree(storage.join(output, storage.TMP_DIR, run_id))


def recover(output: str) -> list[str]:
    """Clean up after runs that died: finish interrupted commits, drop unfinished runs.

    Call it holding the output's lock (no live run may own a temporary directory). A run
    directory with a journal was committing: it is rolled forward. One without was still
    writing: its files were never visible and the rerun does its work again. Returns the
    ids of the runs whose commits were finished.
    """
    finished = []
    tmp = storage.join(output, storage.TMP_DIR)
    for journal_path in storage.list_files(storage.join(tmp, "*", JOURNAL)):
        try:
            journal = storage.read_json(journal_path)
        except ValueError:
            continue  # a torn journal cannot exist (atomic write); ignore anything odd
        LOGGER.warning("finishing the interrupted commit of run %s", journal["run_id"])
        finish_commit(journal)
        finished.append(journal["run_id"])
    storage.delete_tree(tmp)
    for pattern in (storage.join(output, RUNS, "*.tmp-*"), storage.join(output, "_state", "**", "*.tmp*")):
        storage.delete(storage.list_files(pattern))
    return finished


class _CommitFn(beam.DoFn):
    def __init__(self, output: str, state_path: str, run_id: str, summary_base: dict, compression: str):
        self.compression = compression
        self.output = output
        self.state_path = state_path
        self.run_id = run_id
        self.summary_base = summary_base

    def process(self, _unused, shards, winners, losers, counts, feed_statuses, retry_feeds, item_skips):
        summary = dict(self.summary_base)
        totals: collections.Counter = collections.Counter()
        for name, n in counts:  # a count may come from several branches: add them up
            totals[name] += n
        summary["counts"] = dict(sorted(totals.items()))
        yield commit_run(
            self.output,
            self.state_path,
            self.run_id,
            list(shards),
            list(winners),
            list(losers),
            summary,
            self.compression,
            list(feed_statuses),
            list(retry_feeds),
            list(item_skips),
        )


class CommitRun(beam.PTransform):
    """After every shard is written: rename into place, write the manifest, then the state."""

    def __init__(self, output: str, state_path: str, run_id: str, summary_base: dict, compression: str = "zstd"):
        super().__init__()
        self.fn = _CommitFn(output, state_path, run_id, summary_base, compression)

    def expand(self, inputs):
        shards, winners, losers, counts, feed_statuses, retry_feeds, item_skips = inputs
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
            )
        )
