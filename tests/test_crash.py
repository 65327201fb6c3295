"""Kill a real run with SIGKILL at many points, rerun, and check every article is stored once."""

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pyarrow.parquet as pq
import pytest

from newsbeam.locking import OutputLock
from tests.conftest import FIXTURES, REPO, run_cli

SAMPLES = REPO / "configs" / "samples"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    src = tmp_path_factory.mktemp("crash-in")
    for n in range(30):
        paras = "".join(
            f"<p>Report {n}, paragraph {k}: delegates met in Kestrel Ford to discuss the ceasefire and roads, officials said.</p>"
            for k in range(4)
        )
        (src / f"page-{n:02d}.html").write_text(
            f"<html><head><title>Report {n}</title><link rel='canonical' href='https://crash.example/{n}'></head>"
            f"<body><article><h1>Report {n}</h1>{paras}</article></body></html>"
        )
    rows = [{"id": i, "url": f"https://crash.example/{i % 35}?utm_source=x", "title": f"Row {i}",
             "text": f"Row {i % 35} says the talks in Kestrel Ford went on all day and all night, officials said, with no result. " * 3}
            for i in range(20)]
    (src / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (src / "feed.rss").write_bytes((SAMPLES / "valley-wire.rss").read_bytes())
    return src


def _args(src, out):
    # The fast tier: these runs test exactly-once, not the tags (tests/fixtures/fast.yaml).
    return ["run", "--config", str(FIXTURES / "fast.yaml"), "--input", str(src / "*"), "--output", str(out)]


def _ids(out):
    """(article_id, story_id) of every stored row: a crash and its rerun must not change either."""
    return sorted(duckdb.execute(f"SELECT article_id, story_id FROM read_parquet('{out}/articles/**/*.parquet')").fetchall())


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "out"
    proc = run_cli(*_args(inputs, out))
    assert proc.returncode == 0, proc.stderr
    ids = _ids(out)
    assert len(ids) == len({a for a, _s in ids}) > 30
    assert all(s for _a, s in ids) and len({s for _a, s in ids}) < len(ids)  # some articles share a story
    return ids


def _check_visible_files(out):
    """Only complete, readable part-*.parquet files are ever visible in articles/ and errors/."""
    for sub in ("articles", "errors"):
        for path in (out / sub).rglob("*") if (out / sub).exists() else []:
            if path.is_file():
                assert path.name.startswith("part-") and path.suffix == ".parquet", path
                pq.read_metadata(path)  # a torn file has no footer and fails here


def _rerun_and_check(inputs, out, reference):
    _check_visible_files(out)
    proc = run_cli(*_args(inputs, out))
    assert proc.returncode == 0, proc.stderr
    _check_visible_files(out)
    assert _ids(out) == reference
    assert not list((out / "_tmp").glob("*"))
    again = run_cli(*_args(inputs, out))
    assert again.returncode == 0 and "written    0 articles" in again.stdout
    assert _ids(out) == reference


@pytest.mark.parametrize(
    "point",
    ["commit:renamed:1", "commit:renamed:2", "commit:before_manifest", "commit:before_state", "commit:before_cleanup"],
)
def test_killed_mid_commit_then_rerun_stores_each_article_once(inputs, reference, tmp_path, point):
    out = tmp_path / "out"
    env = dict(os.environ, NEWSBEAM_CRASH_AT=point)
    proc = subprocess.run([sys.executable, "-m", "newsbeam", *_args(inputs, out)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    _rerun_and_check(inputs, out, reference)


@pytest.mark.parametrize("delay", [0.7, 1.6, 2.6])
def test_killed_at_a_random_moment_then_rerun(inputs, reference, tmp_path, delay):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "newsbeam", *_args(inputs, out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _rerun_and_check(inputs, out, reference)


def test_killed_again_while_recovering(inputs, reference, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, NEWSBEAM_CRASH_AT="commit:before_state")
    for _ in range(2):  # the second run dies while finishing the first one's commit
        proc = subprocess.run([sys.executable, "-m", "newsbeam", *_args(inputs, out)], env=env, capture_output=True, timeout=300)
        assert proc.returncode == -signal.SIGKILL
    _rerun_and_check(inputs, out, reference)


def test_overlapping_run_does_not_write(inputs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(str(out), "holder") as lock:
        assert lock.acquired
        proc = run_cli(*_args(inputs, out))
        assert proc.returncode == 0
        assert "is writing to" in proc.stderr and "not starting" in proc.stderr
        assert not (out / "articles").exists()
        start = time.monotonic()
        proc = run_cli(*_args(inputs, out), "--wait", "2")
        assert proc.returncode == 0 and time.monotonic() - start >= 2
        assert not (out / "articles").exists()


def test_lock_of_a_dead_process_is_taken_over(inputs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from newsbeam.locking import OutputLock; "
                               f"l = OutputLock({str(out)!r}, 'dead'); l.acquire(); print('locked', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    proc = run_cli(*_args(inputs, out))
    assert proc.returncode == 0, proc.stderr
    assert "taking over the lock left by run dead" in proc.stderr
    assert (out / "articles").exists()
