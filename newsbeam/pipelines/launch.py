"""Launching a batch run, shared by the ``newsbeam run`` command and ``newsbeam.run``.

``check_runnable`` refuses a config with nothing to read or an output that cannot be
written; ``run_batch`` takes the output's lock, finishes or drops interrupted runs, runs
the batch pipeline and returns its manifest. Each caller says things its own way (the CLI
on stderr, the Python API through logging and exceptions).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass

from newsbeam import layout, storage
from newsbeam.pipelines.config import ConfigError, ResolvedConfig

LOGGER = logging.getLogger(__name__)


class OutputBusy(Exception):
    """Another run holds the output's lock (``holder``: its run id, pid, host, since)."""

    def __init__(self, output: str, holder: dict, wait: float | None, wait_flag: str = "--wait"):
        self.output, self.holder, self.wait = output, holder, wait
        h = holder
        super().__init__(f"another run ({h.get('run_id', '?')}, pid {h.get('pid', '?')} on {h.get('host', '?')}, "
                         f"since {h.get('since', '?')}) is writing to {output}; not starting ({waited(wait, wait_flag)})")


class RunFailed(Exception):
    """A run that could not finish; the message is one line (see ``describe_failure``)."""


class AllFeedsFailed(RunFailed):
    """The run committed, but every feed it polled failed: it could not do its job (the
    CLI exits 1 on the same rule). ``summary`` is what it stored (the failures' error rows)."""

    def __init__(self, message: str, summary=None):
        super().__init__(message)
        self.summary = summary


def every_feed_failed(manifest: dict, output: str) -> str | None:
    """The one rule, for the CLI and the API: a run whose every feed failed did not do its
    job, though it committed its error rows. The line that says so, or None."""
    feeds = manifest.get("feeds") or {}
    if feeds and all(f.get("error") for f in feeds.values()):
        return f"every feed failed ({len(feeds)} of {len(feeds)}): see {output}/errors"
    return None


@dataclass(frozen=True)
class BatchResult:
    manifest: dict
    manifest_path: str
    recovered: list[str]
    lease_lost: bool


def waited(wait: float | None, flag: str = "--wait") -> str:
    """How a launcher that found the output locked gave up, for its one line (``flag``: how
    the caller asks to wait: ``--wait`` on the command line, ``wait=`` in the API)."""
    if wait is None:
        return f"{flag} to wait for it"
    return f"waited {wait:g} s for it and gave up"


def check_runnable(cfg: ResolvedConfig) -> str:
    """The absolute output path; ConfigError for nothing to read, RunFailed for an output
    that cannot be written."""
    if not cfg.inputs and not cfg.feeds:
        raise ConfigError("nothing to read: give --input or --feed, or inputs/feeds in the config")
    check_models(cfg)
    output = storage.absolute(cfg.output_path)
    problem = storage.check_writable(output)
    if problem:
        raise RunFailed(problem)
    return output


def check_models(cfg: ResolvedConfig):
    """Load the tag models once before anything starts; ConfigError naming a model file
    that is missing or corrupt. The process's tagger, ready for the local workers."""
    from newsbeam.documents import shared_tagger
    from newsbeam.tagging import ModelFileError
    from newsbeam.tagging.tagger import check_story_weights

    try:
        tagger = shared_tagger(cfg.tag_settings())
        if cfg.stories.enabled:
            check_story_weights()
    except ModelFileError as exc:
        raise ConfigError(str(exc)) from None
    return tagger


def run_batch(cfg: ResolvedConfig, options, workers: int = 1, wait: float | None = None,
              say: Callable[[str], None] = LOGGER.info, wait_flag: str = "--wait") -> BatchResult:
    """Lock the output, recover, run the batch pipeline; the committed run's manifest.

    Raises OutputBusy when another run holds the lock (after ``wait`` seconds, if given),
    RunFailed when the run cannot finish (one line, from ``describe_failure``).
    """
    from newsbeam.commit import recover
    from newsbeam.locking import OutputLock
    from newsbeam.pipelines.batch import build_pipeline
    from newsbeam.pipelines.runner import new_pipeline

    output = storage.absolute(cfg.output_path)
    run_id = layout.new_run_id()
    lock = OutputLock(output, run_id, wait=wait)
    if not lock.acquire():
        raise OutputBusy(output, lock.holder, wait, wait_flag)
    path = layout.manifest_path(output, run_id)
    try:
        recovered = recover(output)
        for old in recovered:
            say(f"finished the commit of interrupted run {old}")
        say(f"run {run_id} -> {output}")
        pipeline = new_pipeline(options)
        build_pipeline(pipeline, cfg, run_id, workers)
        state = pipeline.run().wait_until_finish()
        if str(state) not in ("DONE", "PipelineState.DONE"):
            raise RunFailed(f"pipeline ended in state {state}")
        try:
            manifest = storage.read_json(path)
        except Exception as exc:  # noqa: BLE001 - the pipeline finished but did not commit
            raise RunFailed(f"run finished without a manifest at {path}: {exc}") from exc
    except RunFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - a run that cannot finish is one line, not a traceback
        LOGGER.info("run %s failed", run_id, exc_info=True)
        raise RunFailed(describe_failure(exc, output)) from exc
    finally:
        lock.release()
    return BatchResult(manifest, path, recovered, lock.lost)


def describe_failure(exc: BaseException, output: str) -> str:
    """One line for a run that could not finish: the cause that matters, not Beam's wrapping.

    A full disk shows up as an OSError deep in a worker, wrapped (as text) in Beam's own
    errors; it is named plainly. Nothing half-written is visible: the next run rolls a
    journaled commit forward or drops the unfinished run's files.
    """
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, OSError) and e.errno == errno.ENOSPC for e in chain) or "No space left on device" in text:
        return (f"no space left on device while writing {output}: free some space and run again "
                "(nothing half-written is visible; the next run finishes or discards this one)")
    last = next((line.strip() for line in reversed(str(chain[-1]).splitlines()) if line.strip()), type(chain[-1]).__name__)
    return f"the run failed: {type(chain[-1]).__name__}: {last[:300]} (-v for the traceback)"


LEASE_LOST = ("the lease on {output} was lost during the run (not renewed for a whole term): another launcher may "
              "have written to it too")
