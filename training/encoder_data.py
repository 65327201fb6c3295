"""The real, labelled sentences the fine-tuned encoder learns event types from, and its splits.

Every item is ``(text, label, group, part)``: ``group`` is the unit that is split (a news
document for RAMS and WikiEvents, a sentence id or note elsewhere), never a row, so no
sentence of a held-back document is trained on. ``part`` is one of

- ``train``: fine-tuning;
- ``val``: a tenth of the training sources' documents, held out of fine-tuning, on which
  the NONE threshold is chosen (and nothing else);
- ``heldback``: 30 % of the documents of every scored source (RAMS dev, WikiEvents dev,
  the PLOVER gold sentences, the ACLED notes, the BBC non-political articles), never seen
  in training or in choosing the threshold: ``make eval`` reports on it;
- ``lockbox``: WikiEvents' *test* documents, untouched by training, by the threshold and
  by every comparison made while developing, scored once at the end (``make eval --lockbox``).

No synthetic text is used here at all: the NGEC synthetic stories taught worse models on
real news in every comparison (issue 29), and synthetic text never validates.

Label conventions are ``../shared/data/README.md``'s. Two additions, both written down
here so they can be checked: (1) RAMS and WikiEvents sentences whose event type maps to
no PLOVER type and is plainly not political (buying and selling, hiring and firing,
manufacturing, disasters, illness, ordinary crime) are NONE: real news that reports no
political event, the hard negatives the non-political feeds lack; sentences whose type
is ambiguous stay unlabelled and unscored. (2) ACLED notes follow ``training.data`` and
``training.labels``.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterator

from training import data
from training.train_events import lead_sentence

SEED = 13
CODED = data.SHARED / "events" / "coded"
NONE_DIR = data.SHARED / "events" / "none"
# Shares of a scored source's documents (by hash of the document id, in tenths).
HELDBACK_TENTHS = 3
VAL_TENTHS = 1
# ACLED notes are 90 % ASSAULT and share one style: a few per class teach the style of
# a note without drowning the news sentences.
ACLED_PER_CLASS = 150
# Non-political news items per source: enough NONE to keep sports and markets out of
# the event types, not so many that NONE becomes every sentence's prior.
NONE_PER_SOURCE = 450
# Real news sentences that report an event (RAMS, WikiEvents) are few and the kind the
# tagger must not call NONE: each is seen this many times per epoch. (The first model,
# with 900 non-political items a source and no repeat, answered NONE for 58 of 129 event
# sentences of the held-back documents.)
NEWS_EVENT_REPEAT = 2
# The validation part chooses the NONE threshold, so it should look like the news the
# tagger reads: mostly sentences that report something. A few non-political items per
# source keep NONE in it without letting it decide the threshold alone.
VAL_NONE_PER_SOURCE = 40
HELDBACK_NONE_PER_SOURCE = 450

# Event types of RAMS (first two levels) and WikiEvents that report no political event.
_NOT_POLITICAL = re.compile(
    r"^(transaction\.|personnel\.|manufacture\.|disaster\.|life\.die\.nonviolentdeath|life\.injure\.illness|"
    r"medical\.|genericcrime\.|movement\.transportartifact\.(n/a|sendsupplyexport))",
    re.I,
)

PARTS = ("train", "val", "heldback", "lockbox")


def _part(group: str, scored: bool = True) -> str:
    """``heldback`` / ``val`` / ``train`` by hash of the group (a document, a sentence)."""
    b = data.bucket(f"encoder-{group}")
    if scored and b < HELDBACK_TENTHS:
        return "heldback"
    if HELDBACK_TENTHS <= b < HELDBACK_TENTHS + VAL_TENTHS:
        return "val"
    return "train"


def _rows(path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _first_type(label_original: str) -> str:
    return re.split(r"[\s(]", label_original.strip(), maxsplit=1)[0]


def _document_events(path, document) -> list[tuple[str, str, str, str]]:
    """RAMS / WikiEvents sentences: mapped PLOVER label, NONE for plainly non-political types."""
    out = []
    for row in _rows(path):
        label = row["label"].strip()
        if not label and _NOT_POLITICAL.match(_first_type(row["label_original"])):
            label = "NONE"
        if not label:
            continue
        doc = document(row["id"])
        part = "lockbox" if doc.startswith("test:") else _part(doc)
        out.append((row["text"].strip(), label, doc, part))
    return out


def rams() -> list[tuple[str, str, str, str]]:
    # "dev:nw_RC<hash>:s2|dev:..." : the first id's document
    return _document_events(CODED / "rams_dev_sentences.csv", lambda i: i.split("|")[0].rsplit(":", 1)[0])


def wikievents() -> list[tuple[str, str, str, str]]:
    return _document_events(CODED / "wikievents_devtest_sentences.csv", lambda i: i.split("|")[0].rsplit(":", 1)[0])


def coded_train_only() -> list[tuple[str, str, str, str]]:
    """CAMEO-coded sentences, trained on only: the PETRARCH unit tests are stylised (invented
    places), UniversalPetrarch's labels are a coder's expected output, and the Reuters
    sentences were machine-coded (weak); none is a fair test of news."""
    out = []
    for name in ("petrarch2_unittest.csv", "universalpetrarch_gsr_validation.csv",
                 "plovigy_reuters_petrarch2_machinecoded.csv"):
        for row in _rows(CODED / name):
            if row["label"].strip():
                group = f"{name}:{row['id']}"
                out.append((row["text"].strip(), row["label"].strip(), group, _part(group, scored=False)))
    return out


def plover() -> list[tuple[str, str, str, str]]:
    return [(text, label, f"plover:{i}", _part(f"plover:{i}")) for i, text, label in data.plover_dev()]


def acled() -> list[tuple[str, str, str, str]]:
    """ACLED notes (first sentence, date removed), held back as ``data.acled_is_heldout``
    says; the training part capped per class and set."""
    rng = random.Random(SEED)
    out = []
    for name, notes in (("acled_afg", data.acled), ("acled_extra", data.acled_extra)):
        per_class: dict[str, list] = {}
        for note, label in notes():
            text = lead_sentence(data.strip_acled_date(note))
            group = f"{name}:{data.bucket(note, 10**12)}"  # the note itself is the unit
            if data.acled_is_heldout(note):
                out.append((text, label, group, "heldback"))
            else:
                per_class.setdefault(label, []).append((text, label, group, "train"))
        for _label, items in sorted(per_class.items()):
            rng.shuffle(items)
            out += items[:ACLED_PER_CLASS]
    return out


def non_political() -> list[tuple[str, str, str, str]]:
    """NONE from AG News (sports, business, technology: trained on) and BBC (business,
    entertainment, sport, tech: 30 % held back by article). Items the data's authors
    withheld for political words stay out."""
    rng = random.Random(SEED)
    out = []
    for name, scored in (("agnews_test_none.csv", False), ("bbc_news_none.csv", True)):
        items = []
        for row in _rows(NONE_DIR / name):
            if row["label"] == "NONE":
                group = f"{name}:{row['id']}"
                items.append((_opening(row["text"]), "NONE", group, _part(group, scored)))
        rng.shuffle(items)
        for part, cap in (("train", NONE_PER_SOURCE), ("val", VAL_NONE_PER_SOURCE), ("heldback", HELDBACK_NONE_PER_SOURCE)):
            out += [i for i in items if i[3] == part][:cap]
    return out


def _opening(text: str, words: int = 45) -> str:
    """A news item's headline and lead: what the tagger reads first."""
    return " ".join(text.split()[:words])


def seeds() -> list[tuple[str, str, str, str]]:
    """The project's own sentences, written from the PLOVER definitions: trained on, never scored."""
    return [(text, label, f"seed:{i}", "train") for i, (text, label) in enumerate(data.event_seeds())]


SOURCES = {
    "rams": rams, "wikievents": wikievents, "plover": plover, "acled": acled, "non_political": non_political,
    "coded": coded_train_only, "seeds": seeds,
}


def items(parts: tuple[str, ...] = PARTS) -> list[tuple[str, str, str, str, str]]:
    """``(text, label, group, part, source)`` of every source, in a fixed order; in the
    training part, the news event sentences NEWS_EVENT_REPEAT times. A text that is also
    in another part (ACLED repeats template notes, news items recur) is not trained on."""
    loaded = [(t, y, g, p, source) for source, load in SOURCES.items() for t, y, g, p in load() if t]
    withheld = {t for t, _y, _g, p, _s in loaded if p != "train"}
    out = []
    for t, y, g, p, source in loaded:
        if p not in parts or (p == "train" and t in withheld):
            continue
        repeat = NEWS_EVENT_REPEAT if p == "train" and source in ("rams", "wikievents") and y != "NONE" else 1
        out += [(t, y, g, p, source)] * repeat
    return out
