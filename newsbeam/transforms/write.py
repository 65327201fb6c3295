"""The Beam transforms that write a run: Parquet shards to its temporary directory, then the commit.

``WriteShards`` runs the core's ``ShardWriter`` (``newsbeam.writing``) once per bundle;
nothing becomes visible until ``CommitRun`` runs the commit protocol
(``newsbeam.commit``) once every shard is written. Which directory a row goes to is the
layout's (``newsbeam.layout``).
"""

from __future__ import annotations

import collections
import logging

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MAX_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam import progress
from newsbeam.commit import commit_run
from newsbeam.layout import ARTICLES
from newsbeam.records import ShardInfo
from newsbeam.stories import run_stories
from newsbeam.writing import ShardWriter

LOGGER = logging.getLogger(__name__)

KEYS = "keys"
SIGNATURES = "signatures"


class _WriteShardsFn(beam.DoFn):
    """Run a ShardWriter per bundle; emit its shards, RowKeys and story signatures."""

    def __init__(self, kind: str, output: str, run_id: str, partition_by: list[str], compression: str, max_rows: int,
                 stories: bool = True):
        self.kind = kind
        self.args = (kind, output, run_id, list(partition_by), compression, max_rows, stories)
        self.rows_written = Metrics.counter("newsbeam", f"write.{kind}_rows")

    def start_bundle(self):
        self._writer = ShardWriter(*self.args)

    def process(self, element):
        added = self._writer.add(element)
        progress.add("written" if self.kind == ARTICLES else "errors")
        if added.key is not None:
            yield beam.pvalue.TaggedOutput(KEYS, added.key)
        if added.signature is not None:
            yield beam.pvalue.TaggedOutput(SIGNATURES, added.signature)
        yield from self._count(added.shards)

    def _count(self, shards: list[ShardInfo]) -> list[ShardInfo]:
        for shard in shards:
            self.rows_written.inc(shard.rows)
        return shards

    def finish_bundle(self):
        for shard in self._count(self._writer.flush_all()):
            yield WindowedValue(shard, MAX_TIMESTAMP, [GlobalWindow()])


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
