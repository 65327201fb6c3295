"""Memory over a long streaming run: a feed that keeps growing, polled every second.

Every poll the feed gains new entries (the feed keeps its newest 50, like real feeds);
newsbeam stream fetches, tags and commits them. The process's resident memory (VmRSS) is
sampled throughout; a flat line means memory does not grow with the articles processed.

    .venv/bin/python benchmarks/stream_soak.py [--minutes 10] [--per-poll 2]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.httpserver import Reply, Server  # noqa: E402
from tests.test_fetch_e2e import page, rss  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--per-poll", type=int, default=2)
    args = parser.parse_args()
    out = tempfile.mkdtemp(prefix="newsbeam-soak-")
    items: list[tuple[int, str]] = []
    with Server() as srv:
        srv.route("/feed", lambda req: Reply(body=rss(srv, items[-50:]).encode(), headers={"Content-Type": "application/rss+xml"}))
        srv.route("/p", lambda req: Reply(body=page(int(req.path.rsplit("=", 1)[1])).encode()))
        stop = threading.Event()

        def grow():
            n = 0
            while not stop.is_set():
                for _ in range(args.per_poll):
                    n += 1
                    items.append((n, f"/p?n={n}"))
                time.sleep(1.0)

        threading.Thread(target=grow, daemon=True).start()
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsbeam", "stream", "--feed", srv.url("/feed"), "--output", out, "--poll-interval", "1", "--allow-private-network"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        samples = []
        start = time.monotonic()
        try:
            while time.monotonic() - start < args.minutes * 60:
                time.sleep(5)
                samples.append((time.monotonic() - start, rss_mb(proc.pid), len(items)))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            stop.set()
    import duckdb

    written = duckdb.execute(f"SELECT count(*) FROM read_parquet('{out}/articles/**/*.parquet')").fetchone()[0]
    shutil.rmtree(out, ignore_errors=True)
    print(f"{args.minutes:g} min, a poll per second, {args.per_poll} new entries per second; {written} articles written, exit {proc.returncode}")
    print("minute  RSS (MB)  entries published")
    for t, mb, n in samples[:: max(1, len(samples) // 12)]:
        print(f"{t / 60:6.1f}  {mb:8.1f}  {n:8d}")
    warm = [mb for t, mb, _ in samples if t > 60]
    first, last = warm[: max(1, len(warm) // 5)], warm[-max(1, len(warm) // 5):]
    print(f"median RSS, first fifth after warm-up: {statistics.median(first):.1f} MB; last fifth: {statistics.median(last):.1f} MB; ratio {statistics.median(last) / statistics.median(first):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
