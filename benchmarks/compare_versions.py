"""Throughput of two versions of newsbeam on the same pages, in alternating rounds.

For a change that must not cost speed (a refactor): each round runs ``newsbeam run`` from
version A then from version B (then B then A in the next round, so neither always runs
second), with 1 and with 2 workers, on the pages ``benchmarks/throughput.py`` uses. It
reports the median wall time of each and the ratio B/A; on a shared machine, compare the
ratios, not the seconds.

    git worktree add /tmp/before <rev>
    .venv/bin/python benchmarks/compare_versions.py /tmp/before . [--pages 900] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import timed, write_pages  # noqa: E402 - the sibling benchmark's helpers


def run(version: Path, pages: Path, out: Path, workers: int) -> float:
    cmd = [sys.executable, "-m", "newsbeam", "run", "--input", str(pages / "*.html"), "--output", str(out),
           "--workers", str(workers)]
    env = dict(os.environ, PYTHONPATH=str(version))
    cwd = os.getcwd()
    os.chdir(version)  # `python -m newsbeam` imports the version in the current directory
    try:
        return timed(cmd, env=env)[0]
    finally:
        os.chdir(cwd)
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("a", type=Path, help="checkout of version A (before)")
    parser.add_argument("b", type=Path, help="checkout of version B (after)")
    parser.add_argument("--pages", type=int, default=900)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    versions = {"A": args.a.resolve(), "B": args.b.resolve()}
    times: dict[tuple[str, int], list[float]] = {(v, w): [] for v in versions for w in (1, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp) / "pages"
        write_pages(pages, args.pages)
        for r in range(args.rounds):
            order = ("A", "B") if r % 2 == 0 else ("B", "A")
            for workers in (1, 2):
                for v in order:
                    seconds = run(versions[v], pages, Path(tmp) / "out", workers)
                    times[(v, workers)].append(seconds)
                    print(f"round {r + 1} {v} workers={workers}: {seconds:.1f} s", flush=True)
    print(f"\n{args.pages} pages, {args.rounds} rounds; A = {versions['A']}, B = {versions['B']}")
    print("| workers | A median s | B median s | B/A time | B/A articles/s |")
    print("| --- | --- | --- | --- | --- |")
    for workers in (1, 2):
        a, b = statistics.median(times[("A", workers)]), statistics.median(times[("B", workers)])
        print(f"| {workers} | {a:.1f} | {b:.1f} | {b / a:.3f} | {a / b:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
