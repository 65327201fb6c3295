"""The cue prefilter must give exactly the matches of searching every pattern in every sentence."""

import random
import re

import pytest

from newsbeam.tagging.events import NONE, CuePatterns, compile_patterns
from newsbeam.tagging.prefilter import text_prefixes, word_prefixes

TRICKY = {
    "types": {
        "A": {"patterns": [r"\b(peace )?talks\b", r"\bmet with\b|\bmeet(s|ing)? with\b"]},
        "B": {"patterns": [r"\bun\b|\bu\.n\.", r"\bde-?escalat(e|ed|ion)\b"]},
        "C": {"patterns": [r"\baid\b", r"\b(humanitarian|food) (aid|relief)"]},
        "D": {"patterns": [r"ceasefire"]},  # no \b: may start inside a word
        "E": {"patterns": [r"\b\d+ (killed|dead)\b"]},  # starts with a digit class
        "F": {"patterns": [r"(?i:\bTruce\b)"]},  # letters of any case
        "G": {"patterns": [r"\bfreez(e|es)|froze(n)? (assets|accounts)\b"]},
        "H": {"patterns": [r"\b(?:air|drone) ?strikes?\b", r"\bsanction(s|ed)?\b"]},
        "I": {"patterns": [r"\bex"]},  # a start shorter than the prefix that goes on
    },
    "non_event": {"patterns": [r"\bfloods?\b|\b(land|mud)slides?\b"]},
}


def brute_force(patterns: CuePatterns, lowered: str) -> list[str]:
    out = [name for name, pattern in patterns.patterns if pattern.search(lowered)]
    if patterns.non_event is not None and patterns.non_event.search(lowered):
        out.append(NONE)
    return out


def sentences(taxonomy_text: str, n: int = 3000) -> list[str]:
    """Random sentences of the patterns' own words, their pieces and neighbours, in cases and
    punctuation that test word boundaries."""
    words = sorted(set(re.findall(r"[a-z]+", taxonomy_text)))
    extra = ["u.n.", "de-escalation", "deescalate", "un", "aid", "aids", "aide", "5", "30", "killed", "talks,",
             "peace", "ceasefire", "ceasefires", "un-ceasefire", "truce", "TRUCE", "frozen", "assets", "the", "a",
             "met", "with", "meeting", "airstrike", "air", "strikes", "landslides", "flood.", "(talks)", "über",
             "talks—", "mid-talks", "x_talks", "_aid", "exile", "ex", "expel"]
    rng = random.Random(12)
    out = []
    for _ in range(n):
        picks = [rng.choice(words + extra) for _ in range(rng.randint(1, 12))]
        cut = [w[: rng.randint(1, len(w))] if rng.random() < 0.15 else w for w in picks]
        out.append(rng.choice(["", "“", "("]) + " ".join(cut) + rng.choice([".", "", "?", " 12."]))
    return out


@pytest.mark.parametrize("taxonomy", ["config", "tricky"])
def test_prefilter_finds_exactly_what_searching_every_pattern_finds(taxonomy):
    if taxonomy == "config":
        from newsbeam.pipelines.config import load_config

        tax = load_config(None).taxonomy
    else:
        tax = TRICKY
    patterns = compile_patterns(tax)
    texts = sentences(repr(tax))
    found_any = 0
    for text in texts:
        lowered = text.lower()
        expected = brute_force(patterns, lowered)
        assert [name for name, _start in patterns.first_matches(lowered)] == expected, text
        assert patterns.any_in(text) == any(name != NONE for name in expected)
        found_any += bool(expected)
    assert found_any > len(texts) // 4  # the sentences do exercise the patterns


def test_what_a_pattern_must_start_with():
    assert word_prefixes(r"\b(peace )?talks\b") == {"peac", "talk"}
    assert word_prefixes(r"\baid\b") == {"aid"}  # a whole short word
    assert word_prefixes(r"\bun\b|\bu\.n\.") == {"un", "u"}
    assert word_prefixes(r"\bde-?escalat(e|ed)\b") == {"de", "dees"}
    # Unbounded starts get no prefilter: the pattern is always searched.
    assert word_prefixes(r"ceasefire") is None
    assert word_prefixes(r"\b\d+ killed") is None
    assert word_prefixes(r"(?i)\btruce") is None
    assert word_prefixes(r"\bab") is None  # a short start that may go on ("abduct")
    assert text_prefixes("peace talks in the u.n. on de-escalation") == {"peac", "talk", "in", "the", "u", "n", "on", "de", "esca"}
