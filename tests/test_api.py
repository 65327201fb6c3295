"""The Python API (newsbeam.run / tag / connect): a driver over the same core as the CLI."""

import json

import pytest

import newsbeam
from tests.conftest import SAMPLE_CONFIG, run_cli

TALIBAN = "Taliban fighters attacked a police checkpoint in Kandahar on Monday, killing four officers."


def test_run_then_connect_gives_the_stored_rows(tmp_path):
    out = tmp_path / "out"
    summary = newsbeam.run(config=str(SAMPLE_CONFIG), output=out)
    assert summary.articles == 11 and summary.duplicates == 1 and summary.errors == 0
    assert summary.output == str(out) and summary.run_id in str(summary)
    con = newsbeam.connect(str(out))
    assert con.sql("select count(*) from articles").fetchall() == [(summary.articles,)]
    # one row per (article, claim) and per event type found, as the README's queries shape them
    claims = con.sql("select count(distinct claim_id) from stances").fetchall()[0][0]
    assert claims == 3
    assert con.sql("select count(*) from stances").fetchall() == [(summary.articles * claims,)]
    events = con.sql("select count(*), count(*) filter (where primary_event) from events").fetchall()[0]
    assert events[0] >= events[1] > 0
    assert con.sql("select count(*) from stories").fetchall()[0][0] == summary.stories
    # a second run stores nothing again, and says so
    again = newsbeam.run(config=str(SAMPLE_CONFIG), output=str(out))
    assert again.articles == 0 and again.already_stored >= summary.articles


def test_connect_reads_what_the_cli_wrote_and_an_empty_output(tmp_path):
    out = tmp_path / "cli"
    assert run_cli("run", "--config", str(SAMPLE_CONFIG), "--output", str(out)).returncode == 0
    manifest = json.loads(next((out / "_runs").glob("*.json")).read_text())
    assert newsbeam.connect(out).sql("select count(*) from articles").fetchall() == [(manifest["written"]["articles"],)]
    (tmp_path / "empty").mkdir()  # an output folder with nothing committed yet: empty views
    empty = newsbeam.connect(tmp_path / "empty")
    assert empty.sql("select count(*) from articles").fetchall() == [(0,)]
    assert empty.sql("select count(*) from stances").fetchall() == [(0,)]


def test_tag_returns_the_fields_the_pipeline_writes():
    tags = newsbeam.tag(TALIBAN)
    assert tags["event_type"] == "ASSAULT"
    assert {"event_scores", "event_evidence", "event_actors", "source_codes", "target_codes", "stances", "tone"} <= set(tags)
    assert "story_id" not in tags
    assert "checkpoint" in tags["event_evidence"]["ASSAULT"]
    stances = newsbeam.tag(TALIBAN, claims={"calm": "The ceasefire is holding."})["stances"]
    assert [s["claim_id"] for s in stances] == ["calm"]
    assert newsbeam.tag(TALIBAN, language="de")["event_type"] is None


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: newsbeam.run(config="/no/such/config.yaml"), newsbeam.ConfigError, "file not found"),
    (lambda: newsbeam.run(config=str(SAMPLE_CONFIG), output="/tmp/x", runnner="DirectRunner"), newsbeam.ConfigError,
     "unknown option runnner"),
    (lambda: newsbeam.run(config=str(SAMPLE_CONFIG), workers=0), newsbeam.ConfigError, "workers must be 1 or more"),
    (lambda: newsbeam.run(config=str(SAMPLE_CONFIG), inputs=[3]), TypeError, "inputs must be a path"),
    (lambda: newsbeam.run(), newsbeam.ConfigError, "nothing to read"),
    (lambda: newsbeam.run(config=str(SAMPLE_CONFIG), output="/"), newsbeam.ConfigError, "output"),
    (lambda: newsbeam.tag(None), TypeError, "text must be a string"),
    (lambda: newsbeam.tag("text", claims="one claim"), TypeError, "claims must be"),
])
def test_a_bad_argument_is_a_clear_exception_naming_it(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_package_is_typed():
    import importlib.resources

    assert importlib.resources.files("newsbeam").joinpath("py.typed").is_file()
    assert set(newsbeam.__all__) <= set(dir(newsbeam))
