"""Progress of a long run: live on a terminal, plain lines under cron.

The steps count what they do in this process (``add``): feeds polled, pages fetched,
articles extracted and tagged, rows written, error rows. A reporter thread shows the
counts every ``interval`` seconds: on a terminal as one live tqdm line (its rate and
elapsed time included), elsewhere (cron, CI, a pipe) as a plain log line, so a log gets
a steady heartbeat instead of a redrawn bar. A run on a remote runner counts nothing
here: its steps run on the runner's workers, whose own UI shows progress.

Counting is a lock and an integer addition per element: far below 1 % of the work of a
page (benchmarks/progress_bench.py measures it).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

# What is shown, in order: counter name -> label.
SHOWN = {"feeds": "feeds", "pages": "pages", "articles": "articles", "written": "written", "errors": "errors"}

_COUNTS: dict[str, int] = {}
_LOCK = threading.Lock()
# Counting is on only while a Reporter shows the counts (``--progress off`` counts nothing).
_ACTIVE = [False]
# The live bar on screen, if any: a message printed while it is drawn goes above it.
_BAR: list = [None]


def echo(message: str) -> None:
    """Print a line on stderr; while a live bar is drawn, above it (never glued to it)."""
    bar = _BAR[0]
    if bar is not None:
        bar.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr, flush=True)


def add(name: str, n: int = 1) -> None:
    """Count ``n`` more of ``name`` in this process (while a Reporter is showing them)."""
    if not _ACTIVE[0]:
        return
    with _LOCK:
        _COUNTS[name] = _COUNTS.get(name, 0) + n


def settle(counts: dict[str, int]) -> None:
    """Replace counts with the committed figures (the final line says what the run
    stored: a duplicate dropped at the commit was counted as written before it)."""
    if not _ACTIVE[0]:
        return
    with _LOCK:
        _COUNTS.update(counts)


def snapshot() -> dict[str, int]:
    with _LOCK:
        return dict(_COUNTS)


def reset() -> None:
    with _LOCK:
        _COUNTS.clear()


def describe(counts: dict[str, int], skip: tuple[str, ...] = ()) -> str:
    return ", ".join(f"{counts.get(name, 0)} {label}" for name, label in SHOWN.items() if name not in skip)


class Reporter:
    """Show the counts until stopped: ``mode`` is ``bar`` (tqdm, for a terminal), ``lines``
    (one line per ``interval``) or ``off``; ``auto`` picks bar on a terminal, else lines."""

    def __init__(self, mode: str = "auto", interval: float = 30.0, stream: TextIO | None = None, what: str = "run"):
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if _is_terminal(self.stream) else "lines"
        self.mode, self.what = mode, what
        self.interval = min(interval, 0.5) if mode == "bar" else interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar = None
        self._lines = 0
        self._started = time.monotonic()

    def __enter__(self) -> Reporter:
        reset()
        _ACTIVE[0] = self.mode != "off"
        if self.mode != "off":
            if self.mode == "bar":
                from tqdm import tqdm
                from tqdm.contrib.logging import logging_redirect_tqdm

                # Log lines (a stream's batches, warnings) print above the bar, not through it.
                self._redirect = logging_redirect_tqdm()
                self._redirect.__enter__()

                # A terminal that reports no size (0 x 0: `script`, some `docker exec -t`) would
                # hide tqdm's line altogether: give it a usual one.
                sized = _terminal_size(self.stream)
                self._bar = tqdm(file=self.stream, unit=" articles", leave=False, dynamic_ncols=sized is None,
                                 ncols=None if sized is None else sized[0], nrows=None if sized is None else sized[1],
                                 bar_format="{desc}: {n_fmt} articles{postfix} | {rate_fmt} | {elapsed}")
                self._bar.set_description_str(f"newsbeam {self.what}")
                _BAR[0] = self._bar
            self._thread = threading.Thread(target=self._run, name="newsbeam-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        _ACTIVE[0] = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        # The final counts: the bar's last state; in a log that has progress lines, its last
        # one. Not for a run that never got going (another holds the output) or failed.
        if exc_type is None and (self._bar is not None or self._lines):
            self._show(final=True)
        if self._bar is not None:
            _BAR[0] = None
            self._bar.close()
            self._redirect.__exit__(None, None, None)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._show()

    def _show(self, final: bool = False) -> None:
        counts = snapshot()
        if self._bar is not None:
            self._bar.set_postfix_str(describe(counts, skip=("articles",)), refresh=False)
            self._bar.update(counts.get("articles", 0) - self._bar.n)
            return
        elapsed = time.monotonic() - self._started
        rate = counts.get("articles", 0) / elapsed if elapsed else 0.0
        state = "finished" if final else "in progress"
        self._lines += 1
        print(f"newsbeam: {self.what} {state}, {elapsed:.0f} s: {describe(counts)} ({rate:.1f} articles/s)",
              file=self.stream, flush=True)


def _terminal_size(stream: TextIO) -> tuple[int, int] | None:
    """None for a terminal that reports its size, else a usual (columns, rows)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return (100, 24)
    return None if size.columns and size.lines else (100, 24)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
