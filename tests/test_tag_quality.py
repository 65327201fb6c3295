"""The tags' quality on held-back dev data, and one model for the pipeline and `newsbeam tag`."""

import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from newsbeam.records import UTC, Article
from newsbeam.settings import TagSettings
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
    # Non-political feeds: at least nine items in ten tagged NONE (91.4 % now).
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


def test_weak_types_have_cues_from_their_definitions():
    """The cues of the types PLOVER's gold sentences showed weakest (AID, COOPERATE,
    MOBILIZE, RETREAT, CONCEDE, SUPPORT, CONSULT), written from the type definitions; and
    the everyday phrases of non-political news that must not read as them."""
    import yaml

    from newsbeam.tagging.events import compile_patterns
    from training import train_events

    patterns = compile_patterns(yaml.safe_load(train_events.TAXONOMY.read_text()))

    def types(text):
        return {name for name, _start in patterns.first_matches(text.lower())}

    for text, kind in (
        ("Norland granted asylum to 300 families.", "AID"),
        ("Peacekeepers escorted the convoy.", "AID"),
        ("Ostrava extradited the former minister to Delmar.", "COOPERATE"),
        ("The two states expanded their defence cooperation.", "COOPERATE"),
        ("Karstan called up 20,000 reservists.", "MOBILIZE"),
        ("The navy began war drills off the coast.", "MOBILIZE"),
        ("The army was put on full alert.", "MOBILIZE"),
        ("Fighters of the Tarn Front surrendered to the army.", "RETREAT"),
        ("Government troops pulled back from the ridge.", "RETREAT"),
        ("The governor bowed to pressure from the unions.", "CONCEDE"),
        ("The president granted an amnesty to forty activists.", "CONCEDE"),
        ("The minister lauded the mediators.", "SUPPORT"),
        ("Delmar reaffirmed its full support for the government.", "SUPPORT"),
        ("Lissa hosted its Karstan counterpart.", "CONSULT"),
        ("The delegations held talks on Monday.", "CONSULT"),
        ("Lissa recalled its ambassador from Karstan.", "SANCTION"),
        ("The junta imposed martial law in the north.", "COERCE"),
    ):
        assert kind in types(text), (text, kind)
    for text in ("The library hosts a workshop for parents on Saturday.", "A hailstorm flattened the wheat.",
                 "The studio will shut down the game's servers.",
                 "Both teams reached a compromise on the schedule."):
        assert not types(text) & {"CONSULT", "SUPPORT", "COERCE", "CONCEDE"}, text


def test_new_cues_decide_sentences_the_old_model_missed():
    """Two sentences the model before the definition cues tagged wrongly (CONSULT, NONE)."""
    from newsbeam.pipelines.config import load_config
    from newsbeam.tagging import Tagger

    cfg = load_config(None)
    tagger = Tagger(cfg.taxonomy, cfg.tone_lexicon, [])
    assert tagger.tag(None, "Ostrava extradited the former minister to Delmar on Friday.", claims=[]).event_type == "COOPERATE"
    assert tagger.tag(None, "The Orvanian navy began large-scale war drills off the coast.", claims=[]).event_type == "MOBILIZE"


def test_macro_f1_interval_is_a_bootstrap_around_the_figure():
    from training.evaluate import macro_f1_difference_interval, macro_f1_interval, table

    labels = ["A", "B", "C"]
    assert macro_f1_interval(labels * 20, labels * 20, labels) == (1.0, 1.0)
    gold = (["A"] * 7 + ["B"] * 7 + ["C"] * 6) * 3
    pred = (["A"] * 5 + ["B"] * 2 + ["B"] * 6 + ["C"] + ["C"] * 4 + ["A", "D"]) * 3
    text, macro = table(gold, pred, labels)
    low, high = macro_f1_interval(gold, pred, labels)
    assert low < macro < high and f"({low:.3f}–{high:.3f})" in text
    low10, high10 = macro_f1_interval(gold * 10, pred * 10, labels)
    assert high10 - low10 < (high - low) / 2  # ten times the items: about a third of the width
    assert macro_f1_difference_interval(gold, pred, pred, labels) == (0.0, 0.0)
    low_d, high_d = macro_f1_difference_interval(gold, pred, gold, labels)
    assert 0 < low_d <= 1 - macro <= high_d  # the paired difference to perfect predictions


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
        tagged = p | beam.Create([article]) | TagArticles(TagSettings(sample_config.taxonomy, sample_config.tone_lexicon,
                                                                      tuple(claims), sample_config.tagging_model))
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


def test_the_lockbox_is_never_trained_on_and_every_recipe_leaves_its_family_out():
    """No recipe lists the lockbox; every fold trains without the family it scores."""
    from training import families, loso

    for name, recipe in loso.RECIPES.items():
        assert families.LOCKBOX not in recipe["families"], name
        assert not set(recipe["families"]) - set(families.ALL), name
    assert not set(families.TRAIN_ONLY) & set(families.SCORED)  # synthetic and seeds never score
    assert loso.SHIPPED[0] in loso.RECIPES


def test_calibration_is_checked_on_families_it_was_not_fitted_on():
    """The calibrator that scores a family is fitted on the others: a family whose
    predictions are all wrong gets a low confidence from calibrators fitted on families
    where the same scores are right, and its calibration error says so."""
    import numpy as np

    from training import calibrate

    rng = np.random.default_rng(0)

    def family(right: bool, n=200):
        scores = rng.uniform(0.6, 0.99, n)
        return [{"gold": "ASSAULT" if right else "PROTEST", "top": "ASSAULT", "score": float(s), "second": 0.05,
                 "cue": True, "texts": 3}
                for s in scores]

    by_family = {"a": family(True), "b": family(True), "c": family(False)}
    report = calibrate.events_leave_one_out(by_family, threshold=0.5)
    assert report["c"]["accuracy"] == 0.0 and report["c"]["ece"] > 0.5  # fitted on a and b: confident, wrong
    assert report["a"]["accuracy"] == 1.0


@needs_shared_data
def test_families_load_and_their_texts_do_not_cross():
    """Every family loads with labels from the README's conventions, and no text of the
    lockbox is in any other family (a fold could otherwise see it)."""
    from newsbeam.tagging.events import LABELS
    from training import families

    texts = {}
    for name in families.ALL:
        items = families.load(name)
        assert items, name
        assert {y for _t, y in items} <= set(LABELS), name
        texts[name] = {t for t, _y in items}
    others = set().union(*(v for k, v in texts.items() if k != families.LOCKBOX))
    assert not texts[families.LOCKBOX] & others
