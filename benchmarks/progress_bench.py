"""What progress costs (issue: under 1 % of throughput): ``newsbeam run`` on the same pages
with ``--progress off`` (nothing counted), ``bar`` (tqdm, redrawn every 0.5 s) and
``lines`` (a line a second), in alternating rounds; medians and ratios to ``off``.

    .venv/bin/python benchmarks/progress_bench.py [--pages 900] [--rounds 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import timed, write_pages  # noqa: E402 - the sibling benchmark's helpers

MODES = {"off": ["--progress", "off"], "bar": ["--progress", "bar"], "lines": ["--progress", "lines", "--progress-every", "1"]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=900)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    times: dict[str, list[float]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        pages, out = Path(tmp) / "pages", Path(tmp) / "out"
        write_pages(pages, args.pages)
        for r in range(args.rounds):
            order = list(MODES) if r % 2 == 0 else list(reversed(MODES))
            for mode in order:
                cmd = [sys.executable, "-m", "newsbeam", "run", "--input", str(pages / "*.html"), "--output", str(out),
                       "--workers", str(args.workers), *MODES[mode]]
                seconds = timed(cmd)[0]
                shutil.rmtree(out, ignore_errors=True)
                times[mode].append(seconds)
                print(f"round {r + 1} {mode}: {seconds:.1f} s", flush=True)
    base = statistics.median(times["off"])
    print(f"\n{args.pages} pages, {args.workers} workers, {args.rounds} rounds")
    print("| progress | median s | time vs off |")
    print("| --- | --- | --- |")
    for mode in MODES:
        median = statistics.median(times[mode])
        print(f"| {mode} | {median:.1f} | {median / base:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
