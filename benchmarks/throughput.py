"""End-to-end throughput of newsbeam against the practical limit of its stack (``make bench``).

On N local HTML news pages (the real pages of ../shared/data/extraction/fundus_eval when
present, each copy changed slightly so deduplication cannot skip it; generated pages
otherwise), in alternating rounds, measures:

- plain loop: one Python process doing only the irreducible work, trafilatura extraction
  with metadata for every page, then one Parquet write (the stack's limit on one core);
- trafilatura's own CLI on all cores (``--input-dir --json --with-metadata``);
- ``newsbeam run`` with 1 worker, with 2 (``--workers 2``: extraction and tagging on a pool
  of two processes) and, for reference, with Beam's own 2-process DirectRunner
  (``--direct_num_workers 2 --direct_running_mode multi_processing``); newsbeam also
  deduplicates, tags and commits partitioned Parquet.

Reports articles/s (median of rounds), the ratios the project targets, peak RSS (the sum
over the process tree), and the cost of each stage per article measured in isolation.

Two sizes (900 and 3,000 pages by default) separate each run's fixed cost (start-up,
model loading, the stages before and after the parallel part) from its steady per-page rate.

    .venv/bin/python benchmarks/throughput.py [--pages 900,3000] [--rounds 3] [--memory]
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO.parent / "shared" / "data" / "extraction" / "fundus_eval" / "html"
BIN = Path(sys.executable).parent


def source_pages() -> list[str]:
    if PAGES.is_dir():
        return [gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in sorted(PAGES.glob("*.html.gz"))]
    para = "<p>Delegates from both sides met in the capital on {d} to discuss the ceasefire, prisoners and roads, officials said.</p>"
    return [
        f"<html><head><title>Generated story {n}</title></head><body><nav>Home | World</nav><article><h1>Story {n}</h1>"
        + "".join(para.format(d=d) for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday") * 4)
        + "</article><footer>About us</footer></body></html>"
        for n in range(40)
    ]


_END_P = re.compile(r"</p>", re.I)
_CANONICAL = re.compile(r"""((?:rel=["']canonical["'][^>]*href|property=["']og:url["'][^>]*content)=["'][^"']+)""", re.I)


def write_pages(directory: Path, n: int) -> None:
    """n pages, the sources repeated; each copy's text and canonical URL made unique."""
    sources = source_pages()
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        html = sources[i % len(sources)]
        copy = i // len(sources)
        if copy:
            html = _END_P.sub(f" (edition {copy})</p>", html)
            html = _CANONICAL.sub(lambda m, c=copy: f"{m.group(1)}?edition={c}", html)
        (directory / f"page-{i:05d}.html").write_text(html, encoding="utf-8")


class PeakRss:
    """Peak of the summed RSS of a process and its descendants, sampled every 50 ms."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        pids, frontier = [self.pid], [self.pid]
        while frontier:
            pid = frontier.pop()
            children = []
            try:  # every thread's children: Beam starts workers from non-main threads
                for task in Path(f"/proc/{pid}/task").iterdir():
                    children += (task / "children").read_text().split()
            except OSError:
                continue
            pids += [int(c) for c in children]
            frontier += [int(c) for c in children]
        return pids

    def _run(self):
        while not self._stop.is_set():
            total = 0
            for pid in self._tree():
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
                except OSError:
                    pass
            self.peak = max(self.peak, total / 1024)
            time.sleep(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(cmd: list[str], env=None) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    rss = PeakRss(proc.pid)
    out, err = proc.communicate()
    peak = rss.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({proc.returncode}):\n{out[-2000:]}\n{err[-2000:]}")
    return time.perf_counter() - start, peak


PLAIN_LOOP = r"""
import sys, glob, trafilatura, pyarrow as pa, pyarrow.parquet as pq
rows = []
for path in sorted(glob.glob(sys.argv[1] + "/*.html")):
    with open(path, encoding="utf-8") as fh:
        doc = trafilatura.bare_extraction(fh.read(), with_metadata=True)
    if doc is not None and doc.text:
        rows.append({"title": doc.title, "author": doc.author, "date": doc.date, "url": doc.url, "sitename": doc.sitename, "text": doc.text})
pq.write_table(pa.Table.from_pylist(rows), sys.argv[2] + "/out.parquet", compression="zstd")
print(len(rows))
"""


def run_plain(pages: Path, work: Path) -> tuple[float, float]:
    out = work / "plain"
    out.mkdir()
    try:
        return timed([sys.executable, "-c", PLAIN_LOOP, str(pages), str(out)])
    finally:
        shutil.rmtree(out)


def run_trafilatura_cli(pages: Path, work: Path) -> tuple[float, float]:
    out = work / "cli"
    try:
        return timed([str(BIN / "trafilatura"), "--input-dir", str(pages), "--output-dir", str(out), "--json", "--with-metadata", "--parallel", str(os.cpu_count())])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run_newsbeam(pages: Path, work: Path, workers: int, beam_workers: bool = False) -> tuple[float, float]:
    out = work / f"nb{workers}{'beam' if beam_workers else ''}"
    cmd = [sys.executable, "-m", "newsbeam", "run", "--input", str(pages / "*.html"), "--output", str(out)]
    if beam_workers:
        cmd += ["--direct_num_workers", str(workers), "--direct_running_mode", "multi_processing"]
    elif workers > 1:
        cmd += ["--workers", str(workers)]
    try:
        return timed(cmd)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def stage_costs(pages: Path, sample: int = 120) -> dict[str, float]:
    """Milliseconds per article for each stage, run in isolation on a sample of pages."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(REPO))
    from newsbeam.commit import _final_copy
    from newsbeam.documents import tag_article
    from newsbeam.extraction import Extractor
    from newsbeam.layout import file_schema
    from newsbeam.pipelines.config import load_config
    from newsbeam.records import KIND_HTML, RawDocument, ShardInfo, article_row
    from newsbeam.storage import write_table
    from newsbeam.stories import assign_stories, local_pairs, story_sig
    from newsbeam.tagging import Claim, Tagger
    from newsbeam.text import decode_bytes, sniff_format

    files = sorted(pages.glob("*.html"))[:sample]
    cfg = load_config(None)
    extractor = Extractor(20)
    tagger = Tagger(cfg.taxonomy, cfg.tone_lexicon, [Claim(c.id, c.text) for c in cfg.claims])
    t = {}
    start = time.perf_counter()
    docs = []
    for f in files:
        data = f.read_bytes()
        sniff_format(data[:4096], f.name)
        docs.append(RawDocument(input=str(f), kind=KIND_HTML, body=decode_bytes(data)[0]))
    t["read + decode"] = time.perf_counter() - start
    start = time.perf_counter()
    articles = [extractor.extract(d) for d in docs]
    t["extract (trafilatura + metadata + language)"] = time.perf_counter() - start
    start = time.perf_counter()
    tagged = [tag_article(tagger, a) for a in articles]
    t["tag (events, 3 stances, tone)"] = time.perf_counter() - start
    start = time.perf_counter()
    schema = file_schema("articles", ["published_date"])
    rows = [article_row(x, "bench") for x in tagged]
    with tempfile.TemporaryDirectory() as tmp:
        write_table(f"{tmp}/x.parquet", pa.table({n: [r.get(n) for r in rows] for n in schema.names}, schema=schema), "zstd")
    t["rows + Parquet write"] = time.perf_counter() - start
    # stories: signature per article, candidates and assignment, and the commit's stamping of
    # story_id (one more read and write of the article file)
    start = time.perf_counter()
    sigs = {a.article_id: story_sig(a) for a in articles}
    result = assign_stories("bench", sigs, [], local_pairs(sigs, []), [])
    with tempfile.TemporaryDirectory() as tmp:
        table = pa.table({n: [r.get(n) for r in rows] for n in schema.names}, schema=schema)
        write_table(f"{tmp}/x.parquet", table, "zstd")
        final = _final_copy(ShardInfo("articles", f"{tmp}/x.parquet", "x.parquet", len(rows)), set(),
                            result.assignment, "zstd")[0]
        assert pq.read_table(final).column("story_id").null_count == 0
    t["stories (signature, pairs, assignment, story_id stamp)"] = time.perf_counter() - start
    return {k: v / len(files) * 1000 for k, v in t.items()}


RUNS = ("plain loop (1 process)", "trafilatura CLI (all cores)", "newsbeam, 1 worker", "newsbeam, 2 workers",
        "newsbeam, 2 Beam workers")


def measure(pages: Path, work: Path, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """(seconds, peak RSS MB) of every run, ``rounds`` times, alternating."""
    runs = dict(zip(RUNS, (
        lambda: run_plain(pages, work),
        lambda: run_trafilatura_cli(pages, work),
        lambda: run_newsbeam(pages, work, 1),
        lambda: run_newsbeam(pages, work, 2),
        lambda: run_newsbeam(pages, work, 2, beam_workers=True),
    ), strict=True))
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
    for _ in range(rounds):
        for name, fn in runs.items():  # alternating, so drift on a shared machine hits all alike
            results[name].append(fn())
    return results


def fixed_and_rate(small: int, t_small: float, large: int, t_large: float) -> tuple[float, float]:
    """Fixed seconds per run and steady-state pages per second, from two sizes:
    time = fixed + pages / rate."""
    per_page = max((t_large - t_small) / (large - small), 1e-9)
    return max(0.0, t_small - small * per_page), 1.0 / per_page


def report(n: int, rounds: int, results: dict[str, list[tuple[float, float]]]) -> dict[str, float]:
    """Print one size's table and ratios; the median seconds of each run."""
    rate = {k: statistics.median(n / s for s, _ in v) for k, v in results.items()}
    peak = {k: max(m for _, m in v) for k, v in results.items()}
    print(f"\n{n} pages ({'real news pages, repeated with edits' if PAGES.is_dir() else 'generated pages'}), "
          f"{rounds} alternating rounds, {os.cpu_count()} cores; medians")
    print(f"{'':32} {'articles/s':>10} {'peak RSS MB':>12}")
    for k in RUNS:
        per_round = ", ".join(f"{n / sec:.1f}" for sec, _ in results[k])
        print(f"{k:32} {rate[k]:10.1f} {peak[k]:12.0f}   rounds: {per_round}")
    plain, cli = rate[RUNS[0]], rate[RUNS[1]]
    one, two = rate[RUNS[2]], rate[RUNS[3]]
    print(f"newsbeam 1 worker / plain loop:       {one / plain:.2f}  (target >= 0.80)")
    print(f"newsbeam 2 workers / plain loop:      {two / plain:.2f}  (target >= 1.50)")
    print(f"newsbeam 2 workers / trafilatura CLI: {two / cli:.2f}  (target >= 1.00)")
    print(f"2 Beam workers / plain loop:          {rate[RUNS[4]] / plain:.2f}  (Beam's multi-process DirectRunner, for reference)")
    return {k: statistics.median(s for s, _ in v) for k, v in results.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", default="900,3000",
                        help="comma-separated sizes; with two or more, fixed cost and steady rate are fitted")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="also compare peak RSS for 1,000 and 10,000 pages")
    args = parser.parse_args()
    sizes = sorted({int(x) for x in args.pages.split(",") if x.strip()})
    work = Path(tempfile.mkdtemp(prefix="newsbeam-bench-"))
    try:
        seconds: dict[int, dict[str, float]] = {}
        for n in sizes:
            pages = work / f"pages{n}"
            write_pages(pages, n)
            seconds[n] = report(n, args.rounds, measure(pages, work, args.rounds))
            if n != sizes[0]:
                shutil.rmtree(pages)
        if len(sizes) > 1:
            small, large = sizes[0], sizes[-1]
            print(f"\nfixed cost per run and steady-state rate, fitted from the medians at {small} and {large} pages"
                  " (time = fixed + pages / rate):")
            steady = {}
            for k in RUNS:
                fixed, steady[k] = fixed_and_rate(small, seconds[small][k], large, seconds[large][k])
                print(f"  {k:32} fixed {fixed:5.1f} s   steady {steady[k]:6.1f} articles/s")
            print(f"  steady state, 1 worker / plain loop:       {steady[RUNS[2]] / steady[RUNS[0]]:.2f}")
            print(f"  steady state, 2 workers / plain loop:      {steady[RUNS[3]] / steady[RUNS[0]]:.2f}")
            print(f"  steady state, 2 workers / trafilatura CLI: {steady[RUNS[3]] / steady[RUNS[1]]:.2f}")
        print("\nper-article cost of each stage, in isolation (ms):")
        for k, v in stage_costs(work / f"pages{sizes[0]}").items():
            print(f"  {k:44} {v:6.2f}")
        if args.memory:
            for n in (1000, 10000):
                d = work / f"mem{n}"
                write_pages(d, n)
                _, mb = run_newsbeam(d, work, 1)
                print(f"peak RSS, newsbeam 1 worker, {n} pages: {mb:.0f} MB")
                shutil.rmtree(d)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
