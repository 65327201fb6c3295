"""The tags' quality on held-back dev data, and one model for the pipeline and `newsbeam tag`."""

import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from newsbeam.transforms.records import UTC, Article
from newsbeam.transforms.tag import TagArticles
from tests.conftest import SHARED_DATA, needs_shared_data, run_cli


@needs_shared_data
def test_make_eval_meets_the_targets_on_held_back_data(tmp_path):
    from training import evaluate

    assert evaluate.main([str(tmp_path / "EVAL.md")]) == 0
    numbers = json.loads((tmp_path / "EVAL.json").read_text())
    assert numbers["fnc_score"] >= 0.82
    assert numbers["stance_macro_f1"] >= 0.60
    assert numbers["plover_macro_f1"] >= 0.60
    assert numbers["acled_macro_f1"] >= 0.85
    text = (tmp_path / "EVAL.md").read_text()
    assert "confusion" in text and "FNC-1 score" in text
    assert SHARED_DATA.is_dir()


def test_pipeline_and_tag_cli_give_the_same_tags(tmp_path, sample_config):
    import datetime as dt

    text = ("Government forces clashed with rebels near the border on Monday, killing four fighters. "
            "The army said it had regained control of the district after the ceasefire collapsed.")
    article = Article(
        article_id="a", url=None, canonical_url=None, source="s", title="Clashes on the border", author=None,
        published_at=None, fetched_at=dt.datetime(2026, 1, 1, tzinfo=UTC), language="en", text=text,
        word_count=30, text_fingerprint="f", input="i",
    )
    claims = [(c.id, c.text) for c in sample_config.claims]
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "a", "title": "Clashes on the border", "text": text}) + "\n")
    out = tmp_path / "out.jsonl"
    assert run_cli("tag", str(inp), str(out), "--config", str(sample_config.source_file)).returncode == 0
    cli = json.loads(out.read_text())
    expected = (cli["event_type"], tuple(s["label"] for s in cli["stances"]), round(cli["event_scores"]["ASSAULT"], 4))
    with TestPipeline() as p:
        tagged = p | beam.Create([article]) | TagArticles(sample_config.taxonomy, sample_config.tone_lexicon, claims)
        assert_that(
            tagged.tagged | beam.Map(lambda t: (t.event_type, tuple(s.label for s in t.stances), round(t.event_scores["ASSAULT"], 4))),
            equal_to([expected]),
        )


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Thousands of people marched through the capital demanding the resignation of the government.", "PROTEST"),
        ("Police arrested five opposition activists in the capital on Tuesday.", "COERCE"),
        ("Militants attacked an army checkpoint overnight, killing three soldiers.", "ASSAULT"),
        ("The two governments signed an agreement to reopen the border crossing.", "AGREE"),
        ("The football club won the cup after extra time.", "NONE"),
    ],
)
def test_event_model_on_plain_cases(text, expected):
    from newsbeam.pipelines.config import load_config
    from newsbeam.tagging import Tagger

    cfg = load_config(None)
    assert Tagger(cfg.taxonomy, cfg.tone_lexicon).tag(None, text).event_type == expected
