"""Tagging speed: the default tagger on 600-word articles with the default claims, on both cores.

``fast-no-actors`` is the tagger without the actor coding (``tagging.actors: null``), and
``events=PATH`` the tagger with another event model file (round 3's, say:
``git show <commit>:newsbeam/tagging/models/events.npz > /tmp/r3.npz``), timed in the
same alternating rounds: the ratios are what actors cost and what a model change costs.

Uses the real news pages of ../shared/data/extraction when present (their extracted text
cut or repeated to 600 words), generated text otherwise. Reports the median of rounds.

    .venv/bin/python benchmarks/tag_bench.py [--articles 300] [--rounds 5] [--processes 2] [--tiers fast,fast-no-actors,events=/tmp/r3.npz]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO.parent / "shared" / "data" / "extraction" / "fundus_eval" / "html"
WORDS = 600


def texts(n: int) -> list[str]:
    bodies = []
    if PAGES.is_dir():
        import trafilatura

        for path in sorted(PAGES.glob("*.html.gz")):
            text = trafilatura.extract(gzip.decompress(path.read_bytes()).decode("utf-8", "replace")) or ""
            if len(text.split()) > 100:
                bodies.append(text)
    if not bodies:
        sentence = "Delegates met in the capital on Monday to discuss the ceasefire and the exchange of prisoners. "
        bodies = [sentence * 50]
    out = []
    for i in range(n):
        words = bodies[i % len(bodies)].split()
        while len(words) < WORDS:
            words += words
        out.append(" ".join(words[:WORDS]))
    return out


_TAGGERS: dict = {}


def _init(tiers: list[str]) -> None:
    """A worker's taggers, built once (model loading is not what is timed)."""
    from newsbeam.pipelines.config import load_config
    from newsbeam.tagging import Claim, Tagger

    cfg = load_config(None)
    for t in tiers:
        events = t.split("=", 1)[1] if t.startswith("events=") else None
        _TAGGERS[t] = Tagger(cfg.taxonomy, cfg.tone_lexicon, [Claim(c.id, c.text) for c in cfg.claims],
                             event_model=events, actors=None if t.endswith("no-actors") else cfg.actors)


def _tag(job: tuple[str, list[tuple[str, str]]]) -> int:
    tier, docs = job
    for title, doc in docs:
        _TAGGERS[tier].tag(title, doc)
    return len(docs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--processes", type=int, default=2, help="worker processes (default 2: both cores here)")
    parser.add_argument("--tiers", default="fast,fast-no-actors", help="variants to time, alternating rounds"
                        " (fast, fast-no-actors, events=PATH)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import multiprocessing

    from newsbeam.pipelines.config import load_config

    tiers = args.tiers.split(",")
    # Each article its own headline (its first words), as in a real feed.
    docs = [(" ".join(d.split()[:8]), d) for d in texts(args.articles)]
    chunks = [docs[i::args.processes] for i in range(args.processes)]
    rates: dict[str, list[float]] = {t: [] for t in tiers}
    with multiprocessing.get_context("spawn").Pool(args.processes, _init, (tiers,)) as pool:
        pool.map(_tag, [(tiers[0], c[:2]) for c in chunks])  # warm: models loaded, first calls made
        for _ in range(args.rounds):
            for tier in tiers:
                start = time.perf_counter()
                n = sum(pool.map(_tag, [(tier, c) for c in chunks]))
                rates[tier].append(n / (time.perf_counter() - start))
    claims = len(load_config(None).claims)
    print(f"{len(docs)} articles of {WORDS} words, {claims} claims, {args.rounds} rounds alternating,"
          f" {args.processes} processes")
    for tier, values in rates.items():
        med = statistics.median(values)
        print(f"{tier} tier: {med:.1f} articles/s ({1000 / med:.2f} ms per article); rounds: {', '.join(f'{r:.1f}' for r in values)}")
    for other in (t for t in rates if t.startswith("events=")):
        print(f"{other} / fast time per article: {statistics.median(rates['fast']) / statistics.median(rates[other]):.3f}x")
    if "fast" in rates and "fast-no-actors" in rates:
        ratio = statistics.median(rates["fast-no-actors"]) / statistics.median(rates["fast"])
        print(f"fast with actors / without, time per article: {ratio:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
