"""The batch pipeline: inputs and feeds to tagged, partitioned Parquet, committed once.

``build_pipeline`` only assembles transforms; every per-element step lives in
``newsbeam.transforms``.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

import apache_beam as beam

from newsbeam import storage
from newsbeam.commit import ARTICLES, ERRORS
from newsbeam.pipelines.config import ResolvedConfig
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
    policy_from_config,
)
from newsbeam.transforms.pool import EXTRACTED, ExtractAndTagInPool
from newsbeam.transforms.read import FAILED, MatchInputs, ReadLocalInputs
from newsbeam.transforms.tag import TagArticles
from newsbeam.transforms.write import CommitRun, WriteShards

LOGGER = logging.getLogger(__name__)


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable by time, unique across concurrent launches: ``20261122T003100Z-1a2b3c``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _count(label: str, pcoll):
    return (
        pcoll
        | f"Count{label}" >> beam.combiners.Count.Globally()
        | f"Name{label}" >> beam.Map(lambda n, name=label: (name, n))
    )


def document_settings(cfg: ResolvedConfig) -> tuple[tuple, tuple]:
    """The arguments of the extractor and of the tagger (``newsbeam.documents``) for ``cfg``."""
    return ((cfg.read.min_words, cfg.read.max_article_chars),
            (cfg.taxonomy, cfg.tone_lexicon, [(c.id, c.text) for c in cfg.claims], cfg.tagging_model, cfg.actors))


class ProcessDocuments(beam.PTransform):
    """Extract, tag and write one stream of documents; only small records leave it.

    Applied once per source of documents (local files, full-text feed entries, fetched
    pages) rather than to their Flatten: a Flatten of several stages' outputs is a
    materialisation point on some runners (the DirectRunner buffers every page there),
    while a chain from each source stays fused and its memory bounded.
    """

    def __init__(self, cfg: ResolvedConfig, output: str, run_id: str, workers: int = 1):
        super().__init__()
        self.cfg, self.output, self.run_id, self.workers = cfg, output, run_id, workers

    def expand(self, documents):
        cfg, out_cfg = self.cfg, self.cfg.output
        extract_settings, tag_settings = document_settings(cfg)
        if self.workers > 1:
            pooled = documents | "ExtractAndTag" >> ExtractAndTagInPool(self.workers, extract_settings, tag_settings)
            tagged, extracted = pooled.tagged, pooled[EXTRACTED]
            failed = pooled[FAILED]
        else:
            extraction = documents | "Extract" >> ExtractArticles(*extract_settings)
            tagging = extraction.articles | "Tag" >> TagArticles(*tag_settings)
            tagged, extracted = tagging.tagged, extraction.articles
            failed = (extraction[FAILED], tagging[FAILED]) | "Failures" >> beam.Flatten()
        written = tagged | "Write" >> WriteShards(
            ARTICLES, self.output, self.run_id, out_cfg.partition_by, out_cfg.compression, out_cfg.max_rows_per_file,
            stories=cfg.stories.enabled,
        )
        counts = (_count("Extracted", extracted), _count("Tagged", tagged)) | "Counts" >> beam.Flatten()
        return {"keys": written.keys, "shards": written.shards, FAILED: failed, "counts": counts,
                "signatures": written.signatures}


def build_pipeline(p: beam.Pipeline, cfg: ResolvedConfig, run_id: str, workers: int = 1) -> None:
    """Add the whole batch job to ``p``; with ``workers`` above 1, documents are extracted
    and tagged on that many local processes (``newsbeam.transforms.pool``)."""
    output = storage.absolute(cfg.output_path)
    state = storage.absolute(cfg.state_path)
    out_cfg = cfg.output

    # Feed files on disk are read like any input (their content says they are feeds).
    local_feeds = [(f.url, f.source) for f in cfg.feeds if storage.is_local(f.url)]
    specs = p | "InputGlobs" >> beam.Create([(i.path, i.source) for i in cfg.inputs] + local_feeds)
    matched = specs | "MatchInputs" >> MatchInputs(cfg.read.follow_links)
    read = (
        matched.files
        | "SpreadFiles" >> beam.Reshuffle()
        | "ReadInputs" >> ReadLocalInputs(cfg.read.max_file_bytes, cfg.read.max_article_chars)
    )
    policy = policy_from_config(cfg.fetch)
    remote_feeds = [(f.url, f.source) for f in cfg.feeds if not storage.is_local(f.url)]
    polled = (
        p
        | "FeedUrls" >> beam.Create(remote_feeds)
        | "SpreadFeeds" >> beam.Reshuffle()
        | "ReadFeeds" >> ReadFeeds(policy, state)
    )
    seen = p | "LoadSeen" >> LoadSeen(state)
    seen_ids = seen | "SeenIds" >> beam.FlatMap(lambda s: [s[0], s[2]] if s[2] else [s[0]])
    feed_items = (read.feed_items, polled.items) | "AllFeedItems" >> beam.Flatten()
    new_items = feed_items | "DropKnownItems" >> DropKnownItems(seen_ids)
    fetched = new_items.items | "FetchArticles" >> FetchArticles(
        cfg.read.min_words, policy if cfg.fetch.enabled else None
    )
    branches = [
        read.documents | "LocalDocuments" >> ProcessDocuments(cfg, output, run_id, workers),
        fetched[FULL_TEXT] | "FeedDocuments" >> ProcessDocuments(cfg, output, run_id, workers),
        fetched[PAGES] | "FetchedDocuments" >> ProcessDocuments(cfg, output, run_id, workers),
    ]
    failures = [matched[FAILED], read[FAILED], polled[FAILED], fetched[FAILED]] + [b[FAILED] for b in branches]
    error_shards = failures | "AllFailures" >> beam.Flatten() | "WriteErrors" >> WriteShards(
        ERRORS, output, run_id, [], out_cfg.compression, out_cfg.max_rows_per_file
    )
    keys = [b["keys"] for b in branches] | "AllKeys" >> beam.Flatten()
    deduped = keys | "Dedup" >> Dedup(seen)
    # The open stories of earlier runs; no state is read when stories are off.
    open_stories = (
        p | "StoryState" >> beam.Create([state] if cfg.stories.enabled else []) | "LoadOpenStories" >> beam.FlatMap(load_open)
    )
    counts = [
        _count("FilesMatched", matched.files),
        _count("DocumentsRead", read.documents),
        _count("FeedItems", feed_items),
        _count("NewFeedItems", new_items.items),
    ] + [b["counts"] for b in branches]
    shards = [b["shards"] for b in branches] + [error_shards.shards]
    summary_base = {
        "config": cfg.source_file,
        "inputs": [i.path for i in cfg.inputs],
        "feeds": [f.url for f in cfg.feeds],
        "partition_by": list(out_cfg.partition_by),
    }
    _ = (
        shards | "AllShards" >> beam.Flatten(),
        deduped["winners"],
        deduped[LOSERS],
        counts | "AllCounts" >> beam.Flatten(),
        polled[FEED_STATUS],
        fetched[RETRY_FEEDS],
        new_items.skipped,
        open_stories,
        [b["signatures"] for b in branches] | "AllSignatures" >> beam.Flatten(),
    ) | "CommitRun" >> CommitRun(output, state, run_id, summary_base, out_cfg.compression, cfg.stories.settings())
