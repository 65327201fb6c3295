"""Tagging speed: both tiers on 600-word articles with three claims, one core.

``fast-no-actors`` is the fast tier without the actor coding (``tagging.actors: null``),
timed in the same alternating rounds: the ratio is what actors cost.

Uses the real news pages of ../shared/data/extraction when present (their extracted text
cut or repeated to 600 words), generated text otherwise. Reports the median of rounds.

    .venv/bin/python benchmarks/tag_bench.py [--articles 300] [--rounds 5] [--tiers fast,fast-no-actors,accurate]
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
    parser.add_argument("--tiers", default="fast,fast-no-actors,accurate", help="tiers to time, alternating rounds (accurate only if installed)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from newsbeam.pipelines.config import load_config
    from newsbeam.tagging import Claim, Tagger
    from newsbeam.tagging.encoder import EncoderUnavailable, check_available

    cfg = load_config(None)
    tiers = args.tiers.split(",")
    if "accurate" in tiers:
        try:
            check_available()
            import torch

            torch.set_num_threads(1)  # one core, like the fast tier
        except (EncoderUnavailable, ImportError):
            tiers.remove("accurate")
    taggers = {
        t: Tagger(cfg.taxonomy, cfg.tone_lexicon, [Claim(c.id, c.text) for c in cfg.claims], tier=t.split("-")[0],
                  actors=None if t.endswith("no-actors") else cfg.actors)
        for t in tiers
    }
    docs = texts(args.articles)
    rates: dict[str, list[float]] = {t: [] for t in tiers}
    for _ in range(args.rounds):
        for tier, tagger in taggers.items():
            encoder = tagger.events_model.encoder
            if encoder is not None:
                encoder._cache.clear()  # every round encodes its sentences afresh
            n = max(20, len(docs) // 10) if tier == "accurate" else len(docs)
            start = time.perf_counter()
            for doc in docs[:n]:
                tagger.tag("A headline about the talks", doc)
            rates[tier].append(n / (time.perf_counter() - start))
    print(f"{len(docs)} articles of {WORDS} words (accurate: the first tenth), {len(cfg.claims)} claims, {args.rounds} rounds"
          " alternating, one core")
    for tier, values in rates.items():
        med = statistics.median(values)
        print(f"{tier} tier: {med:.1f} articles/s ({1000 / med:.2f} ms per article); rounds: {', '.join(f'{r:.1f}' for r in values)}")
    if "fast" in rates and "accurate" in rates:
        print(f"accurate / fast time per article: {statistics.median(rates['fast']) / statistics.median(rates['accurate']):.1f}x")
    if "fast" in rates and "fast-no-actors" in rates:
        ratio = statistics.median(rates["fast-no-actors"]) / statistics.median(rates["fast"])
        print(f"fast with actors / without, time per article: {ratio:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
