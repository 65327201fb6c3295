"""Fetch throughput: 8 hosts on loopback, each answering after 200 ms, default settings.

Measures (1) the fetcher alone over N article URLs and (2) the whole pipeline run on an RSS
feed listing the same URLs (fetch, extract, tag, write). Reports the median of several
rounds. Usage:

    .venv/bin/python benchmarks/fetch_bench.py [--articles 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.httpserver import Reply, Server  # noqa: E402

HOSTS = 8
DELAY = 0.2


def page(n: int) -> bytes:
    para = (
        f"Story {n}: delegates met in Kestrel Ford to discuss the ceasefire, the exchange of prisoners "
        "and the reopening of the mountain roads, mediators from the Lakes Council said on Monday. "
    )
    return f"<html><head><title>Story {n}</title></head><body><article><h1>Story {n}</h1>{'<p>' + para * 3 + '</p>'}</article></body></html>".encode()


def start_hosts(n_articles: int) -> tuple[list[Server], list[str]]:
    servers = [Server().__enter__() for _ in range(HOSTS)]
    urls = []
    for i in range(n_articles):
        srv = servers[i % HOSTS]
        body = page(i)
        srv.route(f"/a/{i}", lambda req, body=body: Reply(body=body, delay=DELAY))
        urls.append(srv.url(f"/a/{i}"))
    return servers, urls


def bench_fetcher(urls: list[str]) -> float:
    import asyncio

    from newsbeam.http import Fetcher, FetchPolicy

    async def go():
        fetcher = Fetcher(FetchPolicy(allow_private_network=True))
        try:
            results = await asyncio.gather(*(fetcher.get(u, html_only=True) for u in urls), return_exceptions=True)
        finally:
            await fetcher.close()
        bad = [r for r in results if isinstance(r, Exception)]
        assert not bad, bad[:3]

    start = time.perf_counter()
    asyncio.run(go())
    return len(urls) / (time.perf_counter() - start)


def bench_pipeline(servers: list[Server], urls: list[str]) -> float:
    items = "".join(f"<item><title>Story {i}</title><link>{u}</link></item>" for i, u in enumerate(urls))
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>{items}</channel></rss>'
    servers[0].static("/feed.xml", feed, headers={"Content-Type": "application/rss+xml"})
    out = tempfile.mkdtemp(prefix="newsbeam-fetch-bench-")
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "newsbeam", "run", "--feed", servers[0].url("/feed.xml"), "--output", out, "--allow-private-network"],
            capture_output=True, text=True,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0 or f"written    {len(urls)} articles" not in proc.stdout:
            raise SystemExit(f"pipeline run failed:\n{proc.stdout}\n{proc.stderr}")
        return len(urls) / elapsed
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fetch_rates, pipe_rates = [], []
    for _ in range(args.rounds):
        servers, urls = start_hosts(args.articles)
        try:
            fetch_rates.append(bench_fetcher(urls))
            pipe_rates.append(bench_pipeline(servers, urls))
        finally:
            for srv in servers:
                srv.__exit__(None, None, None)
    print(f"{HOSTS} hosts x {DELAY * 1000:.0f} ms per response, {args.articles} articles, {args.rounds} rounds (median)")
    print(f"fetcher alone:           {statistics.median(fetch_rates):6.1f} articles/s   (rounds: {', '.join(f'{r:.1f}' for r in fetch_rates)})")
    print(f"whole pipeline (1 proc): {statistics.median(pipe_rates):6.1f} articles/s   (rounds: {', '.join(f'{r:.1f}' for r in pipe_rates)})")
    print(f"theoretical ceiling with per_host_concurrency=2: {HOSTS * 2 / DELAY:.0f} articles/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
