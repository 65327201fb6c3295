"""Writing rows as Parquet shards to a run's temporary directory, without Beam.

``ShardWriter`` buffers the rows of tagged articles (or error rows) per Hive partition
and writes each buffer as one Parquet file under ``<output>/_tmp/<run id>/``: a buffer
is written when it reaches ``max_rows``, and the largest one when all of them together
pass ``MAX_BUFFERED_BYTES``, so memory does not grow with the input. Nothing written here
is visible until the commit (``newsbeam.commit``) moves it into place. The batch
pipeline's writer (``newsbeam.transforms.write``) and the stream's batches both use it.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import pyarrow as pa

from newsbeam import storage
from newsbeam.ids import url_id
from newsbeam.layout import ARTICLES, ERRORS, file_schema, partition_dir, shard_name, tmp_root
from newsbeam.records import RowKey, ShardInfo, article_row, error_row
from newsbeam.storage import write_table
from newsbeam.stories import StorySig, story_sig

# Rows a writer holds, over all its partitions, before it writes out its largest buffer:
# bounds worker memory however many rows and partitions a bundle has.
MAX_BUFFERED_BYTES = 32 * 1024 * 1024


def write_shard(root: str, kind: str, relative_path: str, rows: list[dict], schema: pa.Schema, compression: str) -> ShardInfo:
    """Write rows as one Parquet file under ``root``; the file commit_run will move."""
    temp_path = storage.join(root, relative_path)
    write_table(temp_path, pa.table({name: [r.get(name) for r in rows] for name in schema.names}, schema=schema), compression)
    failures = collections.Counter((r["stage"], r["error_type"]) for r in rows) if kind == ERRORS else {}
    return ShardInfo(kind, temp_path, relative_path, len(rows), tuple((s, t, n) for (s, t), n in sorted(failures.items())))


class Buffer:
    """The rows waiting for one shard of one partition directory."""

    def __init__(self, relative_dir: str, run_id: str):
        self.name = shard_name(run_id)
        self.relative_path = f"{relative_dir}/{self.name}" if relative_dir else self.name
        self.rows: list[dict] = []
        self.bytes = 0


@dataclass(frozen=True)
class Added:
    """What adding one element gave: its RowKey and story signature (articles only) and
    the shards written to make room."""

    key: RowKey | None
    signature: tuple[str, StorySig] | None
    shards: list[ShardInfo]


class ShardWriter:
    """Buffer rows of one kind (``articles`` or ``errors``) per partition; write shards."""

    def __init__(self, kind: str, output: str, run_id: str, partition_by: list[str], compression: str = "zstd",
                 max_rows: int = 5000, stories: bool = True):
        self.kind, self.run_id, self.compression, self.max_rows = kind, run_id, compression, max_rows
        self.stories = stories and kind == ARTICLES
        self.partition_by = list(partition_by) if kind == ARTICLES else []
        self.schema = file_schema(kind, self.partition_by)
        self.root = tmp_root(output, run_id)
        self.buffers: dict[str, Buffer] = {}
        self.buffered = 0

    def add(self, element) -> Added:
        """Buffer one TaggedArticle (or Failure); write what no longer fits."""
        row = article_row(element, self.run_id) if self.kind == ARTICLES else error_row(element, self.run_id)
        rel_dir = partition_dir(self.kind, row, self.partition_by)
        buf = self.buffers.get(rel_dir)
        if buf is None:
            buf = self.buffers[rel_dir] = Buffer(rel_dir, self.run_id)
        key = signature = None
        if self.kind == ARTICLES:
            a = element.article
            key = RowKey(a.article_id, a.text_fingerprint, a.input, buf.relative_path, len(buf.rows), url_id(a.url))
            # Beside the RowKey, not on it: the keys go through two dedup shuffles and
            # the runner keeps a copy of each; the signatures only reach the commit.
            signature = (a.article_id, story_sig(a)) if self.stories else None
        buf.rows.append(row)
        size = len(row.get("text") or "") + len(row.get("message") or "") + 512
        buf.bytes += size
        self.buffered += size
        shards = []
        if len(buf.rows) >= self.max_rows:
            shards.append(self.flush(rel_dir))
        elif self.buffered > MAX_BUFFERED_BYTES:
            shards.append(self.flush(max(self.buffers, key=lambda d: self.buffers[d].bytes)))
        return Added(key, signature, shards)

    def flush(self, rel_dir: str) -> ShardInfo:
        buf = self.buffers.pop(rel_dir)
        self.buffered -= buf.bytes
        return write_shard(self.root, self.kind, buf.relative_path, buf.rows, self.schema, self.compression)

    def flush_all(self) -> list[ShardInfo]:
        return [self.flush(rel_dir) for rel_dir in list(self.buffers)]
