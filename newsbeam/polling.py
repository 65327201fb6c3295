"""One poll of the stream, without Beam: feeds -> new entries -> pages -> articles -> tags ->
one committed batch.

``Poller.poll_once`` polls every feed (conditional GET), keeps the entries not stored yet
(``KnownIds``), fetches their pages concurrently, extracts and tags them, then writes and
commits the batch with the same journaled commit as a batch run (data files, manifest,
seen ids). It is the whole of ``newsbeam stream``'s work; the streaming driver
(``newsbeam.pipelines.streaming``) only calls it once per tick.

Each step is the core's, shared with the batch pipeline: ``FeedPoller``, ``route_item``,
``PageFetcher`` (``newsbeam.fetching``), ``extract_then_tag`` (``newsbeam.documents``), the
dedup rule (``newsbeam.dedup``), ``ShardWriter`` (``newsbeam.writing``), ``run_stories``
and ``commit_run``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from newsbeam import progress
from newsbeam.commit import commit_run
from newsbeam.dedup import select_new
from newsbeam.documents import extract_then_tag, shared_extractor, shared_tagger
from newsbeam.fetching import FeedPoller, FetchSession, PageFetcher, item_key, route_item
from newsbeam.http import FetchPolicy
from newsbeam.ids import url_id
from newsbeam.layout import ARTICLES, ERRORS, new_run_id
from newsbeam.records import Failure, FeedItem, RawDocument, RowKey, TaggedArticle
from newsbeam.settings import ExtractSettings, OutputSettings, TagSettings
from newsbeam.state import read_seen, seen_files
from newsbeam.stories import run_stories
from newsbeam.writing import ShardWriter

LOGGER = logging.getLogger(__name__)

# An entry handed to the fetcher is not listed again for this long (unless it failed).
IN_FLIGHT_SECONDS = 600.0


@dataclass(frozen=True)
class StreamSettings:
    """Everything one poll needs: the feeds as ``(url, source)``, and each step's settings."""

    feeds: tuple[tuple[str, str | None], ...]
    extract: ExtractSettings
    tag: TagSettings
    fetch: FetchPolicy
    fetch_enabled: bool
    output: OutputSettings


class KnownIds:
    """What the stream knows is stored (article ids, text fingerprints, URL ids) or in
    flight, loaded from the state at start and extended after every commit; and the
    feeds' validators, kept in memory only (a restart's first poll is a full GET, so an
    entry whose batch died with the process is listed and fetched again)."""

    def __init__(self, state_path: str):
        self.article_ids: set[str] = set()
        self.fingerprints: set[str] = set()
        self.url_ids: set[str] = set()
        self.in_flight: dict[str, float] = {}
        self.validators: dict[str, dict] = {}
        self.mutex = threading.Lock()
        for path in seen_files(state_path):
            for article_id, fingerprint, uid in read_seen(path):
                self.article_ids.add(article_id)
                self.fingerprints.add(fingerprint)
                if uid:
                    self.url_ids.add(uid)

    def claim(self, item: FeedItem) -> bool:
        """True for an entry neither stored nor in flight, which is then in flight."""
        key = item_key(item)
        with self.mutex:
            if key in self.url_ids or key in self.article_ids:
                return False
            since = self.in_flight.get(key)
            if since is not None and time.monotonic() - since < IN_FLIGHT_SECONDS:
                return False
            self.in_flight[key] = time.monotonic()
        return True

    def stored(self, winners: list[RowKey], retry_urls: list[str]) -> None:
        """After a commit: the winners are known; entries worth retrying are free again."""
        with self.mutex:
            for key in winners:
                self.article_ids.add(key.article_id)
                self.fingerprints.add(key.text_fingerprint)
                if key.url_id:
                    self.url_ids.add(key.url_id)
                    self.in_flight.pop(key.url_id, None)
            for url in retry_urls:
                self.in_flight.pop(url_id(url), None)


@dataclass
class Polled:
    """One poll's documents, error rows and the URLs worth trying again at the next poll."""

    documents: list[RawDocument]
    failures: list[Failure]
    retry_urls: list[str]


class Poller:
    """One process's stream worker: a fetch session, the extractor, the tagger, KnownIds."""

    def __init__(self, settings: StreamSettings, known: KnownIds):
        self.settings, self.known = settings, known
        self.session = FetchSession(settings.fetch)
        # The same per-process extractor and tagger as the batch steps: a poller set up
        # again (after a failed bundle) does not load the models again.
        self.extractor = shared_extractor(settings.extract)
        self.tagger = shared_tagger(settings.tag)

    def close(self) -> None:
        self.session.close()

    def poll_once(self) -> dict:
        """Poll, fetch, extract, tag and commit one batch; its manifest (run_id None when empty)."""
        polled = self.fetch_new()
        tagged: list[TaggedArticle] = []
        for doc in polled.documents:  # one bad page never stops the stream: it is an error row
            result = extract_then_tag(self.extractor, self.tagger, doc)
            (polled.failures if isinstance(result, Failure) else tagged).append(result)
        progress.add("articles", len(tagged))
        return self.commit(tagged, polled.failures, polled.retry_urls)

    def fetch_new(self) -> Polled:
        """Poll every feed; the documents of the entries not known yet, fetched where needed."""
        poller = FeedPoller(self.session.fetcher, self.known.validators)
        polls = self.session.gather([poller.poll(url, source) for url, source in self.settings.feeds])
        progress.add("feeds", len(polls))
        failures = [f for poll in polls for f in poll.failures]
        for poll in polls:
            if poll.status.ok and (poll.status.etag or poll.status.last_modified):
                self.known.validators[poll.status.url] = {"etag": poll.status.etag, "last_modified": poll.status.last_modified}
        items = sorted((i for poll in polls for i in poll.items), key=lambda i: (i.feed, i.entry_index))
        documents, to_fetch = [], []
        for item in items:
            if not self.known.claim(item):
                continue
            routed = route_item(item, self.settings.extract.min_words, self.settings.fetch_enabled)
            (documents if isinstance(routed, RawDocument) else to_fetch if isinstance(routed, FeedItem) else failures).append(routed)
        fetcher = PageFetcher(self.session.fetcher)
        retry_urls = []
        for result in self.session.gather([fetcher.fetch(item) for item in to_fetch]):
            if result.document is not None:
                documents.append(result.document)
                progress.add("pages")
                continue
            failures.append(result.failure)
            if result.retry_feed is not None:
                self.known.validators.pop(result.retry_feed, None)
                retry_urls.append(result.failure.input)
        return Polled(documents, failures, retry_urls)

    def commit(self, articles: list[TaggedArticle], failures: list[Failure], retry_urls: list[str]) -> dict:
        """Write and commit one batch: the new articles (deduplicated) and the error rows."""
        if not articles and not failures:
            return {"run_id": None, "written": {"articles": 0, "errors": 0}}
        out, batch_id = self.settings.output, new_run_id()
        articles = sorted(articles, key=lambda t: t.article.input)
        keys = [RowKey(a.article_id, a.text_fingerprint, a.input, "", n) for n, a in enumerate(t.article for t in articles)]
        with self.known.mutex:
            new, losers = select_new(keys, self.known.article_ids, self.known.fingerprints)
        writer = ShardWriter(ARTICLES, out.path, batch_id, list(out.partition_by), out.compression, out.max_rows_per_file,
                             out.stories is not None)
        added = [writer.add(articles[key.index]) for key in new]
        errors = ShardWriter(ERRORS, out.path, batch_id, [], out.compression, out.max_rows_per_file)
        shards = [s for a in added for s in a.shards] + [s for f in failures for s in errors.add(f).shards]
        shards += writer.flush_all() + errors.flush_all()
        winners = [a.key for a in added]
        signatures = dict(a.signature for a in added if a.signature is not None)
        stories = run_stories(batch_id, winners, out.state, out.stories, signatures) if signatures else None
        summary = {"mode": "stream", "counts": {"Tagged": len(articles)}}
        manifest = commit_run(out.path, out.state, batch_id, shards, winners, losers, summary, out.compression,
                              stories=stories)
        self.known.stored(winners, retry_urls)
        progress.add("written", manifest["written"]["articles"])
        progress.add("errors", manifest["written"]["errors"])
        LOGGER.warning("batch %s: %d articles written, %d error rows",
                       batch_id, manifest["written"]["articles"], manifest["written"]["errors"])
        return manifest
