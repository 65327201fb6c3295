"""Stop requests that arrive while `newsbeam stream` is still starting.

Installed by the CLI before anything heavy is imported (Beam takes a second or two): a
SIGINT or SIGTERM then is recorded instead of killing the process by the signal, and the
stream stops before its first poll (``newsbeam.pipelines.streaming.run_stream``).
"""

from __future__ import annotations

import signal

EARLY_STOP: list[int] = []


def catch_early_stop() -> None:
    """Record a SIGINT/SIGTERM that arrives before the stream is running."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: EARLY_STOP.append(signum))
