"""newsbeam stream against a local HTTP server: new entries picked up, clean stop, no duplicates."""

import json
import signal
import subprocess
import sys
import time

import duckdb

from tests.httpserver import Reply, Server
from tests.test_fetch_e2e import page, rss

POLL = 2.0


def _count(out) -> int:
    if not list(out.glob("articles/**/*.parquet")):
        return 0
    return duckdb.execute(f"SELECT count(*) FROM read_parquet('{out}/articles/**/*.parquet')").fetchone()[0]


def _wait_for(out, n, timeout) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if _count(out) >= n:
            return time.monotonic() - start
        time.sleep(0.2)
    return None


def test_stream_picks_up_new_entries_and_stops_cleanly(tmp_path):
    out = tmp_path / "out"
    with Server() as srv:
        items = [(1, "/news/1"), (2, "/news/2")]
        for n in range(1, 10):
            srv.static(f"/news/{n}", page(n))
        srv.route("/feed", lambda req: Reply(body=rss(srv, items).encode(), headers={"Content-Type": "application/rss+xml", "ETag": f'"{len(items)}"'}))
        cmd = [sys.executable, "-m", "newsbeam", "stream", "--feed", srv.url("/feed"), "--output", str(out),
               "--poll-interval", str(POLL), "--allow-private-network"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert _wait_for(out, 2, 60) is not None
            items += [(3, "/news/3"), (4, "/news/4")]
            lag = _wait_for(out, 4, POLL + 30)
            assert lag is not None and lag <= POLL + 30
            time.sleep(POLL * 2)  # a few idle polls: nothing new must be written
            assert _count(out) == 4
            stop = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=30)
            assert time.monotonic() - stop < 30
            assert proc.returncode == 0, stderr
            assert "stopped after" in stderr
        finally:
            if proc.poll() is None:
                proc.kill()
        # idle polls sent conditional requests
        assert any(r.headers.get("If-None-Match") for r in srv.requests if r.path == "/feed")
        assert srv.hits("/news/1") == 1
        # a restart lists the feed in full again but stores nothing twice
        proc = subprocess.run(cmd + ["--max-polls", "1"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    rows = duckdb.execute(f"SELECT article_id, story_id FROM read_parquet('{out}/articles/**/*.parquet')").fetchall()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == 4
    # every streamed batch assigns stories too, and keeps the open-story state
    assert all(r[1] for r in rows) and list((out / "_state" / "stories").glob("*.parquet"))
    manifests = [json.loads(p.read_text()) for p in (out / "_runs").glob("*.json")]
    assert all(m.get("mode") == "stream" for m in manifests)


def test_stream_always_exits_0_on_sigterm_to_its_group_at_random_moments(tmp_path):
    """12 stops at random moments (starting, polling, committing, idle): exit 0 within 30 s each
    time, a second SIGTERM during shutdown never kills it, and no row is lost or stored twice.
    The moments are stratified: one in each twelfth of 0.3-6 s after the start, so every
    phase is hit whatever the seed."""
    import os
    import random

    rng = random.Random(20261123)
    out = tmp_path / "out"
    with Server() as srv:
        feeds = []
        for f in range(8):
            items = [(10 * f + n, f"/news/{10 * f + n}") for n in range(1, 4)]
            for n, path in items:
                srv.static(path, page(n))
            body = rss(srv, items).encode()
            srv.route(f"/feed{f}", lambda req, body=body: Reply(body=body, headers={"Content-Type": "application/rss+xml"}))
            feeds += ["--feed", srv.url(f"/feed{f}")]
        cmd = [sys.executable, "-m", "newsbeam", "stream", *feeds, "--output", str(out), "--poll-interval", "1",
               "--allow-private-network"]
        trials = 12
        moments = [0.3 + (i + rng.random()) * (6.0 - 0.3) / trials for i in range(trials)]
        rng.shuffle(moments)
        for trial, moment in enumerate(moments):
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
            try:
                time.sleep(moment)
                os.killpg(proc.pid, signal.SIGTERM)
                if rng.random() < 0.5:  # a second request while it stops
                    time.sleep(rng.uniform(0.0, 1.0))
                    if proc.poll() is None:
                        os.killpg(proc.pid, signal.SIGTERM)
                stop = time.monotonic()
                _, stderr = proc.communicate(timeout=30)
                assert time.monotonic() - stop < 30
                assert proc.returncode == 0, (trial, stderr)
                assert "Traceback" not in stderr and "ERROR" not in stderr, (trial, stderr)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
        final = subprocess.run(cmd + ["--max-polls", "1"], capture_output=True, text=True, timeout=120)
        assert final.returncode == 0, final.stderr
    ids = [r[0] for r in duckdb.execute(f"SELECT article_id FROM read_parquet('{out}/articles/**/*.parquet')").fetchall()]
    assert len(ids) == len(set(ids)) == 24
