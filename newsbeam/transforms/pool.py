"""ExtractAndTagInPool: extraction and tagging on several local processes (``--workers N``).

Beam's own multi-process DirectRunner starts each worker as a fresh Python that imports
Beam, unpickles every stage and builds its own models: 5 to 6 s a run on two cores
before the first page (benchmarks/NOTES.md). Extraction and tagging are about three quarters
of a page's work and need neither Beam nor the runner, so for local runs newsbeam keeps the
pipeline in one process and sends each document to a pool of worker processes that
import only the extractor and the tagger (``newsbeam.documents``).

A worker that dies (a crash in a C library, the kernel's OOM killer) loses no document
and stops nothing: the documents in flight are sent again, the one whose result was
awaited first runs alone on a fresh worker, and a document that kills that one too
becomes an error row.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from newsbeam import documents, progress
from newsbeam.records import FAILED, STAGE_EXTRACT, STAGE_TAG, Failure, RawDocument
from newsbeam.settings import ExtractSettings, TagSettings

LOGGER = logging.getLogger(__name__)

EXTRACTED = "extracted"
# Documents in flight per worker: enough to keep each busy while results are collected,
# few enough that pages waiting for a worker hold little memory.
IN_FLIGHT_PER_WORKER = 4

# One pool per process and setting, shared by the pipeline's extraction steps (one per
# source of documents), with the number of steps using it.
_POOLS: dict[str, list] = {}
_POOLS_LOCK = threading.Lock()


def _pool_key(workers: int, extract_settings: ExtractSettings, tag_settings: TagSettings) -> str:
    return json.dumps([workers, dataclasses.astuple(extract_settings), tag_settings.key()])


class _PoolFn(beam.DoFn):
    def __init__(self, workers: int, extract_settings: ExtractSettings, tag_settings: TagSettings, work=documents.extract_and_tag):
        self.workers = workers
        self.extract_settings = extract_settings
        self.tag_settings = tag_settings
        self.work = work
        self.counters = {
            "extract.articles": Metrics.counter("newsbeam", "extract.articles"),
            "extract.failed": Metrics.counter("newsbeam", "extract.failed"),
            "tag.articles": Metrics.counter("newsbeam", "tag.articles"),
            "tag.failed": Metrics.counter("newsbeam", "tag.failed"),
            "pool.restarts": Metrics.counter("newsbeam", "pool.restarts"),
        }

    def setup(self):
        self._key = _pool_key(self.workers, self.extract_settings, self.tag_settings)
        with _POOLS_LOCK:
            _POOLS.setdefault(self._key, [None, 0])[1] += 1
        self._in_flight: collections.deque = collections.deque()

    def _start(self) -> ProcessPoolExecutor:
        """The shared pool, started by the first document (and again after a worker died)."""
        with _POOLS_LOCK:
            entry = _POOLS[self._key]
            if entry[0] is None:
                # spawn, not fork: this process runs the pipeline's threads, and a fork
                # copies whatever locks they hold.
                entry[0] = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=documents.start_worker, initargs=(self.extract_settings, self.tag_settings, os.getpid()),
                )
            return entry[0]

    def _stop(self, broken: ProcessPoolExecutor | None = None) -> None:
        """Shut the shared pool down: ``broken``, if it is still the current one; else the
        current one, when no other step uses it."""
        with _POOLS_LOCK:
            entry = _POOLS[self._key]
            pool = entry[0]
            if pool is None or (broken is not None and pool is not broken) or (broken is None and entry[1] > 0):
                return
            entry[0] = None
        pool.shutdown(wait=broken is None, cancel_futures=True)

    def start_bundle(self):
        self._in_flight.clear()

    def _submit(self, doc: RawDocument) -> None:
        pool = self._start()
        try:
            future = pool.submit(self.work, doc)
        except BrokenProcessPool as error:
            # A worker died since the last result was collected: the pool refuses new
            # work. The document waits in line with the error, and the first result
            # awaited from this pool restarts it and sends it again (``_next_result``).
            future = Future()
            future.set_exception(error)
        self._in_flight.append((doc, pool, future))

    def process(self, doc: RawDocument):
        self._submit(doc)
        while len(self._in_flight) > self.workers * IN_FLIGHT_PER_WORKER:
            yield from self._outputs(self._next_result(), window=False)

    def finish_bundle(self):
        while self._in_flight:
            yield from self._outputs(self._next_result(), window=True)

    def teardown(self):
        with _POOLS_LOCK:
            _POOLS[self._key][1] -= 1
        self._stop()

    def _next_result(self):
        doc, pool, future = self._in_flight.popleft()
        try:
            return future.result()
        except BrokenProcessPool:
            pass
        # A worker died. Every document in flight is lost with the pool: this one is run
        # again alone, to tell a document that kills workers from one that was only in
        # flight beside it, and the rest are sent again.
        self.counters["pool.restarts"].inc()
        self._stop(broken=pool)
        try:
            alone = self._start()
            result = alone.submit(self.work, doc).result()
        except BrokenProcessPool:
            LOGGER.warning("a worker process died on %s: recorded as an error", doc.input)
            self._stop(broken=alone)
            result = Failure(STAGE_EXTRACT, doc.input, "WorkerDied", "the process extracting this document died (crash or out of memory)")
        # Results that came back before the pool broke are kept; the rest are sent again.
        in_flight, self._in_flight = self._in_flight, collections.deque()
        for entry in in_flight:
            d, _p, f = entry
            if f.done() and f.exception() is None:
                self._in_flight.append(entry)
            else:
                self._submit(d)
        return result

    def _outputs(self, result, window: bool):
        if isinstance(result, Failure):
            self.counters["extract.failed" if result.stage == STAGE_EXTRACT else "tag.failed"].inc()
            if result.stage == STAGE_TAG:
                self.counters["extract.articles"].inc()
                yield _out(EXTRACTED, 1, window)
            yield _out(FAILED, result, window)
            return
        self.counters["extract.articles"].inc()
        self.counters["tag.articles"].inc()
        progress.add("articles")
        yield _out(EXTRACTED, 1, window)
        yield _out(None, result, window)


def _out(tag: str | None, value, window: bool):
    """An output of ``process`` (``window`` False) or of ``finish_bundle``, which must
    give its outputs a window itself: the global one, as this is the batch pipeline."""
    if window:
        value = GlobalWindows.windowed_value(value)
    return value if tag is None else beam.pvalue.TaggedOutput(tag, value)


class ExtractAndTagInPool(beam.PTransform):
    """Extract and tag on ``workers`` local processes. Outputs: the tagged articles (main),
    ``failed`` (error rows of both steps) and ``extracted`` (a 1 per extracted article)."""

    def __init__(self, workers: int, extract_settings: ExtractSettings, tag_settings: TagSettings, work=documents.extract_and_tag):
        super().__init__()
        self.fn = _PoolFn(workers, extract_settings, tag_settings, work)

    def expand(self, docs):
        return docs | "ExtractAndTag" >> beam.ParDo(self.fn).with_outputs(FAILED, EXTRACTED, main="tagged")
