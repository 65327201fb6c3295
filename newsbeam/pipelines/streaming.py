"""The streaming pipeline: ``PeriodicImpulse`` drives the polls; each poll's new articles
are written and committed as one small batch.

Each impulse element is one poll, handled whole by ``_PollAndCommitFn``: poll the feeds
(conditional GET), keep the entries not stored yet, fetch their pages concurrently,
extract, tag, then write and commit the batch with the same journaled commit as a batch
run (data files, manifest, seen ids). Doing the batch inside one element, rather than
per bundle or per window, makes the batch boundary the same on every runner: the
DirectRunner keeps an unbounded source's whole output in one bundle, and a shuffle after
it would never fire there. Deduplication holds across batches and restarts: the seen ids
are loaded from the state at start and extended after every commit, and checked again
at commit time, so a retried element writes nothing twice.

Feed validators (ETag, Last-Modified) are kept in memory only: after a restart the first
poll of each feed is a full GET, so an entry whose batch died with the process is listed
and fetched again. A feed with a transient article failure forgets its validators, and
the failed entry is tried again at the next poll.
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import sys
import threading
import time

import apache_beam as beam
from apache_beam.transforms.periodicsequence import PeriodicImpulse

from newsbeam import storage
from newsbeam.commit import ARTICLES, ERRORS, commit_run
from newsbeam.pipelines.batch import new_run_id
from newsbeam.pipelines.config import ResolvedConfig
from newsbeam.pipelines.stopping import EARLY_STOP
from newsbeam.records import Failure, FeedItem, RowKey, TaggedArticle, article_row, error_row
from newsbeam.state import read_seen, seen_files, url_id
from newsbeam.stories import run_stories, story_sig
from newsbeam.text import MAX_ARTICLE_CHARS
from newsbeam.transforms.fetch import FAILED, RETRY_FEEDS, _FetchFeedFn, _FetchPageFn, policy_from_config
from newsbeam.transforms.write import file_schema, partition_dir, write_shard

LOGGER = logging.getLogger(__name__)

# Errors after which the same URL is worth trying again at the next poll.
TRANSIENT = ("ConnectionError", "Timeout", "DNSError", "RobotsUnavailable", "HTTP429", "HTTP500", "HTTP502", "HTTP503", "HTTP504")
# An entry handed to the fetcher is not listed again for this long (unless it failed).
IN_FLIGHT_SECONDS = 600.0


class StreamState:
    """What the streaming DoFns of one process share: seen ids, validators, the stop flag.

    Beam DoFns are separate objects, but on one worker they run in one process; this
    registry, keyed by the state path, is how the writer's commits reach the poller's
    filter. Correctness does not depend on it (the writer re-checks the seen ids).
    """

    _registry: dict[str, StreamState] = {}
    _lock = threading.Lock()

    def __init__(self, state_path: str):
        self.state_path = state_path
        self.article_ids: set[str] = set()
        self.fingerprints: set[str] = set()
        self.url_ids: set[str] = set()
        self.in_flight: dict[str, float] = {}
        self.validators: dict[str, dict] = {}
        self.batches = 0
        self.busy = 0
        self.stop = threading.Event()
        self.mutex = threading.Lock()
        for path in seen_files(state_path):
            for article_id, fingerprint, uid in read_seen(path):
                self.article_ids.add(article_id)
                self.fingerprints.add(fingerprint)
                if uid:
                    self.url_ids.add(uid)

    @classmethod
    def get(cls, state_path: str) -> StreamState:
        with cls._lock:
            if state_path not in cls._registry:
                cls._registry[state_path] = cls(state_path)
            return cls._registry[state_path]

    def known(self, key: str) -> bool:
        return key in self.url_ids or key in self.article_ids


def _values(outputs: list, tag: str | None = None) -> list:
    """The plain (tag None) or tagged values of a step's ``handle`` outputs."""
    if tag is None:
        return [o for o in outputs if not isinstance(o, beam.pvalue.TaggedOutput)]
    return [o.value for o in outputs if isinstance(o, beam.pvalue.TaggedOutput) and o.tag == tag]


class _PollAndCommitFn(beam.DoFn):
    """One poll: feeds -> new entries -> pages -> articles -> tags -> one committed batch."""

    def __init__(self, cfg_parts: dict, policy, output: str, state_path: str, feeds: list[tuple[str, str | None]]):
        self.cfg = cfg_parts
        self.policy = policy
        self.output = output
        self.state_path = state_path
        self.feeds = feeds

    def setup(self):
        from newsbeam.documents import shared_extractor, shared_tagger

        self._shared = StreamState.get(self.state_path)
        self._feed_fn = _FetchFeedFn(self.policy, self.state_path)
        self._feed_fn.setup()
        self._feed_fn._validators = self._shared.validators  # in memory only (see module doc)
        self._page_fn = _FetchPageFn(self.policy)
        self._page_fn._loop, self._page_fn._fetcher = self._feed_fn._loop, self._feed_fn._fetcher
        # The same per-process extractor and tagger as the batch steps: a DoFn set up
        # again (after a failed bundle) does not load the models again.
        self._extractor = shared_extractor(self.cfg["min_words"], self.cfg.get("max_article_chars", MAX_ARTICLE_CHARS))
        self._tagger = shared_tagger(self.cfg["taxonomy"], self.cfg["tone_lexicon"], [tuple(c) for c in self.cfg["claims"]],
                                     self.cfg.get("tagging_model", "fast"), self.cfg.get("actors"))

    def teardown(self):
        self._feed_fn.teardown()

    def process(self, _tick):
        shared = self._shared
        if shared.stop.is_set():
            raise StopStreaming()
        shared.busy += 1
        try:
            yield self._poll_once()
        finally:
            shared.busy -= 1
        if shared.stop.is_set():
            raise StopStreaming()

    def _gather(self, fn, elements) -> list:
        import asyncio

        async def run_all():
            return await asyncio.gather(*(fn.handle(e) for e in elements))

        return [out for outs in self._feed_fn._loop.run(run_all()) for out in outs] if elements else []

    def _poll_once(self) -> dict:
        from newsbeam.documents import extract_then_tag
        from newsbeam.transforms.fetch import item_document

        shared = self._shared
        polled = self._gather(self._feed_fn, self.feeds)
        for status in _values(polled, "feed_status"):
            if status.ok and (status.etag or status.last_modified):
                shared.validators[status.url] = {"etag": status.etag, "last_modified": status.last_modified}
        failures: list[Failure] = _values(polled, FAILED)
        documents, to_fetch = [], []
        for item in _values(polled):
            if not self._is_new(item):
                continue
            doc = item_document(item, self.cfg["min_words"])
            if doc is not None:
                documents.append(doc)
            elif item.url:
                to_fetch.append(item)
        fetched = self._gather(self._page_fn, to_fetch)
        documents += _values(fetched)
        failures += _values(fetched, FAILED)
        for feed in _values(fetched, RETRY_FEEDS):
            shared.validators.pop(feed, None)
        tagged = []
        for doc in documents:  # one bad page never stops the stream: it is an error row
            result = extract_then_tag(self._extractor, self._tagger, doc)
            (failures if isinstance(result, Failure) else tagged).append(result)
        return self._commit(tagged, failures)

    def _is_new(self, item: FeedItem) -> bool:
        key = url_id(item.url) or item.identity
        shared = self._shared
        with shared.mutex:
            if shared.known(key):
                return False
            since = shared.in_flight.get(key)
            if since is not None and time.monotonic() - since < IN_FLIGHT_SECONDS:
                return False
            shared.in_flight[key] = time.monotonic()
        return True

    def _commit(self, articles: list[TaggedArticle], failures: list[Failure]) -> dict:
        shared, batch_id = self._shared, new_run_id()
        if not articles and not failures:
            return {"run_id": None, "written": {"articles": 0, "errors": 0}}
        partition_by, compression = self.cfg["partition_by"], self.cfg["compression"]
        tmp_root = storage.join(self.output, storage.TMP_DIR, batch_id)
        winners, rows_by_dir, seen_now, signatures = [], collections.defaultdict(list), set(), {}
        for tagged in sorted(articles, key=lambda t: t.article.input):
            a = tagged.article
            if {a.article_id, a.text_fingerprint} & (shared.article_ids | shared.fingerprints | seen_now):
                continue
            seen_now.update((a.article_id, a.text_fingerprint))
            row = article_row(tagged, batch_id)
            rel_dir = partition_dir(ARTICLES, row, partition_by)
            winners.append(RowKey(a.article_id, a.text_fingerprint, a.input, rel_dir, len(rows_by_dir[rel_dir]), url_id(a.url)))
            if self.cfg.get("stories"):
                signatures[a.article_id] = story_sig(a)
            rows_by_dir[rel_dir].append(row)
        for failure in failures:
            rows_by_dir[ERRORS].append(error_row(failure, batch_id))
        shards = []
        for rel_dir, rows in sorted(rows_by_dir.items()):
            kind = ERRORS if rel_dir == ERRORS else ARTICLES
            relative = f"{rel_dir}/part-{batch_id}-0000.parquet"
            shards.append(write_shard(tmp_root, kind, relative, rows, file_schema(kind, partition_by), compression))
        summary = {"mode": "stream", "counts": {"Tagged": len(articles)}}
        stories = run_stories(batch_id, winners, self.state_path, self.cfg["stories"], signatures) if signatures else None
        manifest = commit_run(self.output, self.state_path, batch_id, shards, winners, [], summary, compression,
                              stories=stories)
        with shared.mutex:
            for key in winners:
                shared.article_ids.add(key.article_id)
                shared.fingerprints.add(key.text_fingerprint)
                if key.url_id:
                    shared.url_ids.add(key.url_id)
                    shared.in_flight.pop(key.url_id, None)
            for failure in failures:
                uid = url_id(failure.input)
                if uid and failure.error_type in TRANSIENT:
                    shared.in_flight.pop(uid, None)  # try again at the next poll
            shared.batches += 1
        LOGGER.warning(
            "batch %s: %d articles written, %d error rows",
            batch_id, manifest["written"]["articles"], manifest["written"]["errors"],
        )
        return manifest


class StopStreaming(Exception):
    """Raised after a batch's commit when a stop was requested: ends the pipeline cleanly."""


def bound_runner_metrics() -> None:
    """Keep the DirectRunner's per-bundle metrics from growing without bound.

    Beam's FnApiRunner (2.77) merges each bundle's monitoring infos into the previous ones
    lazily, as a generator wrapping the last: a long-running stream builds a chain one
    link per bundle, about 0.8 MB a poll, never freed (measured: 182 MB flat with this
    patch against +250 MB over 400 polls without). Materialising each merge keeps one
    list per stage. Only the in-process runner uses this function; other runners are
    unaffected.
    """
    from apache_beam.metrics import monitoring_infos
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    def consolidate(metrics, key=monitoring_infos.to_key):
        return list(monitoring_infos.consolidate(metrics, key))

    fn_runner.consolidate_monitoring_infos = consolidate


def build_streaming_pipeline(p: beam.Pipeline, cfg: ResolvedConfig, poll_interval: float, max_polls: int | None = None) -> None:
    """Add the streaming job to ``p`` (run it with ``--streaming``)."""
    bound_runner_metrics()
    output = storage.absolute(cfg.output_path)
    state = storage.absolute(cfg.state_path)
    start = time.time()
    kwargs = {"start_timestamp": start, "fire_interval": poll_interval, "apply_windowing": False}
    if max_polls:
        kwargs["stop_timestamp"] = start + poll_interval * (max_polls - 0.5)
    cfg_parts = {
        "min_words": cfg.read.min_words,
        "max_article_chars": cfg.read.max_article_chars,
        "taxonomy": cfg.taxonomy,
        "tagging_model": cfg.tagging_model,
        "actors": cfg.actors,
        "tone_lexicon": cfg.tone_lexicon,
        "claims": [(c.id, c.text) for c in cfg.claims],
        "partition_by": list(cfg.output.partition_by),
        "compression": cfg.output.compression,
        "stories": cfg.stories.settings(),
    }
    feeds = [(f.url, f.source) for f in cfg.feeds]
    _ = (
        p
        | "Poll" >> PeriodicImpulse(**kwargs)
        | "PollAndCommit" >> beam.ParDo(_PollAndCommitFn(cfg_parts, policy_from_config(cfg.fetch), output, state, feeds))
    )


# -- the life cycle of `newsbeam stream` --------------------------------------------------

# The stream's own exit status once stopped (the CLI's EXIT_OK).
EXIT_OK = 0


class _DropStopTracebacks(logging.Filter):
    """A requested stop unwinds the runner by an exception; Beam logs it as an error, it is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        text = f"{record.getMessage()} {exc!r}" if exc else record.getMessage()
        return "StopStreaming" not in text




# A stop request waits this long for the poll in flight to commit.
STOP_GRACE_SECONDS = 25.0


def run_stream(cfg, options, output: str, poll_interval: float, max_polls: int | None) -> int:
    """The stream's life cycle, with the output's lock held: poll until stopped, then return.

    SIGINT and SIGTERM stop it after the poll in flight commits (at once when idle); a
    request while starting stops it before the first poll; a second request only says
    "already stopping". The caller leaves the process with ``os._exit`` once the lock is
    released, so no runner thread can hold it in interpreter shutdown.
    """
    from newsbeam.commit import recover
    from newsbeam.pipelines.runner import new_pipeline

    recover(output)
    state = StreamState.get(storage.absolute(cfg.state_path))

    def exit_when_idle():
        # The poll in flight normally ends the pipeline itself once committed; if the
        # runner does not unwind in time, leave anyway: a commit is never cut short
        # here, and anything uncommitted is redone by the next start (crash-safe).
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while state.busy and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)
        print(f"newsbeam: stopped after {state.batches} batches", file=sys.stderr, flush=True)
        os._exit(EXIT_OK)

    def on_signal(signum, _frame):
        if state.stop.is_set():  # a second request while stopping: the first one stands
            print(f"newsbeam: {signal.Signals(signum).name}: already stopping", file=sys.stderr, flush=True)
            return
        print(f"newsbeam: {signal.Signals(signum).name}: finishing the batch in flight, then stopping", file=sys.stderr, flush=True)
        state.stop.set()
        if not state.busy:
            stop_when_safe(signal.SIGALRM, _frame)
            return
        threading.Thread(target=exit_when_idle, daemon=True).start()

    unwound: list[bool] = []

    def stop_when_safe(_signum, frame):
        if unwound:  # the runner has already returned: nothing to unwind
            return
        # Unwind the idle runner by an exception, but never from inside Thread.start:
        # raised in its wait for the new thread, it orphans that thread (its
        # bootstrap then prints a KeyError traceback, seen once in 20 random SIGTERMs).
        # There, try again 50 ms later from a timer signal: no thread, no lock taken.
        while frame is not None:
            if frame.f_code.co_filename == threading.__file__ and frame.f_code.co_name == "start":
                signal.setitimer(signal.ITIMER_REAL, 0.05)
                return
            frame = frame.f_back
        raise StopStreaming()

    quiet = _DropStopTracebacks()
    for handler in logging.getLogger().handlers:
        handler.addFilter(quiet)
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Kept until the process exits: a second signal during shutdown must not kill it
        # by the signal (exit -15) half-way through releasing the lock.
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGALRM, stop_when_safe)
    try:
        if EARLY_STOP:  # after the real handlers are in: no request can fall between
            state.stop.set()
            print(f"newsbeam: {signal.Signals(EARLY_STOP[0]).name} while starting: stopping before the first poll",
                  file=sys.stderr, flush=True)
            return EXIT_OK
        print(f"newsbeam: streaming {len(cfg.feeds)} feeds every {poll_interval:g} s -> {output}", file=sys.stderr, flush=True)
        pipeline = new_pipeline(options)
        build_streaming_pipeline(pipeline, cfg, poll_interval, max_polls)
        pipeline.run().wait_until_finish()
    except StopStreaming:
        pass
    except Exception as exc:  # noqa: BLE001 - Beam wraps a DoFn's StopStreaming in its own error
        if "StopStreaming" not in repr(exc) and not state.stop.is_set():
            raise
    finally:
        # From here on a signal only says "already stopping": nothing is left to stop.
        state.stop.set()
        unwound.append(True)
        signal.setitimer(signal.ITIMER_REAL, 0)
    print(f"newsbeam: stopped after {state.batches} batches", file=sys.stderr)
    return EXIT_OK
