"""Source and target actors: the gazetteer, the role rules, the columns, `tag`, the report."""

import json

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from newsbeam.tagging.actors import ActorCoder, Gazetteer, GazetteerError, merge_gazetteers, tokenize
from newsbeam.tagging.events import compile_patterns
from tests.conftest import (
    REPO,
    SAMPLE_CONFIG,
    SHARED_DATA,
    SHARED_SEEDS,
    needs_shared_data,
    needs_shared_seeds,
    run_cli,
)

WORLD = yaml.safe_load((REPO / "configs" / "taxonomy" / "actors.yaml").read_text())
TAXONOMY = yaml.safe_load((REPO / "configs" / "taxonomy" / "plover.yaml").read_text())


@pytest.fixture(scope="module")
def coder():
    return ActorCoder(Gazetteer(WORLD), dict(compile_patterns(TAXONOMY).patterns))


def names(sentence: str, gazetteer=None) -> list[tuple[str, str | None, str]]:
    g = gazetteer or Gazetteer(WORLD)
    words = [w for w, _, _ in tokenize(sentence)]
    return [(" ".join(words[m.start : m.end]), m.entry.code, m.entry.kind) for m in g.mentions(words)]


def roles(coder, sentence: str, event_type: str) -> tuple[list, list]:
    out = coder.code(sentence, event_type)
    return ([(a["code"], a["sector"]) for a in out["source"]], [(a["code"], a["sector"]) for a in out["target"]])


# -- the gazetteer ----------------------------------------------------------------------


def test_names_match_on_word_boundaries_and_the_longest_name_wins():
    assert names("Nigerian troops crossed into Niger from Nigeria.") == [
        ("Nigerian", "NGA", "name"), ("troops", None, "sector"), ("Niger", "NER", "name"), ("Nigeria", "NGA", "name")]
    assert [n[:2] for n in names("South Sudan and Sudan met.")] == [("South Sudan", "SSD"), ("Sudan", "SDN")]
    # a longer name that is no actor keeps the shorter one from matching inside it
    assert names("Prices rose across Latin America.") == []
    assert names("The Romanian envoy left Germanyville.") == [("Romanian", "ROU", "name"), ("envoy", None, "sector")]


def test_case_rules_keep_common_words_out():
    assert names("Let us hope the chad falls off.") == []
    assert [n[1] for n in names("The US and the UN agreed.")] == ["USA", "IGO"]
    # a headline in capitals: abbreviations are not trusted, names still are
    assert [n[1] for n in names("LET US PRAY FOR PAKISTAN")] == ["PAK"]


def test_dotted_possessive_and_hyphenated_forms():
    assert [n[1] for n in names("U.S. officials met Pakistan's army chief at a US-led base.")] == [
        "USA", None, "PAK", None, "USA"]


def test_conflicting_entries_and_bad_values_are_config_errors():
    with pytest.raises(GazetteerError, match="already"):
        Gazetteer({"countries": {"AAA": {"names": ["Xland"]}, "BBB": {"names": ["Xland"]}}})
    with pytest.raises(GazetteerError, match="sector"):
        Gazetteer({"groups": [{"names": ["Front"], "code": "AAA", "sector": "ARMY"}]})
    with pytest.raises(GazetteerError, match="three capital letters"):
        Gazetteer({"groups": [{"names": ["Front"], "code": "afg"}]})
    with pytest.raises(GazetteerError, match="unknown section"):
        Gazetteer({"contries": {}})
    with pytest.raises(GazetteerError, match="list of names"):
        Gazetteer({"countries": {"AAA": {"names": "Xland"}}})


def test_files_merge_a_topic_onto_the_world(coder):
    topic = {"countries": {"AFG": {"places": ["Dand-e Ghori"]}}, "people": [{"names": ["Jan Doe"], "code": "AFG", "sector": "GOV"}]}
    merged = Gazetteer(merge_gazetteers([WORLD, topic]))
    assert [n[1] for n in names("Jan Doe visited Dand-e Ghori and Kabul.", merged)] == ["AFG", "AFG", "AFG"]
    assert names("Jan Doe visited Dand-e Ghori.") == []


def test_a_bad_gazetteer_in_config_is_exit_2(tmp_path):
    (tmp_path / "actors.yaml").write_text("groups:\n  - {names: [Front], code: AFG, sector: ARMY}\n")
    (tmp_path / "c.yaml").write_text("tagging:\n  actors: actors.yaml\n")
    proc = run_cli("run", "--config", str(tmp_path / "c.yaml"), "--input", str(tmp_path / "none.txt"),
                   "--output", str(tmp_path / "out"))
    assert proc.returncode == 2 and "tagging.actors" in proc.stderr and "ARMY" in proc.stderr


# -- who is source, who is target ---------------------------------------------------------


def test_the_issue_examples(coder):
    assert roles(coder, "Taliban fighters attacked a police checkpoint in Kunduz", "ASSAULT") == (
        [("AFG", "REB")], [("AFG", "COP")])
    source, target = roles(coder, "U.S. and Afghanistan Commit to Taliban Talks, Again", "CONSULT")
    assert source == [("USA", None), ("AFG", None)] and target == [("AFG", "REB")]


def test_passive_voice_swaps_the_roles(coder):
    assert roles(coder, "An Afghan army convoy was ambushed by Taliban insurgents near Ghazni.", "ASSAULT") == (
        [("AFG", "REB")], [("AFG", "MIL")])


def test_between_names_every_party_or_the_mediated_ones(coder):
    assert roles(coder, "Talks between the United States and the Taliban resumed in Doha.", "CONSULT") == (
        [("USA", None), ("AFG", "REB")], [])
    assert roles(coder, "Qatar hosted talks between the United States and the Taliban.", "CONSULT") == (
        [("QAT", None)], [("USA", None), ("AFG", "REB")])


def test_reported_speech_drops_the_speaker_unless_it_acts(coder):
    # the speaker after the event ("..., Indian officials said") is not a party
    assert roles(coder, "Pakistani troops shelled villages in Kashmir, Indian officials said.", "ASSAULT") == (
        [("PAK", "MIL")], [("IND", None)])
    # "according to X" neither
    assert roles(coder, "Russia and Ukraine agreed to swap prisoners, according to Turkey.", "AGREE")[0] == [
        ("RUS", None), ("UKR", None)]
    # a reported clause with its own subject: the speaker is not the actor
    assert roles(coder, "Iran said Israeli jets bombed a base near Damascus.", "ASSAULT") == ([("ISR", "MIL")], [("SYR", None)])
    # a reported clause without one: the speaker is
    assert roles(coder, "Pakistan said it would release 20 Taliban prisoners.", "CONCEDE") == (
        [("PAK", None)], [("AFG", "REB")])


def test_a_trailing_clause_belongs_to_the_sentence_subject(coder):
    # the cue ("warning") sits in a clause with no subject of its own: the sentence's first actor acts
    assert roles(coder, "The Russian president met Chinese officials in Moscow on Thursday, warning that Ukraine "
                        "would face a strike.", "THREATEN") == ([("RUS", "GOV")], [("UKR", None)])


def test_a_sector_alone_takes_the_country_of_the_place(coder):
    assert roles(coder, "Police arrested 40 protesters in Lagos on Monday.", "COERCE") == (
        [("NGA", "COP")], [("NGA", "CVL")])
    # with no place in the sentence, the article's main country (given by the tagger)
    assert coder.code("Gunmen killed three soldiers.", "ASSAULT", context_code="MLI")["target"][0]["code"] == "MLI"


def test_no_actor_no_roles(coder):
    assert coder.code("Prices of bread rose again this week.", "PROTEST") == {"source": [], "target": []}


# -- through the tagger, the pipeline, `tag` and the report ---------------------------------


def test_each_event_type_found_gets_its_actors(sample_config):
    from newsbeam.tagging import Tagger

    tagger = Tagger(sample_config.taxonomy, sample_config.tone_lexicon, [], actors=sample_config.actors)
    result = tagger.tag(
        "Northern Front fighters attack army post near Orrin Pass",
        "Northern Front fighters attacked an army post near Orrin Pass on Monday, killing four soldiers. "
        "The Lakes Council condemned the attack and urged both sides to return to the Marrow Valley talks.",
    )
    assert result.event_type == "ASSAULT"
    first = result.event_actors[0]
    assert first["event_type"] == "ASSAULT" and first["evidence"]
    assert result.primary_codes() == (["XVL"], ["XVL"])
    assert {a["sector"] for a in first["source"]} == {"REB"}
    assert Tagger(sample_config.taxonomy, sample_config.tone_lexicon, []).tag("x", "Gunmen attacked Kabul.").event_actors == []


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("actors") / "out"
    assert run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out)).returncode == 0
    return out


def test_articles_carry_event_actors_and_flat_codes(sample_out):
    rows = duckdb.sql(
        f"SELECT title, event_type, source_codes, target_codes, event_actors "
        f"FROM read_parquet('{sample_out}/articles/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    by_title = {r[0]: r for r in rows}
    _, event_type, source, target, event_actors = by_title["Lakes Council says ceasefire in border districts is holding"]
    assert event_type == event_actors[0]["event_type"]
    assert source == ["IGO"] and "XVL" in target
    assert all(set(a) == {"text", "code", "sector"} for e in event_actors for a in e["source"] + e["target"])
    # NONE has no actors
    assert all(r[4] == [] and r[2] == [] for r in rows if r[1] == "NONE")


def test_the_dyad_recipe_and_the_report(sample_out):
    dyads = duckdb.sql(f"""
        SELECT event_type, s AS source, t AS target, count(*) AS articles
        FROM read_parquet('{sample_out}/articles/**/*.parquet', hive_partitioning = true),
             unnest(source_codes) AS u(s), unnest(target_codes) AS v(t)
        GROUP BY ALL ORDER BY articles DESC
    """).fetchall()
    assert dyads and all(len(r[1]) == 3 and len(r[2]) == 3 for r in dyads)
    proc = run_cli("report", "--output", str(sample_out))
    assert proc.returncode == 0 and "top dyads:" in proc.stdout
    html = (sample_out / "report.html").read_text()
    assert "id='dyads'" in html and "\u2192" in html


def test_files_written_before_actors_still_read(sample_out, tmp_path):
    """An output with files from before the actor columns: readers see nulls, the report works."""
    import shutil

    from newsbeam.dataset import open_dataset

    out = tmp_path / "out"
    shutil.copytree(sample_out, out)
    first = sorted((out / "articles").rglob("part-*.parquet"))[0]
    old = pq.read_table(first)
    pq.write_table(old.drop_columns(["event_actors", "source_codes", "target_codes"]), first)
    table = open_dataset(str(out)).to_table()
    assert table.num_rows == duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{sample_out}/articles/**/*.parquet')").fetchall()[0][0]
    assert "event_actors" in table.schema.names and table.column("source_codes").null_count == old.num_rows
    assert run_cli("report", "--output", str(out)).returncode == 0


def test_tag_writes_the_primary_actors(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text(json.dumps({"id": 1, "text": "Taliban fighters attacked a police checkpoint in Kunduz on Sunday, "
                                                "killing five officers, officials said."}) + "\n")
    proc = run_cli("tag", str(inp), str(out))
    assert proc.returncode == 0, proc.stderr
    row = json.loads(out.read_text())
    assert row["event_type"] == "ASSAULT"
    assert row["actors"] == {"source": ["AFG"], "target": ["AFG"]}
    assert row["event_actors"][0]["source"][0] == {"text": "Taliban fighters", "code": "AFG", "sector": "REB"}


@needs_shared_seeds
def test_the_seed_on_talks_names_the_us_and_afghanistan(tmp_path):
    out = tmp_path / "out"
    assert run_cli("run", "--input", str(SHARED_SEEDS / "*.txt"), "--output", str(out)).returncode == 0
    rows = duckdb.sql(
        f"SELECT title, event_actors FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    talks = next(actors for title, actors in rows if title.startswith("U.S. and Afghanistan Commit"))
    consult = next(e for e in talks if e["event_type"] == "CONSULT")
    codes = {a["code"] for a in consult["source"] + consult["target"]}
    assert {"USA", "AFG"} <= codes



@needs_shared_seeds
@needs_shared_data
def test_report_and_dyad_recipe_on_the_seeds_and_the_fundus_pages(tmp_path):
    out = tmp_path / "out"
    pages = SHARED_DATA / "extraction" / "fundus_eval" / "html" / "*.html.gz"
    assert run_cli("run", "--input", str(SHARED_SEEDS / "*.txt"), "--input", str(pages), "--output", str(out)).returncode == 0
    dyads = duckdb.sql(f"""
        SELECT date_trunc('week', published_at) AS week, event_type, s AS source, t AS target, count(*) AS articles
        FROM read_parquet('{out}/articles/**/*.parquet', hive_partitioning = true, union_by_name = true),
             unnest(source_codes) AS u(s), unnest(target_codes) AS v(t)
        GROUP BY ALL ORDER BY week, articles DESC
    """).fetchall()
    assert len(dyads) >= 10 and {"USA", "AFG"} <= {code for row in dyads for code in row[2:4]}
    proc = run_cli("report", "--output", str(out))
    assert proc.returncode == 0 and "top dyads:" in proc.stdout
