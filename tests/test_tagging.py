import json

import pytest

from newsbeam.pipelines.cli import tag_row
from newsbeam.tagging import Claim, Tagger
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def tagger(request):
    from newsbeam.pipelines.config import load_config

    cfg = load_config(None)
    return Tagger(cfg.taxonomy, cfg.tone_lexicon, [Claim(c.id, c.text) for c in cfg.claims])


def test_event_type_and_scores(tagger):
    r = tagger.tag("Gunmen kill six in attack on checkpoint", "Gunmen attacked a police checkpoint, killing six officers and wounding nine.")
    assert r.event_type == "ASSAULT"
    assert set(r.event_scores) >= {"ASSAULT", "PROTEST", "NONE"}
    assert r.event_scores["ASSAULT"] > r.event_scores["PROTEST"]
    assert "checkpoint" in r.event_evidence["ASSAULT"]
    assert -1 <= r.tone < 0


def test_no_event_is_none(tagger):
    r = tagger.tag("Harvest festival draws crowds", "Visitors bought cider and fish at the stalls in the town square.")
    assert r.event_type == "NONE"
    assert r.event_scores["NONE"] >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Floods killed 30 people and destroyed 2,000 homes in the Orlen valley.",
        "A fire broke out at a textile factory in Tarnow, killing 11 workers.",
        "A gas cylinder explosion killed nine people at a restaurant in Port Veloria.",
    ],
)
def test_disasters_and_accidents_are_no_political_event_even_with_deaths(tagger, text):
    """The label conventions call a disaster or an accident NONE even when people die
    (the model before the taxonomy's non-event cues called the first two ASSAULT)."""
    assert tagger.tag(None, text).event_type == "NONE"
    attack = "Rebels opened fire on an army post in Kestrel Ford, killing four soldiers."
    assert tagger.tag(None, attack).event_type == "ASSAULT"


def test_non_event_cues_are_a_feature_of_none(tagger):
    from newsbeam.tagging.events import event_grams

    patterns = tagger.events_model.patterns
    assert "__cue_NONE" in event_grams("Floodwaters cut off three villages.", patterns)
    assert "__cue_NONE" not in event_grams("Rebels attacked an army post.", patterns)
    assert "__cue_NONE" in tagger.events_model.vectorizer.vocabulary


def test_stance_labels(tagger):
    claim = [Claim("c", "The mayor of Kestrel Ford has resigned.")]
    agree = tagger.tag(None, "The mayor of Kestrel Ford has resigned, the town council confirmed on Monday. She handed her resignation letter to the council after ten years in office.", claim)
    discuss = tagger.tag(None, "The mayor of Kestrel Ford has reportedly resigned, according to a local radio station. The claim could not be verified. The council did not respond to requests for comment.", claim)
    unrel = tagger.tag(None, "The harvest festival drew record crowds. Stalls sold cider and fish in the square.", claim)
    assert agree.stances[0]["label"] == "agree" and "confirmed" in agree.stances[0]["evidence"]
    assert discuss.stances[0]["label"] == "discuss"
    assert unrel.stances[0]["label"] == "unrelated" and unrel.stances[0]["evidence"] is None
    assert agree.stances[0]["claim_id"] == "c" and 0 < agree.stances[0]["score"] <= 1


def test_tag_row_uses_row_targets_or_configured_claims(tagger):
    row = tag_row(tagger, json.dumps({"id": 7, "text": "Rebels attacked the town.", "targets": ["The town was attacked."]}))
    assert row["id"] == 7 and [s["target"] for s in row["stances"]] == ["The town was attacked."]
    row = tag_row(tagger, json.dumps({"id": 8, "text": "Rebels attacked the town."}))
    assert len(row["stances"]) == len(tagger.claims)
    assert tag_row(tagger, "not json")["error"]


def test_tag_cli_keeps_order_and_count(tmp_path):
    rows = [{"id": i, "text": t} for i, t in enumerate(["Protesters marched on parliament.", "Troops withdrew from the city.", "Rain fell."])]
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out.jsonl"
    proc = run_cli("tag", str(inp), str(out))
    assert proc.returncode == 0, proc.stderr
    got = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert [g["id"] for g in got] == [0, 1, 2]
    assert got[0]["event_type"] == "PROTEST" and got[1]["event_type"] == "RETREAT"
    assert all(set(g) >= {"id", "event_type", "event_scores", "stances"} for g in got)


# Fictional articles written for these tests (Veloria and the Harrow Front are invented).
TALKS_COLLAPSE = (
    "Veloria Peace Talks in Tatters",
    "The peace talks between the Veloria government and the Harrow Front collapsed on Friday.\n"
    "Negotiators for the Front walked out of the meeting in Lenmark and the government suspended all contacts.\n"
    "Fighting resumed in the hills the same night, residents said.",
)
TALKS_SERIOUS = (
    "Veloria and Harrow Front in Secret Talks",
    "Secret peace talks between the Veloria government and the Harrow Front are under way and, for the first time, serious, officials said.\n"
    "The negotiators have met three times in Lenmark.\n"
    "RELATED: Did the Harrow Front shoot down a helicopter?",
)
PROGRESS = [Claim("progress", "Peace talks between the government and the insurgents are making progress.")]


def test_talks_that_collapsed_disagree_and_serious_talks_agree(tagger):
    collapsed = tagger.tag(*TALKS_COLLAPSE, PROGRESS).stances[0]
    serious = tagger.tag(*TALKS_SERIOUS, PROGRESS).stances[0]
    assert collapsed["label"] == "disagree", collapsed
    assert serious["label"] == "agree", serious
    assert "collapsed" in collapsed["evidence"] or "Tatters" in collapsed["evidence"]
    assert "under way" in serious["evidence"]


def test_a_negative_claim_swaps_the_polarity(tagger):
    collapsed = tagger.tag(*TALKS_COLLAPSE, [Claim("dead", "The peace talks have collapsed.")]).stances[0]
    assert collapsed["label"] == "agree", collapsed


def test_primary_type_is_the_top_score_and_evidence_is_never_boilerplate(tagger):
    for title, text in (TALKS_COLLAPSE, TALKS_SERIOUS):
        r = tagger.tag(title, text)
        assert r.event_type == max(r.event_scores, key=r.event_scores.get)
        assert r.event_type in r.event_evidence or r.event_type == "NONE"
        assert not any(e.startswith("RELATED") for e in r.event_evidence.values())
    assert tagger.tag(*TALKS_SERIOUS).event_type in ("CONSULT", "AGREE")


def test_background_attack_does_not_outvote_the_headline(tagger):
    r = tagger.tag(
        "Veloria and Harrow Front resume peace talks in Lenmark",
        "Delegations of the Veloria government and the Harrow Front resumed peace talks in Lenmark on Monday.\n"
        "The talks had been paused since March.\n"
        "Last year a bomb attack on a market in the capital killed twelve people, an attack the Front denied.",
    )
    assert r.event_type == "CONSULT", r.event_scores


def test_stance_scores_are_probabilities(tagger):
    for s in tagger.tag(*TALKS_SERIOUS).stances:
        assert 0.0 <= s["score"] <= 1.0


def test_one_tier_only(tagger):
    """Round 3's accurate tier is retired: a Tagger is the fast tier or nothing."""
    from newsbeam.pipelines.config import load_config

    cfg = load_config(None)
    for tier in ("accurate", "huge"):
        with pytest.raises(ValueError, match="tier"):
            Tagger(cfg.taxonomy, cfg.tone_lexicon, tier=tier)


def test_event_confidence_is_a_probability_that_follows_the_evidence(tagger):
    """event_confidence is in 0..1 for every article; a plain attack in the lead is more
    certain than a vague line; a confident NONE is possible (a plain non-event)."""
    attack = tagger.tag(None, "Taliban fighters attacked a police checkpoint in Kandahar on Monday, killing four officers.")
    vague = tagger.tag(None, "Officials said the situation in the region remained difficult after weeks of tension.")
    for r in (attack, vague):
        assert 0.0 <= r.values["event_confidence"] <= 1.0
    assert attack.event_type == "ASSAULT"
    assert attack.values["event_confidence"] > vague.values["event_confidence"]


def test_every_stance_has_a_confidence(tagger):
    for s in tagger.tag(*TALKS_SERIOUS).stances:
        assert 0.0 <= s["confidence"] <= 1.0 and isinstance(s["confidence"], float)


def test_tag_model_names_the_recipe_and_changes_with_the_models(tagger, tmp_path):
    """tag_model: the recipe's name and a hash of what decides a tag; another taxonomy or
    another model file gives another value, the same inputs the same one."""
    import shutil

    from newsbeam.pipelines.config import load_config
    from newsbeam.tagging.tagger import EVENT_MODEL, MODEL_NAME

    value = tagger.tag(*TALKS_SERIOUS).values["tag_model"]
    assert value.startswith(f"{MODEL_NAME}-fast+") and len(value.split("+")[1]) == 12
    cfg = load_config(None)
    same = Tagger(cfg.taxonomy, cfg.tone_lexicon, [Claim(c.id, c.text) for c in cfg.claims])
    assert same.model_id == tagger.model_id
    edited = dict(cfg.taxonomy, non_event={"patterns": ["\\bpicnic\\b"]})
    assert Tagger(edited, cfg.tone_lexicon).model_id != tagger.model_id
    copy = tmp_path / "events.npz"
    shutil.copy(EVENT_MODEL, copy)
    with open(copy, "ab") as fh:  # another file's bytes (a zip archive still reads with trailing bytes)
        fh.write(b"retrained")
    assert Tagger(cfg.taxonomy, cfg.tone_lexicon, event_model=str(copy)).model_id != Tagger(cfg.taxonomy, cfg.tone_lexicon).model_id


def test_a_negated_event_is_no_evidence_of_it(tagger, monkeypatch):
    """"No agreement was reached" is not an agreement; without the negation rule it would count as one."""
    from newsbeam.tagging import events

    model = tagger.events_model
    agree = model.labels.index("AGREE")
    stated = model.sentence_probs(["The two delegations reached an agreement on prisoners on Monday."])[0, agree]
    negated_text = "The two delegations reached no agreement on prisoners on Monday."
    negated = model.sentence_probs([negated_text])[0, agree]
    assert negated < 0.5 * stated
    monkeypatch.setattr(events, "NEGATED_CUE_FACTOR", 1.0)
    assert model.sentence_probs([negated_text])[0, agree] > 2 * negated
    # a cue that is stated once plainly still counts
    assert model.patterns.negated_types("They agreed to talk, but no deal was reached.") == set()


def test_stance_similarities_of_all_sentences_at_once_are_each_sentences_cosine(tagger):
    """The body's one-product similarities equal the cosine of each sentence's own TF-IDF vector."""
    from newsbeam.tagging.stance import _cos, _tfidf_vector, term_counts

    model = tagger.stance_model
    sentences = [
        "Delegates met in the capital on Monday to discuss the ceasefire and the exchange of prisoners.",
        "",
        "The talks collapsed after the rebels walked out, officials said.",
        "Zzyzx qwerty.",  # no word in the vocabulary
        "Talks talks talks: the ceasefire talks will resume on Friday in the capital.",
    ]
    body = model.body(sentences, "Ceasefire talks resume in the capital")
    for claim in ("Ceasefire talks between the government and the rebels have resumed.", "Qwerty zzyzx.", ""):
        c = model.claim(claim)[1]
        expected = [_cos(c, _tfidf_vector(term_counts(s), model.vocab, model.idf)) for s in body.sentences]
        assert body.similarities(c) == pytest.approx(expected, abs=1e-6)
    assert max(body.similarities(model.claim("Ceasefire talks have resumed.")[1])) > 0.3


def test_the_first_cue_of_a_sentence_is_a_feature_and_names_the_main_event(tagger):
    """A sentence that reports one act about another ("called for an end to the protests")
    is about the first: the type whose cue comes first is a feature of its own."""
    from newsbeam.tagging.events import event_grams

    patterns = tagger.events_model.patterns
    grams = event_grams("The ministry condemned the attack on the convoy.", patterns)
    assert {"__cue_ACCUSE", "__cue_ASSAULT", "__first_cue_ACCUSE"} <= set(grams)
    assert "__first_cue_ASSAULT" not in grams
    assert not [g for g in event_grams("Rebels attacked a convoy.", patterns) if g.startswith("__first_cue")]
    assert "__first_cue_REQUEST" in tagger.events_model.vectorizer.vocabulary
    # The model before this feature called it PROTEST.
    assert tagger.tag(None, "The council called for an end to the protests in Orlen.").event_type == "REQUEST"
