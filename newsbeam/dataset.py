"""An output directory as Arrow datasets, wherever it lives (local disk, ``s3://``, ``gs://``).

DuckDB, Polars and pandas read local output directly (see the README's recipes). On an
object store, DuckDB needs its ``httpfs`` extension, which it downloads at first use;
where that is not possible (no internet, locked-down workers) these datasets read the
same files through Arrow's own S3/GCS clients, and DuckDB queries them in place:

    from newsbeam.dataset import open_dataset
    articles = open_dataset("s3://bucket/news", "articles")
    duckdb.sql("SELECT event_type, count(*) FROM articles GROUP BY ALL")

Only committed files are read, so a reader never sees half a run or a compaction's old
and new files together: a ``part-<run id>-*.parquet`` file under ``articles/`` or
``errors/`` counts once ``_runs/<run id>.json`` exists (each commit writes it after
moving its files in), and not once a committed compaction lists it as ``removed``
(compaction deletes the old files after writing its manifest). ``committed_paths`` gives
the same list to readers of their own, such as ``duckdb.read_parquet([...])``.
"""

from __future__ import annotations

import json
import posixpath

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from newsbeam import storage
from newsbeam.layout import ARTICLES, ERRORS, RUNS, STORIES, TMP_DIR, run_of
from newsbeam.records import ARTICLE_SCHEMA, DERIVED_PARTITIONS, ERROR_SCHEMA
from newsbeam.stories import STORY_SCHEMA

# Hive partition values are text in the path; these are given the types DuckDB's own
# hive-partition detection gives them, so a query reads the same on every store.
_PARTITION_TYPES = {"published_year": pa.int64()}
for _name, (_src, _fmt) in DERIVED_PARTITIONS.items():
    if _fmt == "%Y-%m-%d":
        _PARTITION_TYPES[_name] = pa.date32()


def committed_view(output: str) -> tuple[set[str], set[str]] | None:
    """(ids of committed runs, output-relative paths that committed compactions removed), or
    None for Parquet that newsbeam did not write (no ``_runs/`` and no ``_tmp/``): read whole.

    One listing of ``_runs/``; only compaction manifests (rare) are read. Through Arrow's
    filesystems, like the data, so a reader needs no Beam options.
    """
    fs, root = storage.arrow_filesystem(output)

    def listing(sub: str):
        selector = pafs.FileSelector(posixpath.join(root, sub), recursive=False, allow_not_found=True)
        return [i for i in fs.get_file_info(selector) if i.type != pafs.FileType.NotFound]

    manifests = [i.path for i in listing(RUNS) if i.path.endswith(".json")]
    if not manifests and not listing(TMP_DIR):
        return None
    runs = {posixpath.basename(p)[: -len(".json")] for p in manifests}
    removed: set[str] = set()
    for path in manifests:
        if posixpath.basename(path).startswith("compact-"):
            with fs.open_input_stream(path) as fh:
                removed.update(json.loads(fh.read()).get("removed", []))
    return runs, removed


def committed_files(output: str, kind: str) -> tuple[pafs.FileSystem, str, list[str]]:
    """The filesystem, the root of ``kind`` and its committed Parquet files."""
    fs, root = storage.arrow_filesystem(storage.join(output, kind))
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    view = committed_view(output)
    files = sorted(
        i.path for i in infos
        if i.type == pafs.FileType.File and i.path.endswith(".parquet") and (
            view is None
            or (run_of(posixpath.basename(i.path)) in view[0] and f"{kind}/{posixpath.relpath(i.path, root)}" not in view[1])
        )
    )
    return fs, root, files


def committed_paths(output: str, kind: str = ARTICLES) -> list[str]:
    """Committed data files of ``kind`` as paths or URIs a reader can open (local paths stay local)."""
    _fs, root, files = committed_files(output, kind)
    base = storage.join(output, kind)
    return [storage.join(base, posixpath.relpath(f, root)) for f in files]


def unreadable_reason(fs: pafs.FileSystem, path: str) -> str | None:
    """Why a Parquet file cannot be read (its footer), or None. One rule for every reader
    (``connect``, ``report``, ``compact``): such a file is skipped, named once, counted."""
    import pyarrow.parquet as pq

    try:
        with fs.open_input_file(path) as fh:
            pq.read_metadata(fh)
    except (OSError, pa.ArrowException, ValueError) as exc:
        return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
    return None


def open_dataset(output: str, kind: str = ARTICLES, unreadable: list | None = None) -> ds.Dataset | None:
    """``articles``, ``errors`` or ``stories`` of an output as one dataset (None when there
    is no file). A committed file that cannot be read is left out and, when ``unreadable``
    is given, appended to it as ``(path, reason)``."""
    fs, root, files = committed_files(output, kind)
    kept = []
    for path in files:
        reason = unreadable_reason(fs, path)
        if reason is None:
            kept.append(path)
        elif unreadable is not None:
            unreadable.append((path, reason))
    files = kept
    if not files:
        return None
    keys = [part.split("=", 1)[0] for part in posixpath.relpath(posixpath.dirname(files[0]), root).split("/") if "=" in part]
    partition_schema = pa.schema([(k, _PARTITION_TYPES.get(k, pa.string())) for k in keys])
    partitioning = ds.partitioning(partition_schema, flavor="hive") if keys else None
    # The current schema, so that files written before a column was added read it as null
    # (a dataset otherwise takes its schema from the first file).
    current = {ARTICLES: ARTICLE_SCHEMA, ERRORS: ERROR_SCHEMA, STORIES: STORY_SCHEMA}.get(kind)
    schema = None
    if current is not None:
        fields = [f for f in current if f.name not in keys]
        schema = pa.schema(fields + list(partition_schema), metadata=current.metadata)
    return ds.dataset(files, schema=schema, filesystem=fs, format="parquet", partitioning=partitioning,
                      partition_base_dir=root)
