"""File access through Beam's FileSystems, so every path may be local, ``gs://`` or ``s3://``.

Writes are atomic: the bytes go to a temporary name first and are then renamed into
place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import logging
import os
import uuid

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

LOGGER = logging.getLogger(__name__)

TMP_DIR = "_tmp"


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
    """Write ``data`` to ``path`` via a temporary sibling and a rename."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
    with create(tmp) as fh:
        fh.write(data)
    rename(tmp, path)


def write_json_atomic(path: str, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str).encode("utf-8"))


def read_json(path: str):
    return json.loads(read_bytes(path).decode("utf-8"))


def rename(src: str, dst: str) -> None:
    """Move ``src`` to ``dst``, replacing it; atomic on local disk."""
    if is_local(src) and is_local(dst):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(src, dst)
        return
    if FileSystems.exists(dst):
        FileSystems.delete([dst])
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


def list_files(pattern: str) -> list[str]:
    """Paths matching a glob (``**`` crosses directories); empty when nothing matches."""
    try:
        results = FileSystems.match([pattern])
    except Exception:  # noqa: BLE001 - Beam raises BeamIOError for "no match" on some stores
        return []
    return sorted(m.path for r in results for m in r.metadata_list)
