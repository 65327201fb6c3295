"""newsbeam compact: fewer files, the very same rows, crash-safe."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from tests.conftest import SAMPLE_CONFIG, run_cli


def _rows(out, kind="articles"):
    table = ds.dataset(out / kind, format="parquet", partitioning="hive").to_table()
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in table.to_pylist())


def _files(out, kind="articles"):
    return sorted(p for p in (out / kind).rglob("*.parquet"))


@pytest.fixture(scope="module")
def many_small_files(tmp_path_factory):
    """Makes copies of one output built once per module (four runs): see _build_many_small_files."""
    template = _build_many_small_files(tmp_path_factory.mktemp("template"))

    def copy(tmp_path):
        out = tmp_path / "out"
        shutil.copytree(template, out)
        return out

    return copy


def _build_many_small_files(tmp_path):
    """The sample written over three runs (one file per run and partition), plus errors."""
    out = tmp_path / "out"
    src = tmp_path / "src"
    src.mkdir()
    for n in range(3):
        for i in range(3):
            (src / f"r{n}-{i}.jsonl").write_text(json.dumps({
                "text": f"Round {n} item {i}: the envoys met again in Kestrel Ford to discuss the ceasefire and the roads. " * 3,
                "title": f"Round {n} item {i}", "published_at": f"2026-10-0{i + 1}T10:00:00Z"}) + "\n")
        (src / f"bad{n}.txt").write_text("")
        assert run_cli("run", "--input", str(src / f"r{n}-*.jsonl"), "--input", str(src / f"bad{n}.txt"), "--output", str(out)).returncode == 0
    assert run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out)).returncode == 0
    return out


def test_compaction_keeps_every_row(tmp_path, many_small_files):
    out = many_small_files(tmp_path)
    before, errors_before, files_before = _rows(out), _rows(out, "errors"), _files(out)
    proc = run_cli("compact", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "compacted" in proc.stdout
    assert _rows(out) == before and _rows(out, "errors") == errors_before
    files_after = _files(out)
    assert len(files_after) < len(files_before)
    by_dir = {}
    for f in files_after:
        by_dir.setdefault(f.parent, []).append(f)
    assert all(len(v) == 1 for v in by_dir.values())
    assert len(_files(out, "errors")) == 1
    # a run after compaction still knows what is stored
    proc = run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out))
    assert "written    0 articles" in proc.stdout


def test_compaction_killed_midway_is_finished_by_the_next_job(tmp_path, many_small_files):
    out = many_small_files(tmp_path)
    before = _rows(out)
    env = dict(os.environ, NEWSBEAM_CRASH_AT="commit:renamed:1")
    proc = subprocess.run([sys.executable, "-m", "newsbeam", "compact", "--output", str(out)], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert run_cli("compact", "--output", str(out)).returncode == 0
    assert _rows(out) == before
    assert not list((out / "_tmp").glob("*"))


def test_schema_promotion_across_old_and_new_files(tmp_path):
    import pyarrow.parquet as pq

    from newsbeam.compact import compact

    part = tmp_path / "articles" / "published_date=2026-01-01"
    part.mkdir(parents=True)
    pq.write_table(pa.table({"article_id": ["a"], "text": ["x"]}), part / "part-1.parquet")
    pq.write_table(pa.table({"article_id": ["b"], "text": ["y"], "final_url": ["u"]}), part / "part-2.parquet")
    manifest = compact(str(tmp_path))
    assert manifest["rows"] == 2 and manifest["files_after"] == 1
    table = pq.read_table(next(part.glob("*.parquet")))
    assert sorted(table.column("article_id").to_pylist()) == ["a", "b"]
    assert table.column("final_url").to_pylist().count(None) == 1


def _committed_rows(out, kind="articles"):
    from newsbeam.dataset import open_dataset

    data = open_dataset(str(out), kind)
    table = data.to_table() if data is not None else pa.table({})
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in table.to_pylist())


def test_a_compaction_killed_mid_commit_is_invisible_to_committed_readers(tmp_path, many_small_files):
    """Killed after its first new file is in place: readers that follow the manifests see the
    rows once (the old files), the report counts them once, and the next job finishes it."""
    import duckdb

    out = many_small_files(tmp_path)
    before = _committed_rows(out)
    assert before == _rows(out)
    for point in ("commit:renamed:1", "commit:before_deletes"):
        env = dict(os.environ, NEWSBEAM_CRASH_AT=point)
        proc = subprocess.run([sys.executable, "-m", "newsbeam", "compact", "--output", str(out)], env=env, capture_output=True)
        assert proc.returncode == -signal.SIGKILL
        assert _committed_rows(out) == before, point  # never twice, never missing
        assert run_cli("report", "--output", str(out)).returncode == 0
        from newsbeam.dataset import committed_paths

        n = duckdb.sql(f"SELECT count(*) FROM read_parquet({committed_paths(str(out))!r})").fetchall()[0][0]
        assert n == len(before), point
        assert run_cli("compact", "--output", str(out)).returncode == 0  # rolls forward
        assert _committed_rows(out) == before == _rows(out)
        fresh = tmp_path / point.replace(":", "_")
        fresh.mkdir()
        out = many_small_files(fresh)
        before = _committed_rows(out)


def test_a_run_killed_mid_commit_shows_none_of_its_rows(tmp_path, many_small_files):
    out = many_small_files(tmp_path)
    before = _committed_rows(out)
    src = tmp_path / "late"
    src.mkdir()
    for i in range(3):
        (src / f"late{i}.jsonl").write_text(json.dumps({
            "text": f"Late item {i}: the envoys of Veloria met the Lakes Council once more about the mountain roads. " * 3,
            "title": f"Late {i}", "published_at": f"2026-10-0{i + 4}T10:00:00Z"}) + "\n")
    env = dict(os.environ, NEWSBEAM_CRASH_AT="commit:renamed:2")
    proc = subprocess.run([sys.executable, "-m", "newsbeam", "run", "--input", str(src / "*.jsonl"), "--output", str(out)],
                          env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert len(_rows(out)) > len(before)  # a directory listing sees the half-committed files
    assert _committed_rows(out) == before  # a reader that follows the manifests does not
    assert run_cli("run", "--input", str(src / "*.jsonl"), "--output", str(out)).returncode == 0
    assert len(_committed_rows(out)) == len(before) + 3 == len(_rows(out))
