"""Every path in an output directory, decided in one place.

An output holds the datasets (``articles/``, ``errors/``, ``stories/``, Hive-partitioned
Parquet), the run manifests (``_runs/<run id>.json``, the commit points), the runs in
progress (``_tmp/<run id>/``, with the commit journal), the run state (``_state/``, unless
the config puts it elsewhere) and the lock (``.newsbeam.lock``). The writer, the commit,
the stream, compaction, the report and the readers take their paths from here.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid

import pyarrow as pa

from newsbeam import storage
from newsbeam.records import ARTICLE_SCHEMA, COLUMN_PARTITIONS, DERIVED_PARTITIONS, ERROR_SCHEMA

# The datasets.
ARTICLES = "articles"
ERRORS = "errors"
STORIES = "stories"  # also the state's directory of open stories
# Bookkeeping beside them.
RUNS = "_runs"
TMP_DIR = "_tmp"
STATE_DIR = "_state"
JOURNAL = "_commit.json"
LOCK_NAME = ".newsbeam.lock"
# In the state directory.
SEEN = "seen"
FEEDS_STATE = "feeds.json"


def new_run_id(now: dt.datetime | None = None) -> str:
    """A run's id, which names its files and manifest: sortable by time, unique across
    concurrent launches: ``20261122T003100Z-1a2b3c``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def tmp_root(output: str, run_id: str) -> str:
    """Where a run writes before its commit: invisible to readers."""
    return storage.join(output, TMP_DIR, run_id)


def journal_path(output: str, run_id: str) -> str:
    return storage.join(tmp_root(output, run_id), JOURNAL)


def manifest_path(output: str, run_id: str) -> str:
    """The run's manifest: the commit point for readers that follow manifests."""
    return storage.join(output, RUNS, f"{run_id}.json")


def default_state(output: str) -> str:
    return output.rstrip("/") + "/" + STATE_DIR


def shard_name(run_id: str, number: int | None = None) -> str:
    """A data file's name: the run that wrote it (readers check its manifest), then a
    number, or a random suffix where several writers share a directory."""
    suffix = f"{number:04d}" if number is not None else uuid.uuid4().hex[:12]
    return f"part-{run_id}-{suffix}.parquet"


def run_of(file_name: str) -> str | None:
    """The run id in a data file's name: ``part-<run id>-<shard>.parquet``."""
    if not (file_name.startswith("part-") and file_name.endswith(".parquet")):
        return None
    stem = file_name[len("part-") : -len(".parquet")]
    return stem.rsplit("-", 1)[0] if "-" in stem else None


UNKNOWN_PARTITION = "unknown"
# Partition values stay short and portable: word characters (any script), dot, dash.
_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)
MAX_PARTITION_VALUE = 100

def sanitize_partition_value(value: object) -> str:
    """A partition directory name that cannot escape its parent or confuse a reader.

    Separators, ``..``, ``=`` and control characters become ``_``; empty becomes
    ``unknown``.
    """
    text = "" if value is None else str(value)
    text = _UNSAFE.sub("_", text).strip("._")
    text = re.sub(r"_+", "_", text)[:MAX_PARTITION_VALUE].strip("._")
    return text or UNKNOWN_PARTITION


def format_partition_date(ts: dt.datetime, fmt: str) -> str:
    """A date partition value, always zero-padded ("0999-01-01", never "999-01-01"): strftime's
    %Y does not pad years below 1000 on glibc, and readers then mix strings with dates."""
    return fmt.replace("%Y", f"{ts.year:04d}").replace("%m", f"{ts.month:02d}").replace("%d", f"{ts.day:02d}")


def partition_values(row: dict, partition_by: list[str]) -> list[tuple[str, str]]:
    """``[(column, value), ...]`` for a row; dates fall back on ``fetched_at`` when unknown."""
    out = []
    for col in partition_by:
        if col in DERIVED_PARTITIONS:
            src, fmt = DERIVED_PARTITIONS[col]
            ts = row.get(src) or row.get("fetched_at")
            value = format_partition_date(ts.astimezone(dt.timezone.utc), fmt) if ts else None
        else:
            value = row.get(col)
        out.append((col, sanitize_partition_value(value)))
    return out


def file_schema(kind: str, partition_by: list[str]) -> pa.Schema:
    """The schema of the files of ``kind``: partition columns live in the path, not the file."""
    if kind == ERRORS:
        return ERROR_SCHEMA
    schema = ARTICLE_SCHEMA
    for col in partition_by:
        if col in COLUMN_PARTITIONS:
            schema = schema.remove(schema.get_field_index(col))
    return schema


def partition_dir(kind: str, row: dict, partition_by: list[str]) -> str:
    """The directory of a row under the output root: ``articles/published_date=...``."""
    return "/".join([kind] + [f"{c}={v}" for c, v in partition_values(row, partition_by)])



