"""Source and target actors measured on the PLOVER gold-standard sentences.

The actor coder is rules and a gazetteer, nothing trained, so no training split applies;
what must not happen is tuning the rules on the sentences they are scored on. The
sentences are therefore split once, by a hash of their id, into a **dev** half (read
while the rules were written and adjusted) and a **held-back** half (only ever scored,
never read sentence by sentence). The README quotes the held-back half.

Scoring is set-level, per sentence and role: the set of country/IGO codes predicted as
source against the gold set (the same for target), summed over sentences into precision,
recall and F1 (micro). Sectors are scored as (code, sector) pairs on the gold actors that
carry a sector. The coder is given the gold event type, so the figures measure the actor
coding alone; ``end to end`` uses the type the fast tagger predicts.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import defaultdict

import yaml

from training import data

SPLITS = ("dev", "held-back")
_BRACES = re.compile(r"[{}]")


def split_of(item_id: str) -> str:
    return SPLITS[data.bucket(f"actors:{item_id}", 2)]


def gold_rows() -> list[dict]:
    with open(data.SHARED / "events" / "plover_gsr_dev.csv", encoding="utf-8") as fh:
        rows = []
        for r in csv.DictReader(fh):
            rows.append({
                "id": r["id"],
                "text": _BRACES.sub("", r["text"]).strip(),
                "label": r["label"],
                "source": json.loads(r["source"] or "[]"),
                "target": json.loads(r["target"] or "[]"),
                "split": split_of(r["id"]),
            })
        return rows


def _codes(actors: list[dict]) -> set[str]:
    return {a["code"] for a in actors if a.get("code")}


def _sectors(actors: list[dict]) -> set[tuple[str, str]]:
    return {(a.get("code") or "-", a["sector"]) for a in actors if a.get("sector")}


class Counts:
    def __init__(self):
        self.tp = self.fp = self.fn = 0

    def add(self, pred: set, gold: set) -> None:
        self.tp += len(pred & gold)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def coder():
    from newsbeam.tagging.actors import ActorCoder, Gazetteer
    from newsbeam.tagging.events import compile_patterns

    taxonomy = yaml.safe_load((data.REPO / "configs" / "taxonomy" / "plover.yaml").read_text())
    gazetteer = Gazetteer(yaml.safe_load((data.REPO / "configs" / "taxonomy" / "actors.yaml").read_text()))
    return ActorCoder(gazetteer, dict(compile_patterns(taxonomy).patterns))


def score(rows: list[dict], predict) -> dict[str, dict[str, Counts]]:
    """Counts per role ('source', 'target', 'source sector', 'target sector') and per event type ('all' too)."""
    out: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    for row in rows:
        pred = predict(row)
        for role in ("source", "target"):
            for key in ("all", row["label"]):
                out[key][role].add(_codes(pred[role]), _codes(row[role]))
                gold_sectors = _sectors(row[role])
                if gold_sectors:
                    sectored_codes = {c for c, _ in gold_sectors}
                    pred_sectors = {(a.get("code") or "-", a.get("sector")) for a in pred[role] if (a.get("code") or "-") in sectored_codes}
                    out[key][f"{role} sector"].add(pred_sectors, gold_sectors)
    return out


def _fmt(c: Counts) -> str:
    p, r, f = c.prf()
    return f"{p:.2f} / {r:.2f} / **{f:.2f}**"


def eval_actors(tagger=None) -> tuple[list[str], dict[str, float]]:
    if not (data.SHARED / "events" / "plover_gsr_dev.csv").exists():
        return [], {}
    rows = gold_rows()
    actor_coder = coder()

    def with_gold(row):
        return actor_coder.code(row["text"], row["label"])

    numbers: dict[str, float] = {}
    sections = [
        "## Actors: source and target (PLOVER gold sentences)",
        "",
        "Rules and a gazetteer (`configs/taxonomy/actors.yaml`), nothing trained. The 109 sentences are split by a hash"
        " of their id: **dev** was read while the rules were written, **held-back** only scored. Set-level"
        " precision / recall / F1 of the country and IGO codes per sentence (micro-averaged); sectors as (code, sector)"
        " pairs where the gold gives one. The coder is told the gold event type.",
        "",
        "| split | sentences | source P / R / F1 | target P / R / F1 | source sector F1 | target sector F1 |",
        "|---|---|---|---|---|---|",
    ]
    per_split = {}
    for split in SPLITS:
        subset = [r for r in rows if r["split"] == split]
        counts = score(subset, with_gold)
        per_split[split] = counts
        a = counts["all"]
        sections.append(
            f"| {split} | {len(subset)} | {_fmt(a['source'])} | {_fmt(a['target'])} | "
            f"{a['source sector'].prf()[2]:.2f} | {a['target sector'].prf()[2]:.2f} |"
        )
        key = split.replace("-", "_")
        for role in ("source", "target", "source sector", "target sector"):
            numbers[f"actors_{key}_{role.replace(' ', '_')}_f1"] = a[role].prf()[2]
    if tagger is not None:
        def end_to_end(row):
            result = tagger.tag(None, row["text"])
            return result.actors or {"source": [], "target": []}

        held = [r for r in rows if r["split"] == "held-back"]
        a = score(held, end_to_end)["all"]
        sections.append(f"| held-back, end to end (predicted type) | {len(held)} | {_fmt(a['source'])} | {_fmt(a['target'])} | "
                        f"{a['source sector'].prf()[2]:.2f} | {a['target sector'].prf()[2]:.2f} |")
        numbers["actors_held_back_end_to_end_source_f1"] = a["source"].prf()[2]
        numbers["actors_held_back_end_to_end_target_f1"] = a["target"].prf()[2]
    sections += ["", "Per event type, held-back and dev together (F1; few sentences each):", "",
                 "| event type | sentences | source F1 | target F1 |", "|---|---|---|---|"]
    both = score(rows, with_gold)
    by_type = defaultdict(int)
    for r in rows:
        by_type[r["label"]] += 1
    for label in sorted(by_type):
        c = both[label]
        sections.append(f"| {label} | {by_type[label]} | {c['source'].prf()[2]:.2f} | {c['target'].prf()[2]:.2f} |")
    sections.append("")
    return sections, numbers


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--errors" in argv:
        # The dev half only: the held-back half is never read sentence by sentence.
        actor_coder = coder()
        for row in gold_rows():
            if row["split"] != "dev":
                continue
            pred = actor_coder.code(row["text"], row["label"])
            if _codes(pred["source"]) != _codes(row["source"]) or _codes(pred["target"]) != _codes(row["target"]):
                print(row["label"], row["text"])
                print("   gold", sorted(_codes(row["source"])), "->", sorted(_codes(row["target"])),
                      " pred", sorted(_codes(pred["source"])), "->", sorted(_codes(pred["target"])))
        return 0
    sections, numbers = eval_actors()
    print("\n".join(sections))
    print({k: round(v, 3) for k, v in numbers.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
