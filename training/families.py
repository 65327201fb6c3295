"""The development data (../shared/data) grouped into source families for event types.

A family is every text that came from one kind of source: one collection, one style of
writing. Leave-one-source-out (``training/loso.py``) trains on every family but one and
scores the one left out, so a figure says how the tags hold on a source the model never
saw, which is what every user's feed is.

- ``acled``: ACLED event notes (Afghanistan 2019 and the other regions and years).
- ``plover``: the PLOVER gold-standard news sentences.
- ``rams``: RAMS real news sentences (2016) holding an event trigger.
- ``wikievents``: WikiEvents news sentences (train, dev and test documents). The
  **lockbox**: never trained on, never tuned on; scored once, at the end (``--lockbox``).
- ``maven``: MAVEN Wikipedia sentences (encyclopedic, historical).
- ``cameo``: CAMEO-coded sentences (PETRARCH unit tests, UniversalPetrarch validation;
  the machine-coded Reuters sentences train only, they are not gold).
- ``agnews``, ``bbc``, ``newscat``, ``mind``: non-political news, all NONE.
- ``seeds`` (the project's own sentences), ``synthetic`` (NGEC's model-written stories)
  and ``background`` (cue-free FNC-1 body sentences, weak NONE): training only, never
  scored. Synthetic text may teach a model; it never proves one.

Labels are the files' ``label`` column (empty: ambiguous, neither trained on nor scored).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import random
from functools import cache

from training import data

CODED = data.SHARED / "events" / "coded"
NONPOL = data.SHARED / "events" / "none"

LOCKBOX = "wikievents"
# Families scored by leave-one-source-out (the lockbox aside).
SCORED = ("acled", "plover", "rams", "maven", "cameo", "agnews", "bbc", "newscat", "mind")
NONPOLITICAL = ("agnews", "bbc", "newscat", "mind")
TRAIN_ONLY = ("seeds", "synthetic", "background")
ALL = SCORED + TRAIN_ONLY + (LOCKBOX,)

# Each family trains with at most this many examples (a fixed, stratified sample), so that
# no one collection's style outweighs the others by sheer size; its examples are then
# weighted so that every family counts the same in the loss (source-balanced training).
TRAIN_CAP = 1500
# Families scored on at most this many items (a fixed sample per label): enough for an
# interval of a few points, without scoring ten thousand ACLED notes per fold.
SCORE_CAP_PER_LABEL = 300


def _rows(path) -> list[dict]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _labelled(path, extra_none: str | None = None) -> list[tuple[str, str]]:
    out = []
    for row in _rows(path):
        label = (row.get("label") or "").strip() or ((row.get(extra_none) or "").strip() if extra_none else "")
        text = (row.get("text") or "").strip()
        if label and text:
            out.append((text, label))
    return out


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def stratified(items: list[tuple[str, str]], cap: int) -> list[tuple[str, str]]:
    """At most ``cap`` items, each label keeping its share (at least 30 where it has them),
    chosen by hash of the text: the same sample on every machine."""
    if len(items) <= cap:
        return items
    by_label: dict[str, list[tuple[str, str]]] = {}
    for item in sorted(items, key=lambda i: _hash(i[0])):
        by_label.setdefault(item[1], []).append(item)
    out = []
    for _label, group in sorted(by_label.items()):
        share = max(30, round(cap * len(group) / len(items)))
        out += group[:share]
    return out


@cache
def load(family: str) -> tuple[tuple[str, str], ...]:
    """(text, PLOVER label or NONE) of every labelled item of a family."""
    if family == "acled":
        items = [(data.strip_acled_date(t), y) for t, y in data.acled() + data.acled_extra()]
    elif family == "plover":
        items = [(t, y) for _i, t, y in data.plover_dev()]
    elif family == "rams":
        items = _labelled(CODED / "rams_dev_sentences.csv")
    elif family == "wikievents":
        items = _labelled(CODED / "wikievents_devtest_sentences.csv") + _labelled(
            CODED / "wikievents_train_sentences.csv", extra_none="label_none_rule")
    elif family == "maven":
        items = _labelled(CODED / "maven_sentences.csv")
    elif family == "cameo":
        items = _labelled(CODED / "petrarch2_unittest.csv") + _labelled(CODED / "universalpetrarch_gsr_validation.csv")
    elif family == "agnews":
        items = _labelled(NONPOL / "agnews_test_none.csv")
    elif family == "bbc":
        items = _labelled(NONPOL / "bbc_news_none.csv")
    elif family == "newscat":
        items = _labelled(NONPOL / "news_category_none.csv.gz")
    elif family == "mind":
        items = _labelled(NONPOL / "mind_small_none.csv")
    elif family == "seeds":
        items = data.event_seeds()
    elif family == "synthetic":
        items = _labelled(CODED / "ngec_synthetic_plover.csv")
    elif family == "background":
        from training.train_events import background_sentences, patterns_for_background

        items = [(s, "NONE") for s in background_sentences(patterns_for_background())]
    else:
        raise KeyError(family)
    return tuple(items)


def training_items(family: str) -> list[tuple[str, str]]:
    """What a family teaches: its labelled items, capped (``TRAIN_CAP``); the machine-coded
    Reuters sentences join the CAMEO family here only (not gold, never scored)."""
    items = list(load(family))
    if family == "cameo":
        items += [(t.capitalize(), y) for t, y in _labelled(CODED / "plovigy_reuters_petrarch2_machinecoded.csv")]
    if family == "acled":
        # ACLED is 90 % ASSAULT: per class, so the notes teach style, not a prior.
        return stratified_per_label(items, 250)
    return stratified(items, TRAIN_CAP)


def stratified_per_label(items: list[tuple[str, str]], per_label: int) -> list[tuple[str, str]]:
    by_label: dict[str, list[tuple[str, str]]] = {}
    for item in sorted(items, key=lambda i: _hash(i[0])):
        by_label.setdefault(item[1], []).append(item)
    return [item for _label, group in sorted(by_label.items()) for item in group[:per_label]]


def scoring_items(family: str) -> list[tuple[str, str]]:
    """What a family is scored on: all of it, or a fixed sample of ``SCORE_CAP_PER_LABEL``
    per label where it is large (ACLED, the non-political sets)."""
    return stratified_per_label(list(load(family)), SCORE_CAP_PER_LABEL)


def shuffled(items: list, seed: int = 13) -> list:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out
