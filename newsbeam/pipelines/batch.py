"""The batch pipeline: inputs and feeds to tagged, partitioned Parquet, committed once.

``build_pipeline`` only assembles transforms; every per-element step lives in
``newsbeam.transforms``.
"""

from __future__ import annotations

import logging

import apache_beam as beam

from newsbeam import storage
from newsbeam.layout import ARTICLES, ERRORS
from newsbeam.pipelines.config import ResolvedConfig
from newsbeam.records import FAILED
from newsbeam.settings import ExtractSettings, OutputSettings, TagSettings
from newsbeam.stories import load_open
from newsbeam.transforms.dedup import LOSERS, Dedup, LoadSeen
from newsbeam.transforms.extract import ExtractArticles
from newsbeam.transforms.fetch import (
    FEED_STATUS,
    FULL_TEXT,
    PAGES,
    RETRY_FEEDS,
    DropKnownItems,
    FetchArticles,
    ReadFeeds,
)
from newsbeam.transforms.pool import EXTRACTED, ExtractAndTagInPool
from newsbeam.transforms.read import MatchInputs, ReadLocalInputs
from newsbeam.transforms.tag import TagArticles
from newsbeam.transforms.write import CommitRun, WriteShards

LOGGER = logging.getLogger(__name__)


def _count(label: str, pcoll):
    return (
        pcoll
        | f"Count{label}" >> beam.combiners.Count.Globally()
        | f"Name{label}" >> beam.Map(lambda n, name=label: (name, n))
    )


def document_settings(cfg: ResolvedConfig) -> tuple[ExtractSettings, TagSettings]:
    """The extractor's and the tagger's settings for ``cfg`` (``newsbeam.documents``)."""
    return cfg.extract_settings(), cfg.tag_settings()


class ProcessDocuments(beam.PTransform):
    """Extract, tag and write one stream of documents; only small records leave it.

    Applied once per source of documents (local files, full-text feed entries, fetched
    pages) rather than to their Flatten: a Flatten of several stages' outputs is a
    materialisation point on some runners (the DirectRunner buffers every page there),
    while a chain from each source stays fused and its memory bounded.
    """

    def __init__(self, cfg: ResolvedConfig, out: OutputSettings, run_id: str, workers: int = 1):
        super().__init__()
        self.cfg, self.out, self.run_id, self.workers = cfg, out, run_id, workers

    def expand(self, documents):
        extract_settings, tag_settings = document_settings(self.cfg)
        if self.workers > 1:
            pooled = documents | "ExtractAndTag" >> ExtractAndTagInPool(self.workers, extract_settings, tag_settings)
            tagged, extracted = pooled.tagged, pooled[EXTRACTED]
            failed = pooled[FAILED]
        else:
            extraction = documents | "Extract" >> ExtractArticles(extract_settings)
            tagging = extraction.articles | "Tag" >> TagArticles(tag_settings)
            tagged, extracted = tagging.tagged, extraction.articles
            failed = (extraction[FAILED], tagging[FAILED]) | "Failures" >> beam.Flatten()
        out = self.out
        written = tagged | "Write" >> WriteShards(
            ARTICLES, out.path, self.run_id, list(out.partition_by), out.compression, out.max_rows_per_file,
            stories=out.stories is not None,
        )
        counts = (_count("Extracted", extracted), _count("Tagged", tagged)) | "Counts" >> beam.Flatten()
        return {"keys": written.keys, "shards": written.shards, FAILED: failed, "counts": counts,
                "signatures": written.signatures}


def _read_inputs(p: beam.Pipeline, cfg: ResolvedConfig):
    """Local inputs and feed files: (matched files, read documents and feed entries)."""
    # Feed files on disk are read like any input (their content says they are feeds).
    local_feeds = [(f.url, f.source) for f in cfg.feeds if storage.is_local(f.url)]
    specs = p | "InputGlobs" >> beam.Create([(i.path, i.source) for i in cfg.inputs] + local_feeds)
    matched = specs | "MatchInputs" >> MatchInputs(cfg.read.follow_links)
    read = (
        matched.files
        | "SpreadFiles" >> beam.Reshuffle()
        | "ReadInputs" >> ReadLocalInputs(cfg.read.max_file_bytes, cfg.read.max_article_chars)
    )
    return matched, read


def _poll_feeds(p: beam.Pipeline, cfg: ResolvedConfig, state: str):
    remote_feeds = [(f.url, f.source) for f in cfg.feeds if not storage.is_local(f.url)]
    return (
        p
        | "FeedUrls" >> beam.Create(remote_feeds)
        | "SpreadFeeds" >> beam.Reshuffle()
        | "ReadFeeds" >> ReadFeeds(cfg.fetch.policy(), state)
    )


def build_pipeline(p: beam.Pipeline, cfg: ResolvedConfig, run_id: str, workers: int = 1) -> None:
    """Add the whole batch job to ``p``; with ``workers`` above 1, documents are extracted
    and tagged on that many local processes (``newsbeam.transforms.pool``)."""
    out = cfg.output_settings()
    matched, read = _read_inputs(p, cfg)
    polled = _poll_feeds(p, cfg, out.state)
    seen = p | "LoadSeen" >> LoadSeen(out.state)
    seen_ids = seen | "SeenIds" >> beam.FlatMap(lambda s: [s[0], s[2]] if s[2] else [s[0]])
    feed_items = (read.feed_items, polled.items) | "AllFeedItems" >> beam.Flatten()
    new_items = feed_items | "DropKnownItems" >> DropKnownItems(seen_ids)
    fetched = new_items.items | "FetchArticles" >> FetchArticles(
        cfg.read.min_words, cfg.fetch.policy() if cfg.fetch.enabled else None
    )
    branches = [
        read.documents | "LocalDocuments" >> ProcessDocuments(cfg, out, run_id, workers),
        fetched[FULL_TEXT] | "FeedDocuments" >> ProcessDocuments(cfg, out, run_id, workers),
        fetched[PAGES] | "FetchedDocuments" >> ProcessDocuments(cfg, out, run_id, workers),
    ]
    failures = [matched[FAILED], read[FAILED], polled[FAILED], fetched[FAILED]] + [b[FAILED] for b in branches]
    error_shards = failures | "AllFailures" >> beam.Flatten() | "WriteErrors" >> WriteShards(
        ERRORS, out.path, run_id, [], out.compression, out.max_rows_per_file
    )
    deduped = [b["keys"] for b in branches] | "AllKeys" >> beam.Flatten() | "Dedup" >> Dedup(seen)
    counts = [
        _count("FilesMatched", matched.files),
        _count("DocumentsRead", read.documents),
        _count("FeedItems", feed_items),
        _count("NewFeedItems", new_items.items),
    ] + [b["counts"] for b in branches]
    # The open stories of earlier runs; no state is read when stories are off.
    open_stories = (
        p | "StoryState" >> beam.Create([out.state] if out.stories else []) | "LoadOpenStories" >> beam.FlatMap(load_open)
    )
    _ = (
        [b["shards"] for b in branches] + [error_shards.shards] | "AllShards" >> beam.Flatten(),
        deduped["winners"],
        deduped[LOSERS],
        counts | "AllCounts" >> beam.Flatten(),
        polled[FEED_STATUS],
        fetched[RETRY_FEEDS],
        new_items.skipped,
        open_stories,
        [b["signatures"] for b in branches] | "AllSignatures" >> beam.Flatten(),
    ) | "CommitRun" >> CommitRun(out.path, out.state, run_id, summary_base(cfg), out.compression, out.stories)


def summary_base(cfg: ResolvedConfig) -> dict:
    """What a run's manifest says of its config."""
    return {
        "config": cfg.source_file,
        "inputs": [i.path for i in cfg.inputs],
        "feeds": [f.url for f in cfg.feeds],
        "partition_by": list(cfg.output.partition_by),
    }
