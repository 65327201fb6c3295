"""Extraction quality on the hand-labelled news pages of ../shared/data/extraction/fundus_eval.

Compares newsbeam's extracted text (the pipeline's Extractor) and plain
``trafilatura.extract`` with the ground-truth body paragraphs, as bag-of-words precision,
recall and F1 per page (averaged over pages). Usage:

    .venv/bin/python benchmarks/extraction_quality.py [DATA_DIR]
"""

from __future__ import annotations

import collections
import gzip
import json
import re
import statistics
import sys
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "extraction" / "fundus_eval"
_WORD = re.compile(r"\w+", re.UNICODE)


def prf(predicted: str, truth: str) -> tuple[float, float, float]:
    p = collections.Counter(_WORD.findall(predicted.lower()))
    t = collections.Counter(_WORD.findall(truth.lower()))
    overlap = sum((p & t).values())
    if not p or not t:
        return 0.0, 0.0, 0.0
    precision, recall = overlap / sum(p.values()), overlap / sum(t.values())
    f1 = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return precision, recall, f1


def main(data_dir: Path) -> int:
    import trafilatura

    from newsbeam.extraction import ExtractionError, Extractor
    from newsbeam.records import KIND_HTML, RawDocument
    from newsbeam.text import decode_bytes

    truth = json.loads((data_dir / "ground_truth.json").read_text())
    extractor = Extractor(min_words=20)
    scores = {"newsbeam": [], "trafilatura.extract": []}
    failures = 0
    for name, item in sorted(truth.items()):
        html, _ = decode_bytes(gzip.decompress((data_dir / "html" / name).read_bytes()))
        gold = "\n".join(item["body"])
        try:
            ours = extractor.extract(RawDocument(input=name, kind=KIND_HTML, body=html, url=item.get("url"))).text
        except ExtractionError:
            ours, failures = "", failures + 1
        scores["newsbeam"].append(prf(ours, gold))
        scores["trafilatura.extract"].append(prf(trafilatura.extract(html, url=item.get("url")) or "", gold))
    print(f"pages: {len(truth)}  (newsbeam extraction failures: {failures})")
    print(f"{'extractor':22} {'precision':>9} {'recall':>7} {'F1':>6} {'median F1':>9}")
    for label, rows in scores.items():
        p, r, f = (statistics.mean(x[i] for x in rows) for i in range(3))
        print(f"{label:22} {p:9.3f} {r:7.3f} {f:6.3f} {statistics.median(x[2] for x in rows):9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA))
