"""``make demo`` from fresh clones (issue: at most 120 s and 900 MB, no torch or pytest):
each run clones the repository, runs ``make demo`` with empty installer caches (as on a
new machine: every wheel is downloaded), and measures the wall time, the size of
``.venv`` and its largest packages. Reports the median of the runs.

    .venv/bin/python benchmarks/install_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def du_mb(path: Path) -> float:
    return int(subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]) / 1024


def one_run(work: Path) -> tuple[float, float, list[tuple[str, float]], str]:
    clone = work / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    env = dict(os.environ, UV_CACHE_DIR=str(work / "uv-cache"), PIP_NO_CACHE_DIR="1")
    start = time.perf_counter()
    done = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"make demo failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    site = next((clone / ".venv" / "lib").glob("python3*/site-packages"))
    for banned in ("torch", "pytest", "moto", "transformers"):
        if (site / banned).exists():
            raise SystemExit(f"make demo installed {banned}")
    packages = sorted(((p.name, du_mb(p)) for p in site.iterdir() if p.is_dir()), key=lambda x: -x[1])[:8]
    return seconds, du_mb(clone / ".venv"), packages, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times, sizes = [], []
    for n in range(args.runs):
        work = Path(tempfile.mkdtemp(prefix="newsbeam-install-"))
        try:
            seconds, size, packages, stdout = one_run(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        times.append(seconds)
        sizes.append(size)
        print(f"run {n + 1}: make demo {seconds:.1f} s, .venv {size:.0f} MB", flush=True)
    print(f"\nlast run's output ({len(stdout.splitlines())} lines):\n{stdout}")
    print("largest packages: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in packages))
    print(f"\nmake demo from a fresh clone, empty caches, {args.runs} runs: median {statistics.median(times):.1f} s "
          f"(min {min(times):.1f}, max {max(times):.1f}); .venv median {statistics.median(sizes):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
