"""``newsbeam compact``: merge the small files of each partition without changing a row.

Cron and streaming runs leave many small Parquet files per partition; readers pay per
file. Compaction rewrites each partition that has several files as one file (or a few,
``target_rows`` each), through the same journaled commit as a run: the new files are
written under ``_tmp/``, the journal lists the moves and the files they replace, then the
new files are renamed in and the old ones deleted. A crash at any point is finished by
the next run or compaction. Run it with the output's lock held (the CLI takes it), so no
run writes meanwhile. Readers that follow the manifests (``newsbeam.dataset``, the
report) switch from the old files to the new ones at the manifest's write; a reader that
only lists the directory could see both between the new files' renames and the old
ones' deletion (milliseconds per partition, or until the next job when a crash falls
between them).
"""

from __future__ import annotations

import collections
import logging
import os
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

from newsbeam import storage
from newsbeam.commit import finish_commit
from newsbeam.layout import ARTICLES, ERRORS, STORIES, journal_path, shard_name, tmp_root
from newsbeam.records import utcnow
from newsbeam.storage import write_table

LOGGER = logging.getLogger(__name__)

DEFAULT_TARGET_ROWS = 500_000


def partitions(output: str) -> dict[str, list[str]]:
    """Parquet files of ``articles/``, ``errors/`` and ``stories/`` grouped by their directory."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for kind in (ARTICLES, ERRORS, STORIES):
        for path in storage.list_files(storage.join(output, kind, "**", "*.parquet")) + storage.list_files(
            storage.join(output, kind, "*.parquet")
        ):
            groups[path.rsplit("/", 1)[0]].append(path)
    return {d: sorted(set(files)) for d, files in sorted(groups.items())}


def read_all(files: list[str]) -> tuple[list[pa.Table], tuple[str, str] | None]:
    """Every file's table, or the first unreadable file and why (truncated, not Parquet)."""
    tables = []
    for path in files:
        try:
            with storage.open_read(path) as fh:
                tables.append(pq.read_table(fh))
        except (OSError, pa.ArrowException) as exc:
            return [], (path, str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
    return tables, None


def compact(output: str, min_files: int = 2, target_rows: int = DEFAULT_TARGET_ROWS, compression: str = "zstd") -> dict:
    """Compact every partition with at least ``min_files`` files; returns the manifest."""
    compact_id = f"compact-{uuid.uuid4().hex[:12]}"
    run_tmp = tmp_root(output, compact_id)
    moves, deletes, done, skipped = [], [], [], []
    for directory, files in partitions(output).items():
        if len(files) < min_files:
            continue
        tables, bad = read_all(files)
        relative = os.path.relpath(directory, output) if storage.is_local(output) else directory[len(output.rstrip("/")) + 1 :]
        if bad:
            # A partition with a file that cannot be read is left exactly as it is: its
            # rows cannot be carried over, and deleting the file would lose them for good.
            path, reason = bad
            LOGGER.info("leaving partition %s as it is: %s is unreadable (%s)", relative, path, reason)
            skipped.append({"partition": relative, "file": path, "reason": reason})
            continue
        table = pa.concat_tables(tables, promote_options="default")
        written = []
        for n, start in enumerate(range(0, max(1, table.num_rows), target_rows)):
            name = shard_name(compact_id, n)
            temp = storage.join(run_tmp, relative, name)
            write_table(temp, table.slice(start, target_rows), compression)
            written.append(storage.join(directory, name))
            moves.append((temp, storage.join(directory, name)))
        deletes += files
        done.append({"partition": relative, "files_before": len(files), "files_after": len(written), "rows": table.num_rows})
    base = output.rstrip("/")
    manifest = {
        "run_id": compact_id,
        "kind": "compaction",
        "committed_at": utcnow().isoformat(),
        # Relative to the output: what readers that follow the manifests add and drop.
        "files": sorted(dst[len(base) + 1 :] for _src, dst in moves),
        "removed": sorted(path[len(base) + 1 :] for path in deletes),
        "partitions": done,
        "files_before": sum(d["files_before"] for d in done),
        "files_after": sum(d["files_after"] for d in done),
        "rows": sum(d["rows"] for d in done),
        "skipped": skipped,
    }
    if not done:
        return manifest
    journal = {"run_id": compact_id, "output": output, "state": None, "moves": moves, "deletes": deletes, "manifest": manifest}
    storage.write_json_atomic(journal_path(output, compact_id), journal)
    finish_commit(journal)
    return manifest
