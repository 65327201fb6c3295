"""One document's work, extraction then tagging, without Beam.

The transforms call these functions one step at a time; the local worker pool
(``newsbeam.transforms.pool``) calls ``extract_and_tag`` in processes that import this
module only, not Beam (about a second less to start each).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time

from newsbeam.extraction import ExtractionError, Extractor
from newsbeam.records import STAGE_EXTRACT, STAGE_TAG, Article, Failure, RawDocument, TaggedArticle
from newsbeam.settings import ExtractSettings, TagSettings
from newsbeam.tagging import Claim, Tagger

LOGGER = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def shared_extractor(settings: ExtractSettings) -> Extractor:
    """One Extractor per process and setting: its language model alone is about 75 MB,
    and a pipeline has an extraction step per source of documents."""
    return Extractor(settings.min_words, settings.max_article_chars)


_TAGGERS: dict[str, Tagger] = {}
_TAGGERS_LOCK = threading.Lock()


def shared_tagger(settings: TagSettings) -> Tagger:
    """One Tagger per process and configuration, however many tagging steps use it."""
    key = settings.key()
    with _TAGGERS_LOCK:
        tagger = _TAGGERS.get(key)
        if tagger is None:
            tagger = _TAGGERS[key] = Tagger(settings.taxonomy, settings.tone_lexicon, [Claim(i, t) for i, t in settings.claims],
                                            tier=settings.model, actors=settings.actors)
    return tagger


def extract(extractor: Extractor, doc: RawDocument) -> Article | Failure:
    """The document's article, or the error row of a page that yields none or breaks the extractor."""
    try:
        return extractor.extract(doc)
    except ExtractionError as exc:
        return Failure(STAGE_EXTRACT, doc.input, exc.error_type, str(exc))
    except Exception as exc:  # noqa: BLE001 - a page that breaks the extractor is an error row
        LOGGER.debug("extraction crashed on %s", doc.input, exc_info=True)
        return Failure(STAGE_EXTRACT, doc.input, type(exc).__name__, str(exc))


def tag_article(tagger: Tagger, article: Article) -> TaggedArticle:
    return TaggedArticle(article, tagger.tag(article.title, article.text, language=article.language).values)


def tag(tagger: Tagger, article: Article) -> TaggedArticle | Failure:
    """The tagged article, or the error row of an article that breaks the tagger."""
    try:
        return tag_article(tagger, article)
    except Exception as exc:  # noqa: BLE001 - an article that breaks a tagger is an error row
        identity = getattr(article, "input", None) or repr(article)[:200]
        return Failure(STAGE_TAG, identity, type(exc).__name__, str(exc))


def extract_then_tag(extractor: Extractor, tagger: Tagger, doc: RawDocument) -> TaggedArticle | Failure:
    """Both steps: the tagged article, or the error row of the step that failed."""
    article = extract(extractor, doc)
    return article if isinstance(article, Failure) else tag(tagger, article)


class WorkerStartError(RuntimeError):
    """A pool worker could not build its extractor or tagger: the run fails, as it would in one process."""


# This process's extractor and tagger, in a worker of the local pool (``start_worker``),
# or why they could not be built.
_WORKER: tuple[Extractor, Tagger] | None = None
_WORKER_ERROR: str | None = None


def start_worker(extract_settings: ExtractSettings, tag_settings: TagSettings, parent: int | None = None) -> None:
    """A pool worker's initializer: its extractor and tagger, built once, and a watch on
    ``parent`` (its pid): a worker ends when the run that started it is gone.

    An error is kept and raised by each task, not here: a failing initializer only
    shows up as a broken pool, which reads like a worker that crashed on a document.
    """
    global _WORKER, _WORKER_ERROR
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="newsbeam-parent-watch", daemon=True).start()
    try:
        _WORKER = (shared_extractor(extract_settings), shared_tagger(tag_settings))
    except Exception as exc:  # noqa: BLE001 - re-raised by every task (see above)
        _WORKER_ERROR = f"{type(exc).__name__}: {exc}"


def _exit_with(parent: int, every: float = 1.0) -> None:
    """Exit once ``parent`` is no longer this process's parent. A run killed outright
    (SIGKILL, the OOM killer, a cron timeout) cannot stop its pool, whose idle workers
    would otherwise wait for work for ever."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(0)


def extract_and_tag(doc: RawDocument) -> TaggedArticle | Failure:
    """Both steps in a pool worker: the tagged article, or the error row of the step that failed."""
    if _WORKER is None:
        raise WorkerStartError(f"a worker process could not load the extractor and tagger: {_WORKER_ERROR}")
    return extract_then_tag(*_WORKER, doc)
