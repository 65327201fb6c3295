"""One writer per output: an advisory lock that dies with its process.

``flock`` is released by the kernel when the holder exits, however it exits (SIGKILL
included), so a lock left by a dead run is simply taken over; the file keeps the holder's
pid, host and run id for the message the next run prints. Object-store outputs have no
such primitive: their lock lives on the launching machine, which protects overlapping
cron runs of one host (the case cron creates), not launches from several machines.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import socket
import time
from pathlib import Path

from newsbeam import storage

LOGGER = logging.getLogger(__name__)

LOCK_NAME = ".newsbeam.lock"


def lock_path(output: str) -> str:
    if storage.is_local(output):
        return os.path.join(output, LOCK_NAME)
    digest = hashlib.sha256(output.encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "newsbeam" / "locks"
    base.mkdir(parents=True, exist_ok=True)
    return str(base / f"{digest}.lock")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputLock:
    """``with OutputLock(out, run_id) as lock: if lock.acquired: ...``"""

    def __init__(self, output: str, run_id: str, wait: float | None = None):
        self.path = lock_path(output)
        self.run_id = run_id
        self.wait = wait  # None: do not wait; seconds otherwise (0 = forever)
        self.acquired = False
        self.holder: dict = {}
        self.took_over: dict | None = None
        self._fd: int | None = None

    def _read_holder(self) -> dict:
        try:
            with open(self.path, encoding="utf-8") as fh:
                return json.loads(fh.read() or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> bool:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if not self.wait else time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                self.holder = self._read_holder()
                if self.wait is None or (deadline is not None and time.monotonic() > deadline):
                    os.close(self._fd)
                    self._fd = None
                    return False
                time.sleep(1.0)
        previous = self._read_holder()
        if previous.get("pid") and previous.get("host") == socket.gethostname() and not _alive(int(previous["pid"])):
            self.took_over = previous
            LOGGER.warning("taking over the lock left by run %s (pid %s, no longer running)", previous.get("run_id"), previous["pid"])
        info = {"pid": os.getpid(), "host": socket.gethostname(), "run_id": self.run_id, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(info).encode(), 0)
        self.acquired = True
        return True

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
        self.acquired = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
