"""Candidate pairs for the story step, found by grouping on LSH band keys (see newsbeam.stories)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam.stories import MAX_GROUP, band_keys, candidate_pairs, load_open


def _new_bands(key):
    story = key.story
    if story is None or story.signature is None:
        return []
    return [(band, f"n:{key.article_id}") for band in band_keys(story.signature)]


def _open_bands(member):
    return [(band, f"o:{member.article_id}") for band in band_keys(member.signature)]


class _PairsFn(beam.DoFn):
    def __init__(self):
        self.oversized = Metrics.counter("newsbeam", "stories.oversized_buckets")

    def process(self, group):
        _band, refs = group
        refs = list(refs)
        if len(set(refs)) > MAX_GROUP:
            self.oversized.inc()
        yield from candidate_pairs(refs)


class StoryCandidates(beam.PTransform):
    """From the run's kept RowKeys: ``pairs`` (refs ``n:<article id>`` / ``o:<article id>``
    that share a band) and ``open`` (the members of the open stories, from the state)."""

    def __init__(self, state_path: str):
        super().__init__()
        self.state_path = state_path

    def expand(self, winners):
        open_members = (
            winners.pipeline
            | "StoryStatePath" >> beam.Create([self.state_path])
            | "LoadOpenStories" >> beam.FlatMap(load_open)
        )
        pairs = (
            (winners | "NewBands" >> beam.FlatMap(_new_bands), open_members | "OpenBands" >> beam.FlatMap(_open_bands))
            | "AllBands" >> beam.Flatten()
            | "GroupByBand" >> beam.GroupByKey()
            | "PairsInBand" >> beam.ParDo(_PairsFn())
            | "DistinctPairs" >> beam.Distinct()
        )
        return {"pairs": pairs, "open": open_members}
