"""The commit protocol: how a run's (or a compaction's) files become the output, crash-safely.

1. Writers put every Parquet file under ``<output>/_tmp/<run id>/`` (invisible).
2. ``commit_run`` drops the rows deduplication rejected, stamps each kept row's
   ``story_id`` (one rewrite per article file; ``newsbeam.stories``), writes the run's
   ``stories/`` file and new open-story state under ``_tmp/``, and writes a journal,
   ``_tmp/<run id>/_commit.json``, holding everything the rest needs: from then on a
   crash is finished by the next job (roll forward), never undone.
3. ``finish_commit`` renames the files into ``articles/`` and ``errors/``, writes the
   manifest ``_runs/<run id>.json`` (the commit point for readers that follow manifests,
   see ``newsbeam.dataset``), deletes the files a compaction replaced, then saves the
   state (``newsbeam.state``; the story state replaces older snapshots) and removes
   ``_tmp/<run id>/``.
4. ``recover``, run by every job under the output's lock before it starts, rolls forward
   any journaled commit and drops the temporary files of runs that died before theirs.

``crash_point`` lets the tests SIGKILL a process at each named step.
"""

from __future__ import annotations

import collections
import logging
import os
import signal

import pyarrow as pa
import pyarrow.parquet as pq

from newsbeam import storage
from newsbeam.dedup import DUPLICATE, SEEN_BEFORE
from newsbeam.layout import (
    ARTICLES,
    ERRORS,
    SEEN,
    STATE_DIR,
    STORIES,
    TMP_DIR,
    journal_path,
    manifest_path,
    shard_name,
    tmp_root,
)
from newsbeam.records import RowKey, ShardInfo, utcnow
from newsbeam.state import feed_validators as feed_validators
from newsbeam.state import save_feed_state, seen_table
from newsbeam.storage import write_table
from newsbeam.stories import StoryResult

LOGGER = logging.getLogger(__name__)



# Rows per batch when an article file is rewritten: the commit's memory stays bounded by
# this, not by the size of a shard (up to max_rows_per_file rows of full text).
REWRITE_BATCH_ROWS = 1000


def _final_copy(shard: ShardInfo, drop: set[int], story_ids: dict[str, str] | None, compression: str) -> tuple[str | None, int]:
    """Rewrite an article shard without the rows in ``drop`` and with each row's story id,
    a batch of rows at a time; returns (path or None, rows kept)."""
    import io

    buf, writer, kept, offset = io.BytesIO(), None, 0, 0
    with storage.open_read(shard.temp_path) as fh:
        source = pq.ParquetFile(fh, pre_buffer=False)
        schema = source.schema_arrow
        for batch in source.iter_batches(batch_size=REWRITE_BATCH_ROWS):
            table = pa.Table.from_batches([batch], schema=schema)
            keep = [i for i in range(table.num_rows) if offset + i not in drop]
            offset += table.num_rows
            if len(keep) < table.num_rows:
                table = table.take(pa.array(keep, pa.int64()))
            if story_ids is not None and "story_id" in table.column_names:
                ids = pa.array([story_ids.get(a) for a in table.column("article_id").to_pylist()], pa.string())
                table = table.set_column(schema.get_field_index("story_id"), schema.field("story_id"), ids)
            if writer is None:
                writer = pq.ParquetWriter(buf, schema, **storage.parquet_options(compression))
            writer.write_table(table)
            kept += table.num_rows
    if writer is not None:
        writer.close()
    pa.default_memory_pool().release_unused()  # decoded batches: give the pages back now
    if not kept:
        return None, 0
    path = shard.temp_path[: -len(".parquet")] + ".final.parquet"
    with storage.create(path) as out:
        out.write(buf.getvalue())
    return path, kept


def commit_run(
    output: str,
    state_path: str,
    run_id: str,
    shards: list[ShardInfo],
    winners: list[RowKey],
    losers: list[tuple[RowKey, str]],
    summary: dict,
    compression: str = "zstd",
    feed_statuses: list | None = None,
    retry_feeds: list[str] | None = None,
    item_skips: list[tuple[str, int]] | None = None,
    stories: StoryResult | None = None,
) -> dict:
    """Make a run's output visible, in an order that a crash at any point cannot corrupt.

    Data files first, then ``_runs/<run_id>.json``, then the state's seen-id file and
    story state. With ``stories``, every article file is rewritten once with its rows'
    ``story_id`` (together with dropping deduplication's losers) and the run's
    ``stories/`` file is written. Returns the manifest.
    """
    run_tmp = tmp_root(output, run_id)
    moves, files = _final_files(output, shards, losers, stories, compression)
    story_state = None
    if stories is not None and stories.rows.num_rows:
        relative = f"{STORIES}/{shard_name(run_id, 0)}"
        write_table(storage.join(run_tmp, relative), stories.rows, compression)
        moves.append((storage.join(run_tmp, relative), storage.join(output, relative)))
        files.append({"path": relative, "kind": STORIES, "rows": stories.rows.num_rows})
        story_state = write_table(storage.join(run_tmp, "_stories_state.parquet"), stories.state, compression)
    manifest = {
        "run_id": run_id,
        "committed_at": utcnow().isoformat(),
        "output": output,
        "state": state_path,
        **summary,
        **_run_counts(files, shards, losers, item_skips, feed_statuses),
        "compression": compression,
        "files": files,
    }
    seen_tmp = write_table(storage.join(run_tmp, "_seen.parquet"), seen_table(winners, run_id), compression) if winners else None
    journal = {
        "run_id": run_id,
        "output": output,
        "state": state_path,
        "moves": moves,
        "manifest": manifest,
        "seen": seen_tmp,
        "story_state": story_state,
        "story_state_replaced": stories.replaced_state if story_state else [],
        "validators": feed_validators(feed_statuses or [], set(retry_feeds or [])),
    }
    # Everything the rest of the commit needs is in the journal: from here on a crash is
    # finished by the next run (roll forward), never undone.
    storage.write_json_atomic(journal_path(output, run_id), journal)
    finish_commit(journal)
    return manifest


def _final_files(output: str, shards: list[ShardInfo], losers: list[tuple[RowKey, str]], stories: StoryResult | None,
                 compression: str) -> tuple[list[tuple[str, str]], list[dict]]:
    """The moves of a run's data files into place, and their manifest entries: an article
    shard with losers to drop or story ids to stamp is rewritten first."""
    story_ids = stories.assignment if stories is not None else None
    drop_by_shard: dict[str, set[int]] = collections.defaultdict(set)
    for key, _reason in losers:
        drop_by_shard[key.shard].add(key.index)
    moves: list[tuple[str, str]] = []
    files = []
    for shard in sorted(shards, key=lambda s: s.relative_path):
        src, rows = shard.temp_path, shard.rows
        if shard.kind == ARTICLES and (drop_by_shard.get(shard.relative_path) or story_ids is not None):
            src, rows = _final_copy(shard, drop_by_shard.get(shard.relative_path, set()), story_ids, compression)
            if src is None:
                continue
        moves.append((src, storage.join(output, shard.relative_path)))
        files.append({"path": shard.relative_path, "kind": shard.kind, "rows": rows})
    return moves, files


def _run_counts(files: list[dict], shards: list[ShardInfo], losers: list[tuple[RowKey, str]],
                item_skips: list[tuple[str, int]] | None, feed_statuses: list | None) -> dict:
    """The manifest's counts: rows written, entries and rows skipped, feeds, failures."""
    failed: dict[str, dict[str, int]] = collections.defaultdict(dict)
    for shard in shards:
        for stage, error_type, count in shard.failures:
            failed[stage][error_type] = failed[stage].get(error_type, 0) + count
    reasons = collections.Counter(reason for _key, reason in losers)
    entry_skips: collections.Counter = collections.Counter()
    for reason, count in item_skips or []:
        entry_skips[reason] += count
    return {
        "written": {
            "articles": sum(f["rows"] for f in files if f["kind"] == ARTICLES),
            "errors": sum(f["rows"] for f in files if f["kind"] == ERRORS),
            "stories": sum(f["rows"] for f in files if f["kind"] == STORIES),
            "files": len(files),
        },
        "skipped": {
            "duplicate_in_run": reasons.get(DUPLICATE, 0) + entry_skips.get(DUPLICATE, 0),
            "already_stored": reasons.get(SEEN_BEFORE, 0) + entry_skips.get(SEEN_BEFORE, 0),
        },
        "feeds": {
            st.url: {"status": st.status, "entries": st.entries, "error": st.error}
            for st in sorted(feed_statuses or [], key=lambda st: st.url)
        },
        "failed": {stage: dict(sorted(types.items())) for stage, types in sorted(failed.items())},
    }


def crash_point(name: str) -> None:
    """Fault injection for the crash tests: SIGKILL this process at a named commit step.

    Active only when NEWSBEAM_CRASH_AT names the step; costs one environment lookup.
    """
    wanted = os.environ.get("NEWSBEAM_CRASH_AT")
    if wanted and wanted == name:
        os.kill(os.getpid(), signal.SIGKILL)


def finish_commit(journal: dict) -> None:
    """The idempotent tail of a commit: data files, then the manifest, then deletions and state.

    The manifest is the commit point for readers that follow it (``newsbeam.dataset``,
    the report, compaction): a data file is committed once the manifest of the run named
    in its file name exists, and a file a committed compaction lists as ``removed`` is
    gone for them even before it is deleted. So such a reader sees all of a run or none
    of it, and a compaction's old files or its new ones, never both.

    Safe to run again after a crash at any point in it: a move whose source is gone was
    done, the manifest and the seen-id file are rewritten whole, deleting a deleted file
    does nothing, the feed validators are merged again.
    """
    output, state_path, run_id = journal["output"], journal.get("state"), journal["run_id"]
    for n, (src, dst) in enumerate(journal["moves"], start=1):
        if storage.exists(src):
            storage.rename(src, dst)
        crash_point(f"commit:renamed:{n}")
    crash_point("commit:before_manifest")
    storage.write_json_atomic(manifest_path(output, run_id), journal["manifest"])
    # Files replaced by the moves (compaction) go once the manifest has made them invisible.
    crash_point("commit:before_deletes")
    storage.delete([src for src in journal.get("deletes", [])])
    crash_point("commit:before_state")
    if journal.get("seen") and storage.exists(journal["seen"]):
        storage.rename(journal["seen"], storage.join(state_path, SEEN, f"{run_id}.parquet"))
    if journal.get("story_state") and storage.exists(journal["story_state"]):
        storage.rename(journal["story_state"], storage.join(state_path, STORIES, f"{run_id}.parquet"))
    # Older snapshots go only once the new one is in place (readers take the newest).
    storage.delete(journal.get("story_state_replaced", []))
    if journal.get("validators"):
        save_feed_state(state_path, journal["validators"])
    crash_point("commit:before_cleanup")
    storage.delete_tree(tmp_root(output, run_id))


def recover(output: str) -> list[str]:
    """Clean up after runs that died: finish interrupted commits, drop unfinished runs.

    Call it holding the output's lock (no live run may own a temporary directory). A run
    directory with a journal was committing: it is rolled forward. One without was still
    writing: its files were never visible and the rerun does its work again. Returns the
    ids of the runs whose commits were finished.
    """
    finished = []
    tmp = storage.join(output, TMP_DIR)
    for path in storage.list_files(journal_path(output, "*")):
        try:
            journal = storage.read_json(path)
        except ValueError:
            continue  # a torn journal cannot exist (atomic write); ignore anything odd
        LOGGER.warning("finishing the interrupted commit of run %s", journal["run_id"])
        finish_commit(journal)
        finished.append(journal["run_id"])
    storage.delete_tree(tmp)
    for pattern in (manifest_path(output, "*") + ".tmp-*", storage.join(output, STATE_DIR, "**", "*.tmp*")):
        storage.delete(storage.list_files(pattern))
    return finished


