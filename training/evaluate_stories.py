"""How well ``story_id`` groups FNC-1's bodies into their stories (``make eval``, or alone).

FNC-1's 1,683 bodies form natural stories: bodies tied by a related (agree / disagree /
discuss) claim are about the same story, and the connected groups are gold clusters. The
same 20 % of stories as the stance evaluation are held back (``data.fnc_story_groups``):
the threshold is chosen on the other 80 % only (``--sweep``), and the held-back number is
the one to quote.

The measurement runs the real CLI: every body is a JSON Lines row, the rows are split
into three files by a hash of the body id, and ``newsbeam run`` is called once per file
on the same output, so two thirds of the links must be found across runs through the
stored story state. Scores: adjusted Rand index and pairwise precision / recall / F1 of
``story_id`` against the gold stories, over the held-back bodies and over the rest.

    .venv/bin/python -m training.evaluate_stories [--threshold T] [--sweep]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from training import data

RUNS = 3


def gold() -> tuple[dict[int, str], set[int]]:
    """Each body's gold story, and the held-back bodies."""
    stances = data.fnc_stances()
    find, held_roots = data.fnc_story_groups(stances)
    bodies = data.fnc_bodies()
    story = {b: find(f"b{b}") for b in bodies}
    return story, {b for b, s in story.items() if s in held_roots}


def pairwise(pred: list[str], truth: list[str]) -> tuple[float, float, float]:
    def pairs(labels) -> int:
        return sum(n * (n - 1) // 2 for n in collections.Counter(labels).values())

    tp = pairs(list(zip(pred, truth, strict=True)))
    pp, gp = pairs(pred), pairs(truth)
    p = tp / pp if pp else 1.0
    r = tp / gp if gp else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def scores(assigned: dict[int, str], story: dict[int, str], bodies: set[int]) -> dict:
    from sklearn.metrics import adjusted_rand_score

    ids = sorted(b for b in bodies if b in assigned)
    pred, truth = [assigned[b] for b in ids], [story[b] for b in ids]
    p, r, f = pairwise(pred, truth)
    return {"bodies": len(ids), "gold_stories": len(set(truth)), "predicted_stories": len(set(pred)),
            "ari": adjusted_rand_score(truth, pred), "precision": p, "recall": r, "f1": f}


def run_cli(threshold: float, workdir: Path) -> dict[int, str]:
    """Three ``newsbeam run`` calls on one output; returns body id -> story_id."""
    import duckdb

    bodies = data.fnc_bodies()
    parts = [workdir / f"part{n}.jsonl" for n in range(RUNS)]
    handles = [p.open("w", encoding="utf-8") for p in parts]
    for body_id, text in sorted(bodies.items()):
        row = {"id": str(body_id), "text": text, "source": f"outlet{body_id % 7}"}
        handles[data.bucket(f"run-{body_id}", RUNS)].write(json.dumps(row) + "\n")
    for h in handles:
        h.close()
    output = workdir / "out"
    for n, part in enumerate(parts):
        config = workdir / f"run{n}.yaml"
        config.write_text(json.dumps({
            "inputs": [str(part)],
            "output": {"path": str(output), "partition_by": []},
            "read": {"min_words": 1},
            "fetch": {"enabled": False},
            "stories": {"threshold": threshold},
        }))
        subprocess.run([sys.executable, "-m", "newsbeam", "run", "--config", str(config)], check=True,
                       stdout=subprocess.DEVNULL)
    rows = duckdb.sql(f"SELECT input, story_id FROM read_parquet('{output}/articles/**/*.parquet')").fetchall()
    return {int(inp.rsplit("#", 1)[1]): sid for inp, sid in rows}


def run_local(threshold: float) -> dict[int, str]:
    """The same three runs in this process (the story step only): for the threshold sweep."""
    from newsbeam.stories import StorySig, assign_stories, local_pairs, members_of, signature

    now = dt.datetime.now(dt.timezone.utc)
    runs: list[dict[str, StorySig]] = [{} for _ in range(RUNS)]
    for body_id, text in data.fnc_bodies().items():
        runs[data.bucket(f"run-{body_id}", RUNS)][str(body_id)] = StorySig(now, signature(text), None, None)
    open_members, out = [], {}
    for n, new in enumerate(runs):
        result = assign_stories(f"run{n}", new, open_members, local_pairs(new, open_members), [], threshold=threshold)
        open_members = members_of(result.state)
        out.update({int(k): v for k, v in result.assignment.items()})
    return out


def fmt(name: str, s: dict) -> str:
    return (f"| {name} | {s['bodies']} | {s['gold_stories']} | {s['predicted_stories']} | {s['ari']:.3f} | "
            f"{s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} |")


HEADER = ("| split | bodies | gold stories | predicted | ARI | pairwise P | pairwise R | pairwise F1 |\n"
          "|---|---|---|---|---|---|---|---|")


def eval_stories(threshold: float | None = None) -> tuple[list[str], dict[str, float]]:
    """The EVALUATION.md section (``make eval``) and its numbers."""
    from newsbeam.stories import DEFAULT_THRESHOLD

    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    story, held = gold()
    with tempfile.TemporaryDirectory() as tmp:
        assigned = run_cli(threshold, Path(tmp))
    held_s, tune_s = scores(assigned, story, held), scores(assigned, story, set(story) - held)
    sections = [
        "## Stories: `story_id` against FNC-1's stories",
        "",
        f"Bodies tied by a related claim form one gold story. Every body is a JSON Lines row; the rows go to {RUNS}"
        " `newsbeam run` calls on one output, so most links are found across runs through the stored story state."
        f" Threshold {threshold}, chosen on the tuning stories only; the held-back stories are the stance evaluation's.",
        "",
        HEADER,
        fmt("held-back (20 % of stories)", held_s),
        fmt("tuning (80 %)", tune_s),
        "",
    ]
    numbers = {f"stories_{split}_{k}": v for split, sc in (("held", held_s), ("tune", tune_s))
               for k, v in sc.items() if k in ("ari", "precision", "recall", "f1")}
    return sections, numbers


def main(argv: list[str] | None = None) -> None:
    from newsbeam.stories import DEFAULT_THRESHOLD

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--sweep", action="store_true", help="in-process sweep of the threshold on the tuning stories")
    args = ap.parse_args(argv)
    if not data.SHARED.exists():
        sys.exit("../shared/data is not here: nothing to measure")
    story, held = gold()
    tune = set(story) - held
    if args.sweep:
        print("tuning stories only (80 %), three runs in-process")
        print(HEADER)
        for t in (0.13, 0.14, 0.15, 0.16, 0.17, 0.18, 0.19, 0.2, 0.22, 0.25):
            print(fmt(f"tune, threshold {t}", scores(run_local(t), story, tune)), flush=True)
        return
    print("\n".join(eval_stories(args.threshold)[0]))


if __name__ == "__main__":
    main()
