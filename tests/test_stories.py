"""Stories: copies and rewrites share a story_id, within a run and across runs; distinct
stories on one topic do not; ids once written never change (rerun, compaction, streaming)."""

import datetime as dt
import json
import zlib

import duckdb
import pytest

from newsbeam.stories import (
    MEMBERS_KEPT,
    StorySig,
    assign_stories,
    candidate_pairs,
    local_pairs,
    members_of,
    signature,
    similarity,
)
from tests.conftest import SHARED_DATA, SHARED_SEEDS, needs_shared_data, needs_shared_seeds, run_cli

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc)  # in the past: the state horizon is capped at now

# Fictional reporting. TALKS and its rewrite tell one story; RAID shares the country, the
# armed group and the town with it (the topic words) but is another story.
TALKS = (
    "Negotiators from Veloria and the Northern Front met for a third day in Kestrel Ford on Tuesday and agreed "
    "on a prisoner exchange covering two hundred detainees, mediators from the Lakes Council said. The exchange "
    "would begin next week at the Orrin Pass crossing under observers from the council. Both delegations called "
    "the meeting constructive, although the question of disarmament remained open, and a fourth round was "
    "scheduled for December in the lakeside town of Tarn. Families of detainees gathered outside the conference "
    "hall waiting for lists of names, which the mediators promised to publish before the weekend."
)
TALKS_REWRITE = (
    "Veloria and the Northern Front agreed in Kestrel Ford to swap two hundred detainees, Lakes Council mediators "
    "announced after a third day of negotiations. The swap starts next week at the Orrin Pass crossing, watched by "
    "council observers. Delegations described the meeting as constructive; disarmament is still unresolved. A "
    "fourth round is planned for December in Tarn. Relatives of detainees waited outside the hall for the lists "
    "of names, which mediators said would be published before the weekend."
)
RAID = (
    "Fighters of the Northern Front raided a grain depot on the outskirts of Kestrel Ford before dawn on Sunday, "
    "the Veloria army said, killing two guards and setting fire to three warehouses. Residents reported gunfire "
    "for nearly an hour before army helicopters arrived. The army said it had sealed the roads toward the hills "
    "and was searching villages for the attackers. Farmers fear the loss of stored wheat will push bread prices "
    "higher in a region already short of flour after a dry summer, and the provincial governor asked for "
    "emergency deliveries from the capital."
)


def sig(text, when=NOW, title=None, source=None):
    return StorySig(when, signature(text), title, source)


def run_once(new, open_members=(), run_id="r1", **kw):
    open_members = list(open_members)
    return assign_stories(run_id, new, open_members, local_pairs(new, open_members), [], **kw)


def test_signature_and_similarity():
    assert signature("too short to tell") is None
    assert similarity(signature(TALKS), signature(TALKS)) == pytest.approx(1.0)
    assert similarity(signature(TALKS), signature(TALKS_REWRITE)) > 0.2
    assert similarity(signature(TALKS), signature(RAID)) < 0.12  # the threshold is 0.17


def test_rare_shared_words_link_more_than_common_ones():
    # Two pairs that each share six content words out of twelve: common news words in one,
    # particulars (names, places) in the other. Plain Jaccard cannot tell them apart.
    common = "government officials security forces police province"
    rare = "Veloria Kestrel Orrin Tarn Mardel Quillon"
    a = f"{common} Pellow Strade Ivenmoor Carrow Duneth Farrel"
    b = f"{common} Hathe Lunmere Osprey Wicken Brask Tollan"
    c = f"{rare} announced statement meeting tuesday morning capital"
    d = f"{rare} reported weather harvest school market river"
    assert similarity(signature(c), signature(d)) > 2 * similarity(signature(a), signature(b))


def test_word_weights_learn_from_the_documents_compared():
    # A name the shipped table never saw weighs as the rarest word there is, until the
    # documents being compared show it is everywhere in this run.
    from newsbeam.stories import WordWeights

    def veloria(vector):
        return vector.weights[list(vector.words).index(zlib.crc32(b"veloria"))]

    alone = WordWeights([signature(TALKS)]).vector(signature(TALKS))
    everywhere = WordWeights([signature(TALKS)] + [signature(f"Veloria {RAID} {i}") for i in range(200)])
    assert veloria(everywhere.vector(signature(TALKS))) < 0.5 * veloria(alone)
    # the same documents give the same weights (a rerun links the same pairs)
    again = WordWeights([signature(TALKS)] + [signature(f"Veloria {RAID} {i}") for i in range(200)])
    assert (again.vector(signature(TALKS)).weights == everywhere.vector(signature(TALKS)).weights).all()


def test_copies_and_rewrites_share_a_story_distinct_events_on_one_topic_do_not():
    wire = f"By Staff Reporter. {TALKS}"
    new = {
        "a": sig(TALKS, title="Prisoner swap agreed", source="Outlet A"),
        "b": sig(wire, title="Veloria and Front to swap detainees", source="Outlet B"),
        "c": sig(TALKS_REWRITE, source="Outlet C"),
        "d": sig(RAID, source="Outlet A"),
        "e": sig("a short note"),
    }
    result = run_once(new)
    story = result.assignment
    assert story["a"] == story["b"] == story["c"]
    assert len({story["a"], story["d"], story["e"]}) == 3
    rows = {r["story_id"]: r for r in result.rows.to_pylist()}
    assert rows[story["a"]]["article_count"] == 3
    assert rows[story["a"]]["sources"] == ["Outlet A", "Outlet B", "Outlet C"]
    assert rows[story["a"]]["first_headline"] == "Prisoner swap agreed"


def test_one_hundred_wire_copies_are_one_story():
    new = {f"copy{n:03d}": sig(f"{TALKS} Filed by outlet {n}.", source=f"outlet {n}") for n in range(100)}
    assert len(set(run_once(new).assignment.values())) == 1


def test_across_runs_the_open_story_keeps_its_id():
    first = run_once({"a": sig(TALKS)})
    second = run_once({"c": sig(TALKS_REWRITE, NOW + dt.timedelta(days=2))}, members_of(first.state), "r2")
    assert second.assignment["c"] == first.assignment["a"]
    row = second.rows.to_pylist()[0]
    assert row["first_seen"] == NOW and row["article_count"] == 1


def test_a_story_closes_after_its_window():
    first = run_once({"a": sig(TALKS)})
    later = run_once({"c": sig(TALKS_REWRITE, NOW + dt.timedelta(days=30))}, members_of(first.state), "r2")
    assert later.assignment["c"] != first.assignment["a"]
    # ... and the state forgets the closed story: it is bounded by the open window
    assert set(later.state.column("story_id").to_pylist()) == {later.assignment["c"]}


def test_state_keeps_a_few_recent_members_per_story():
    new = {f"copy{n:02d}": sig(f"{TALKS} Filed by outlet {n}.", NOW + dt.timedelta(minutes=n)) for n in range(20)}
    state = run_once(new).state
    assert state.num_rows == MEMBERS_KEPT
    assert sorted(state.column("article_id").to_pylist()) == [f"copy{n:02d}" for n in range(20 - MEMBERS_KEPT, 20)]


def test_two_stories_already_written_are_never_merged():
    x = run_once({"x": sig(TALKS)}, run_id="r1")
    y = run_once({"y": sig(RAID)}, run_id="r2")
    bridge = TALKS + " " + RAID  # like both
    result = run_once({"z": sig(bridge)}, members_of(x.state) + members_of(y.state), "r3")
    assert result.assignment["z"] in {x.assignment["x"], y.assignment["y"]}
    stories = {m.story_id for m in members_of(result.state)}
    assert stories == {x.assignment["x"], y.assignment["y"]}


def test_candidate_pairs_are_bounded_for_a_huge_bucket():
    refs = [f"n:{i:04d}" for i in range(1000)]
    pairs = candidate_pairs(refs)
    assert len(pairs) < 1000 * 25 and ("n:0000", "n:0999") in pairs
    assert candidate_pairs(["o:1", "o:2"]) == []  # only pairs that involve a new article


# -- end to end: the CLI, across runs, rerun and compaction ------------------------------


def _rows(out):
    return sorted(duckdb.execute(
        f"SELECT input, story_id FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true)"
    ).fetchall())


def _write(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


@pytest.fixture()
def runs(tmp_path):
    day1 = tmp_path / "day1.jsonl"
    day2 = tmp_path / "day2.jsonl"
    _write(day1, [
        {"id": "talks", "title": "Prisoner swap agreed", "text": TALKS, "source": "Outlet A", "published_at": "2026-11-17T09:00:00Z"},
        {"id": "raid", "title": "Depot raided", "text": RAID, "source": "Outlet B", "published_at": "2026-11-17T10:00:00Z"},
    ])
    _write(day2, [
        {"id": "rewrite", "title": "Detainee swap next week", "text": TALKS_REWRITE, "source": "Outlet C",
         "published_at": "2026-11-18T08:00:00Z"},
    ])
    return tmp_path, day1, day2


def test_story_ids_across_runs_rerun_and_compaction(runs):
    tmp_path, day1, day2 = runs
    out = tmp_path / "out"
    assert run_cli("run", "--input", str(day1), "--output", str(out)).returncode == 0
    first = dict(_rows(out))
    proc = run_cli("run", "--input", str(day2), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    after = dict(_rows(out))
    talks, raid, rewrite = (next(v for k, v in after.items() if k.endswith(f"#{n}")) for n in ("talks", "raid", "rewrite"))
    assert rewrite == talks != raid
    assert {k: v for k, v in after.items() if k in first} == first  # run 2 changed nothing already written
    stories = duckdb.execute(
        f"SELECT story_id, run_id, article_count, first_headline, sources FROM read_parquet('{out}/stories/*.parquet') ORDER BY run_id"
    ).fetchall()
    assert len(stories) == 3 and [s for s in stories if s[0] == talks][-1][2:] == (1, "Prisoner swap agreed", ["Outlet C"])
    # a rerun writes nothing and changes nothing; a compaction neither
    again = run_cli("run", "--input", str(day1), "--input", str(day2), "--output", str(out))
    assert again.returncode == 0 and "written    0 articles" in again.stdout
    assert dict(_rows(out)) == after
    assert run_cli("compact", "--output", str(out), "--min-files", "1").returncode == 0
    assert dict(_rows(out)) == after
    report = run_cli("report", "--output", str(out), "--html", str(tmp_path / "r.html"))
    assert report.returncode == 0 and "3 articles (2 stories)" in report.stdout
    assert "new stories" in (tmp_path / "r.html").read_text()


def test_stories_off(runs, tmp_path):
    _tmp, day1, _day2 = runs
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps({"inputs": [str(day1)], "output": {"path": str(tmp_path / "o")}, "stories": {"enabled": False}}))
    assert run_cli("run", "--config", str(config)).returncode == 0
    assert {s for _i, s in _rows(tmp_path / "o")} == {None}
    assert not (tmp_path / "o" / "stories").exists()


@needs_shared_seeds
@needs_shared_data
def test_every_real_article_gets_a_story_and_the_seed_rounds_of_talks_stay_apart(tmp_path):
    """The seeds, the fundus pages and the full-text entries of the real feeds, in one run."""
    out = tmp_path / "out"
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps({
        "inputs": [str(SHARED_SEEDS / "*.txt"), str(SHARED_DATA / "extraction" / "fundus_eval" / "html" / "*.html.gz")],
        "feeds": [str(p) for p in sorted((SHARED_DATA / "feeds").rglob("*.xml"))],
        "output": {"path": str(out)},
        "fetch": {"enabled": False},
    }))
    proc = run_cli("run", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    rows = duckdb.execute(f"SELECT input, story_id FROM read_parquet('{out}/articles/**/*.parquet')").fetchall()
    assert len(rows) > 150 and all(story for _input, story in rows)
    seeds = {story for inp, story in rows if inp.startswith(str(SHARED_SEEDS))}
    assert len(seeds) == 5  # 2010, 2013 (twice), 2018 and 2021: their content words overlap < 0.09
    assert len({story for _i, story in rows}) > len(rows) // 2


def test_the_commit_rewrites_a_large_file_in_batches_dropping_losers_and_stamping_ids(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from newsbeam.commit import REWRITE_BATCH_ROWS, _final_copy
    from newsbeam.records import ShardInfo

    n = REWRITE_BATCH_ROWS * 2 + 500
    schema = pa.schema([("article_id", pa.string()), ("story_id", pa.string()), ("text", pa.string())],
                       metadata={"newsbeam.schema": "test"})
    ids = [f"a{i}" for i in range(n)]
    pq.write_table(pa.table({"article_id": ids, "story_id": [None] * n, "text": ids}, schema=schema), tmp_path / "s.parquet")
    drop = {0, REWRITE_BATCH_ROWS - 1, REWRITE_BATCH_ROWS, n - 1}
    path, kept = _final_copy(ShardInfo("articles", str(tmp_path / "s.parquet"), "s.parquet", n), drop,
                             {a: f"s-{a}" for a in ids}, "zstd")
    out = pq.read_table(path)
    assert kept == out.num_rows == n - len(drop)
    assert out.column("article_id").to_pylist() == [a for i, a in enumerate(ids) if i not in drop]
    assert out.column("story_id").to_pylist() == [f"s-{a}" for i, a in enumerate(ids) if i not in drop]
    assert out.schema.metadata == schema.metadata
