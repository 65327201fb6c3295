"""One writer per output: an advisory lock that dies with its process.

``flock`` is released by the kernel when the holder exits, however it exits (SIGKILL
included), so a lock left by a dead run is simply taken over; the file keeps the holder's
pid, host and run id for the message the next run prints.

An object store has no flock. For ``s3://`` outputs the lock is also a *lease*: an object
``<output>/.newsbeam.lock`` created with a conditional write (``If-None-Match: *``), so
of two launchers on different machines exactly one gets it. The holder renews it in the
background (``If-Match`` its own version) every third of its term; a lease not renewed
for a whole term (``NEWSBEAM_LEASE_SECONDS``, default 900) belongs to a launcher that
died and is taken over, as is one whose holder is a dead process on this same machine.
Ages are measured on the store's clock (the object's Last-Modified against the response's
Date), so launchers' clocks need not agree. ``gs://`` outputs have the local lock only,
in ``~/.cache/newsbeam/locks``: schedule one launcher per such output.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path

from newsbeam import storage
from newsbeam.layout import LOCK_NAME

LOGGER = logging.getLogger(__name__)



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


LEASE_SECONDS_ENV = "NEWSBEAM_LEASE_SECONDS"
DEFAULT_LEASE_SECONDS = 900.0


def _holder_info(run_id: str) -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _dead_here(holder: dict) -> bool:
    """The holder is a process of this machine that no longer runs."""
    return bool(holder.get("pid")) and holder.get("host") == socket.gethostname() and not _alive(int(holder["pid"]))


# S3 error codes for a conditional request that lost: the object changed, or is gone.
_REFUSED = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey", "404"})


class S3Lease:
    """A lease on an ``s3://`` output, held by conditional writes (see the module doc)."""

    def __init__(self, output: str, info: dict, term: float | None = None):
        from apache_beam.io.aws.clients.s3.boto3_client import Client

        bucket, _, prefix = output[len("s3://"):].partition("/")
        self.bucket, self.key = bucket, f"{prefix.rstrip('/')}/{LOCK_NAME}" if prefix else LOCK_NAME
        # Beam's own S3 client, built from the same options as the pipeline's writers.
        self.client = Client(storage.options()).client
        self.info = info
        self.term = float(term if term is not None else os.environ.get(LEASE_SECONDS_ENV, DEFAULT_LEASE_SECONDS))
        self.etag: str | None = None
        self.holder: dict = {}
        self.took_over: dict | None = None
        self.lost = threading.Event()
        self.on_lost = None  # called from the renewing thread when the lease is lost
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @staticmethod
    def _code(exc: Exception) -> str:
        return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))

    def _put(self, **condition) -> str:
        body = json.dumps(dict(self.info, lease_seconds=self.term)).encode()
        return self.client.put_object(Bucket=self.bucket, Key=self.key, Body=body, ContentType="application/json", **condition)["ETag"]

    def _current(self) -> tuple[dict, str, float] | None:
        """(holder, etag, age in seconds on the store's clock), or None if there is no lease."""
        import email.utils

        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except Exception as exc:  # noqa: BLE001 - botocore's errors are generated classes
            if self._code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        try:
            holder = json.loads(got["Body"].read() or b"{}")
        except ValueError:
            holder = {}
        server_now = email.utils.parsedate_to_datetime(got["ResponseMetadata"]["HTTPHeaders"]["date"])
        age = (server_now - got["LastModified"]).total_seconds()
        return holder, got["ETag"], age

    def try_acquire(self) -> bool:
        for _ in range(3):  # a lease released between our two requests: try again
            try:
                self.etag = self._put(IfNoneMatch="*")
                break
            except Exception as exc:  # noqa: BLE001
                if self._code(exc) not in _REFUSED:
                    raise
            current = self._current()
            if current is None:
                continue
            self.holder, etag, age = current
            if age <= float(self.holder.get("lease_seconds", self.term)) and not _dead_here(self.holder):
                return False
            try:
                self.etag = self._put(IfMatch=etag)
            except Exception as exc:  # noqa: BLE001
                if self._code(exc) in _REFUSED:
                    return False  # another launcher took it over first
                raise
            self.took_over = self.holder
            LOGGER.warning(
                "taking over the lease of run %s (%s on %s), not renewed for %.0f s",
                self.holder.get("run_id"), self.holder.get("pid"), self.holder.get("host"), age,
            )
            break
        else:
            return False
        self._renewer = threading.Thread(target=self._renew, name="newsbeam-lease", daemon=True)
        self._renewer.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self.term / 3):
            try:
                self.etag = self._put(IfMatch=self.etag)
            except Exception as exc:  # noqa: BLE001
                if self._code(exc) in _REFUSED and not self._still_ours():
                    LOGGER.error("lost the lease on s3://%s/%s: another launcher took it over", self.bucket, self.key)
                    self.lost.set()
                    if self.on_lost is not None:
                        self.on_lost()
                    return
                LOGGER.warning("could not renew the lease (will retry): %s", exc)

    def _still_ours(self) -> bool:
        """After a refused renewal: is the lease ours all the same? (A renewal the store
        applied but whose answer was lost leaves us with an old version tag.)"""
        try:
            current = self._current()
        except Exception:  # noqa: BLE001 - cannot tell: treat as lost
            return False
        mine = {k: self.info.get(k) for k in ("pid", "host", "run_id")}
        if current is not None and {k: current[0].get(k) for k in mine} == mine:
            self.etag = current[1]
            return True
        return False

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=30)
        if self.etag and not self.lost.is_set():
            try:
                self._delete_own()
            except Exception as exc:  # noqa: BLE001 - the lease simply expires
                LOGGER.warning("could not delete the lease: %s", exc)
        self.etag = None

    def _delete_own(self) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        except Exception as exc:  # noqa: BLE001
            if self._code(exc) in _REFUSED:
                return  # not ours any more
            # A store without conditional deletes: check, then delete.
            current = self._current()
            if current is not None and current[1] == self.etag:
                self.client.delete_object(Bucket=self.bucket, Key=self.key)


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
        self._lease_output = output if output.startswith("s3://") else None
        self._lease: S3Lease | None = None
        self._lost = False

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
        if _dead_here(previous):
            self.took_over = previous
            LOGGER.warning("taking over the lock left by run %s (pid %s, no longer running)", previous.get("run_id"), previous["pid"])
        info = _holder_info(self.run_id)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(info).encode(), 0)
        if self._lease_output and not self._acquire_lease(info, deadline):
            self.release()
            return False
        self.acquired = True
        return True

    def _acquire_lease(self, info: dict, deadline: float | None) -> bool:
        self._lease = S3Lease(self._lease_output, info)
        while not self._lease.try_acquire():
            self.holder = self._lease.holder
            if self.wait is None or (deadline is not None and time.monotonic() > deadline):
                self._lease = None
                return False
            time.sleep(min(5.0, max(1.0, self._lease.term / 10)))
        self.took_over = self._lease.took_over or self.took_over
        return True

    def on_lost(self, callback) -> None:
        """Call ``callback`` (from another thread) if the lease is taken over while held."""
        if self._lease is not None:
            self._lease.on_lost = callback

    @property
    def lost(self) -> bool:
        """The lease was taken over while held (it could not be renewed for a whole term)."""
        return self._lost or bool(self._lease and self._lease.lost.is_set())

    def release(self) -> None:
        if self._lease is not None:
            self._lost = self._lease.lost.is_set()
            self._lease.release()
            self._lease = None
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
