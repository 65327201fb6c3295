"""The tags' quality on held-back dev data, and one model for the pipeline and `newsbeam tag`."""

import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from newsbeam.records import UTC, Article
from newsbeam.transforms.tag import TagArticles
from tests.conftest import needs_shared_data, run_cli


@needs_shared_data
def test_make_eval_scores_every_set_without_its_source_and_holds_the_measured_floors(tmp_path):
    """`make eval` reports the honest splits; the numbers may not fall below what they are now.

    The floors are the figures in EVALUATION.md less a small margin, not the issue's
    targets (which the default tier does not reach yet: see the README).
    """
    from training import evaluate

    assert evaluate.main([str(tmp_path / "EVAL.md"), "--fast-only"]) == 0
    numbers = json.loads((tmp_path / "EVAL.json").read_text())
    assert numbers["events_plover_macro_f1"] >= 0.35
    assert numbers["events_acled_extra_macro_f1"] >= 0.56
    # Non-political feeds: at least nine items in ten tagged NONE (93.7 % now).
    assert numbers["events_nonpolitical_none_share"] >= 0.9
    assert numbers["fnc_score"] >= 0.78
    assert numbers["stance_macro_f1"] >= 0.55
    assert numbers["stance_disagree_f1"] >= 0.18
    assert numbers["stance_ece"] <= 0.08
    # Actors: the targets, on the half of the PLOVER sentences never read.
    assert numbers["actors_held_back_source_f1"] >= 0.75
    assert numbers["actors_held_back_target_f1"] >= 0.60
    # Stories: the issue's targets, on the held-back fifth of FNC-1's stories (three CLI runs).
    assert numbers["stories_held_ari"] >= 0.88 and numbers["stories_held_f1"] >= 0.88
    assert numbers["stories_held_precision"] >= 0.95
    text = (tmp_path / "EVAL.md").read_text()
    assert "confusion" in text and "FNC-1 score" in text and "trained without" in text and "Actors" in text


def test_no_training_source_is_scored_on():
    """Each held-out event set is scored by a model trained without its source."""
    from training import evaluate, train_events

    for name, exclude, *_ in evaluate.EVENT_SPLITS:
        assert name in exclude and set(exclude) <= set(train_events.SOURCES)


def test_stance_split_shares_no_body_and_no_claim():
    from training import data

    stances = [("Claim A", 1, "agree"), ("Claim A", 2, "unrelated"), ("Claim B", 2, "discuss"), ("Claim C", 3, "agree"),
               ("Claim B", 3, "unrelated")] + [(f"Claim {i}", 10 + i, "discuss") for i in range(60)]
    train, held = data.fnc_topic_split(stances)
    assert held and train
    assert not {b for _, b, _ in train} & {b for _, b, _ in held}
    held_claims = {h for h, _, g in held if g != "unrelated"}
    assert not held_claims & {h for h, _, _ in train}


def test_acled_old_taxonomy_labels_follow_the_shown_rules():
    from training.labels import acled_old_label

    assert acled_old_label("Riots/Protests", "Traders shut their shops.") == "PROTEST"
    assert acled_old_label("Remote violence", "A bomb exploded.") == "ASSAULT"
    assert acled_old_label("Strategic development", "Police arrested 12 activists of the party.") == "COERCE"
    assert acled_old_label("Strategic development", "The two groups signed a peace agreement.") == "AGREE"
    assert acled_old_label("Strategic development", "Troops breached the truce by firing mortar shells.") is None
    assert acled_old_label("Strategic development", "The commander surrendered to police.") == "RETREAT"
    assert acled_old_label("Strategic development", "The group opened a new office.") is None


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


@needs_shared_data
def test_shipped_story_weights_are_what_training_makes():
    """newsbeam/tagging/models/story_weights.npz is reproducible from ../shared/data."""
    import numpy as np

    from training import train_stories

    hashes, weights, unseen = train_stories.weights(*train_stories.training_texts())
    with np.load(train_stories.MODEL) as shipped:
        assert (shipped["hashes"] == hashes).all() and (shipped["weights"] == weights).all()
        assert float(shipped["unseen"]) == pytest.approx(unseen)
