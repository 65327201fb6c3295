"""Tagging speed: the default tagger on 600-word articles with three claims, one core.

Uses the real news pages of ../shared/data/extraction when present (their extracted text
cut or repeated to 600 words), generated text otherwise. Reports the median of rounds.

    .venv/bin/python benchmarks/tag_bench.py [--articles 300] [--rounds 5]
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from newsbeam.pipelines.config import load_config
    from newsbeam.tagging import Claim, Tagger

    cfg = load_config(None)
    tagger = Tagger(cfg.taxonomy, cfg.tone_lexicon, [Claim(c.id, c.text) for c in cfg.claims])
    docs = texts(args.articles)
    rates = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for doc in docs:
            tagger.tag("A headline about the talks", doc)
        rates.append(len(docs) / (time.perf_counter() - start))
    med = statistics.median(rates)
    print(f"{len(docs)} articles of {WORDS} words, {len(cfg.claims)} claims, {args.rounds} rounds, one core")
    print(f"default tagger: {med:.0f} articles/s ({1000 / med:.2f} ms per article); rounds: {', '.join(f'{r:.0f}' for r in rates)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
