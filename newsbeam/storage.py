"""File access through Beam's FileSystems, so every path may be local, ``gs://`` or ``s3://``.

Writes are atomic. On local disk the bytes go to a temporary name first and are then
renamed into place; an object store publishes an object only once its upload completes,
so there the object is written directly (a copy-and-delete "rename" would cost two more
requests and be no more atomic). Object-store options (``--s3_endpoint_url``, credentials,
region) are Beam's pipeline options: ``configure`` hands them to FileSystems before
anything outside a pipeline touches storage; workers get them with the pipeline.
"""

from __future__ import annotations

import json
import logging
import os
import uuid

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

LOGGER = logging.getLogger(__name__)



_OPTIONS = None


def configure(options) -> None:
    """Give Beam's FileSystems the object-store options (a ``PipelineOptions``)."""
    global _OPTIONS
    _OPTIONS = options
    FileSystems.set_options(options)
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        _anonymous_gcs()


def _anonymous_gcs() -> None:
    """Against a GCS emulator, skip Beam's search for Google credentials.

    Google's client talks to an emulator (``STORAGE_EMULATOR_HOST``) anonymously, but
    Beam first looks for application-default credentials and, finding none, retries for
    about 20 seconds per process. Marking its credential cache as filled with "none"
    (anonymous, what it settles on anyway) removes the wait. This uses a private
    attribute of Beam: if it changes, the only effect is the wait coming back.
    """
    try:
        from apache_beam.internal.gcp import auth
    except ImportError:  # Beam without its gcp extra: no gs:// at all
        return
    credentials = getattr(auth, "_Credentials", None)
    if credentials is not None:
        credentials._credentials = None
        credentials._credentials_init = True


def options():
    """The options given to ``configure`` (Beam's defaults if none were)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    return _OPTIONS or PipelineOptions([])


def arrow_filesystem(uri: str):
    """``(pyarrow filesystem, path)`` for a local path or an ``s3://``/``gs://`` URI.

    Readers (the report, ``newsbeam.dataset``) use Arrow's own S3 and GCS clients, set
    up from the same options Beam's writers got: endpoint, credentials and region (for
    GCS, the ``STORAGE_EMULATOR_HOST`` Google's client library honours).
    Unset options fall back on the usual chains (``AWS_*`` variables, ``~/.aws``,
    instance roles; Google application-default credentials).
    """
    import pyarrow.fs as pafs

    if is_local(uri):
        return pafs.LocalFileSystem(), os.path.abspath(uri)
    scheme, path = uri.split("://", 1)
    if scheme == "s3":
        from apache_beam.options.pipeline_options import S3Options

        s3 = options().view_as(S3Options)
        kwargs = {
            "access_key": s3.s3_access_key_id,
            "secret_key": s3.s3_secret_access_key,
            "session_token": s3.s3_session_token,
            "region": s3.s3_region_name or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        }
        endpoint = s3.s3_endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            kwargs.update(_endpoint(endpoint, "https"))
        if s3.s3_disable_ssl:
            kwargs["scheme"] = "http"
        return pafs.S3FileSystem(**{k: v for k, v in kwargs.items() if v is not None}), path
    if scheme == "gs":
        import datetime as dt

        # Arrow retries a failing GCS request for 15 minutes by default: a report on an
        # unreachable bucket would look hung.
        kwargs = {"retry_time_limit": dt.timedelta(seconds=60)}
        emulator = os.environ.get("STORAGE_EMULATOR_HOST")  # honoured by Beam's GCS client too
        if emulator:
            kwargs.update(_endpoint(emulator, "http"), anonymous=True)
        return pafs.GcsFileSystem(**kwargs), path
    raise ValueError(f"no Arrow filesystem for {uri}")


def _endpoint(url: str, default_scheme: str) -> dict:
    """Arrow's ``endpoint_override``/``scheme`` for an endpoint URL (the scheme may be left out)."""
    scheme, _, host = url.rpartition("://")
    return {"endpoint_override": host.rstrip("/"), "scheme": scheme or default_scheme}


def join(base: str, *parts: str) -> str:
    return FileSystems.join(base, *parts)


def is_local(path: str) -> bool:
    return "://" not in path


def absolute(path: str) -> str:
    """Make a local path absolute (workers may run in another directory); URIs as they are."""
    return os.path.abspath(path) if is_local(path) else path


def exists(path: str) -> bool:
    return FileSystems.exists(path)


def mkdirs(path: str) -> None:
    """Create a directory if the filesystem has directories (object stores do not)."""
    if is_local(path):
        os.makedirs(path, exist_ok=True)


def open_read(path: str):
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def read_bytes(path: str, limit: int | None = None) -> bytes:
    with open_read(path) as fh:
        data = fh.read() if limit is None else fh.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise ValueError(f"file exceeds the size limit of {limit} bytes")
    return data


def create(path: str):
    """Open a new file for writing (parent directories are created on local disk)."""
    mkdirs(os.path.dirname(path)) if is_local(path) else None
    return FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one."""
    if not is_local(path):
        with create(path) as fh:  # published whole when the upload completes
            fh.write(data)
        return
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
    with create(tmp) as fh:
        fh.write(data)
    rename(tmp, path)


def write_json_atomic(path: str, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str).encode("utf-8"))


def read_json(path: str):
    return json.loads(read_bytes(path).decode("utf-8"))
def rename(src: str, dst: str) -> None:
    """Move ``src`` to ``dst``, replacing it.

    Atomic on local disk. Object stores have no rename: Beam copies, then deletes the
    source. The copy replaces ``dst`` in one step, so ``dst`` is never missing; a crash
    between the two leaves both, and moving again (the commit journal's roll-forward)
    simply copies again.
    """
    if is_local(src) and is_local(dst):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(src, dst)
        return
    FileSystems.rename([src], [dst])


def delete(paths: list[str]) -> None:
    existing = [p for p in paths if FileSystems.exists(p)]
    if existing:
        FileSystems.delete(existing)


def delete_tree(path: str) -> None:
    """Remove a directory (local) or every object under a prefix (object stores)."""
    if is_local(path):
        import shutil

        shutil.rmtree(path, ignore_errors=True)
        return
    files = list_files(path.rstrip("/") + "/**")
    if files:
        FileSystems.delete(files)


def check_writable(output: str) -> str | None:
    """Why ``output`` cannot be written (one line), or None: a probe file written and removed.

    Run before a job starts, so a wrong bucket, endpoint or permission is one clear
    message rather than a worker's traceback after the pages were fetched.
    """
    probe = join(output, f".newsbeam-probe-{uuid.uuid4().hex[:8]}")
    # Beam's S3 writer logs each failed upload with a traceback on the root logger; the
    # one-line answer below says it all.
    logging.disable(logging.ERROR)
    try:
        if is_local(output):
            os.makedirs(output, exist_ok=True)
        with create(probe) as fh:
            fh.write(b"probe")  # not empty: Beam's S3 writer cannot complete an empty upload
        FileSystems.delete([probe])
    except Exception as exc:  # noqa: BLE001 - OSError locally, the store's client errors remotely
        return f"output {output} is not writable: {_reason(exc)}"
    finally:
        logging.disable(logging.NOTSET)
    return None


def _reason(exc: BaseException) -> str:
    """The first line of an error's own message (Beam's store errors are (message, code))."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    first = first.strip().splitlines()[0][:300] if first.strip() else type(exc).__name__
    # Google's client puts the HTTP status in its own argument ("Request failed with status code", 404, ...)
    if len(exc.args) > 1 and isinstance(exc.args[1], int) and str(exc.args[1]) not in first:
        first = f"{first} {exc.args[1]}"
    return first


def list_files(pattern: str) -> list[str]:
    """Paths matching a glob (``**`` crosses directories); empty when nothing matches.

    A store that cannot be listed (unreachable, no permission) raises: taking that for
    "no files" would make a run forget what it already stored.
    """
    results = FileSystems.match([pattern])
    return sorted(m.path for r in results for m in r.metadata_list)


def match(pattern: str) -> list[tuple[str, int | None]]:
    """``(path, size in bytes)`` of each file a glob matches, in the store's order; raises
    when the store cannot be listed."""
    return [(m.path, m.size_in_bytes) for r in FileSystems.match([pattern]) for m in r.metadata_list]


def parquet_options(compression: str) -> dict:
    """The writer options of every Parquet file newsbeam writes: statistics let readers
    prune by date and id."""
    return {"compression": None if compression == "none" else compression, "write_statistics": True}


def write_table(path: str, table, compression: str) -> str:
    """Write a pyarrow Table as one Parquet file at ``path`` (local or a Beam filesystem URI); returns ``path``."""
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    # A modest row group, so that readers can skip most of a file by its statistics.
    pq.write_table(table, buf, row_group_size=10_000, **parquet_options(compression))
    with create(path) as fh:
        fh.write(buf.getvalue())
    return path
