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
    ids = [r[0] for r in duckdb.execute(f"SELECT article_id FROM read_parquet('{out}/articles/**/*.parquet')").fetchall()]
    assert len(ids) == len(set(ids)) == 4
    manifests = [json.loads(p.read_text()) for p in (out / "_runs").glob("*.json")]
    assert all(m.get("mode") == "stream" for m in manifests)
