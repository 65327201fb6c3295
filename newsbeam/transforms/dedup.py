"""Deduplication as Beam transforms: within a run (same article id or same normalised text)
and across runs. The rule (which row of a group is kept) is the core's, ``newsbeam.dedup.pick``.

Runs on RowKeys (ids of rows already written to temporary shards), not on articles, so
the shuffle carries a few dozen bytes per article and worker memory stays flat. Ids
stored by earlier runs come from the state and join the same groups: a group that holds
an already-stored id keeps nothing.
"""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam.dedup import SEEN_BEFORE, pick
from newsbeam.records import RowKey
from newsbeam.state import read_seen, seen_files

LOGGER = logging.getLogger(__name__)

LOSERS = "losers"
_SEEN_MARK = "__seen__"


class LoadSeen(beam.PTransform):
    """The ``(article_id, text_fingerprint, url_id)`` triples stored by earlier runs."""

    def __init__(self, state_path: str):
        super().__init__()
        self.state_path = state_path

    def expand(self, pbegin):
        return (
            pbegin
            | "StatePath" >> beam.Create([self.state_path])
            | "ListSeenFiles" >> beam.FlatMap(seen_files)
            | "Spread" >> beam.Reshuffle()
            | "ReadSeen" >> beam.FlatMap(read_seen)
        )


class _PickFn(beam.DoFn):
    """Keep the best-ranked row of a group; the rest (or all, if seen before) are losers."""

    def __init__(self):
        self.dupes = Metrics.counter("newsbeam", "dedup.duplicates")
        self.seen = Metrics.counter("newsbeam", "dedup.already_stored")

    def process(self, group):
        _key, values = group
        rows = [v for v in values if v != _SEEN_MARK]
        if not rows:
            return
        winner, losers = pick(rows, seen=len(rows) != len(values))
        if winner is not None:
            yield winner
        for loser in losers:
            (self.seen if loser[1] == SEEN_BEFORE else self.dupes).inc()
            yield beam.pvalue.TaggedOutput(LOSERS, loser)


class Dedup(beam.PTransform):
    """Split RowKeys into winners (to store) and losers ``(RowKey, reason)``."""

    def __init__(self, seen):
        super().__init__()
        self.seen = seen

    def expand(self, keys):
        seen_ids = self.seen | "SeenById" >> beam.Map(lambda s: (s[0], _SEEN_MARK))
        seen_fps = self.seen | "SeenByText" >> beam.Map(lambda s: (s[1], _SEEN_MARK))
        by_id = (
            (keys | "KeyById" >> beam.Map(lambda k: (k.article_id, k)), seen_ids)
            | "FlattenIds" >> beam.Flatten()
            | "GroupById" >> beam.GroupByKey()
            | "PickById" >> beam.ParDo(_PickFn()).with_outputs(LOSERS, main="winners")
        )
        by_text = (
            (by_id.winners | "KeyByText" >> beam.Map(lambda k: (k.text_fingerprint, k)), seen_fps)
            | "FlattenTexts" >> beam.Flatten()
            | "GroupByText" >> beam.GroupByKey()
            | "PickByText" >> beam.ParDo(_PickFn()).with_outputs(LOSERS, main="winners")
        )
        losers = (by_id[LOSERS], by_text[LOSERS]) | "Losers" >> beam.Flatten()
        return {"winners": by_text.winners, LOSERS: losers}


__all__ = ["Dedup", "LoadSeen", "RowKey"]
