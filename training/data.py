"""Loading and splitting the development data (../shared/data) for training and evaluation.

Every split is deterministic (a hash of a stable key, not a random draw), so ``make train``
and ``make eval`` agree on what is held back, on any machine.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SEEDS = REPO / "training" / "event_seeds.tsv"

# ACLED sub-event types -> PLOVER, as ../shared/data/README.md specifies; others unscored.
ACLED_TO_PLOVER = {
    "armed clash": "ASSAULT", "air/drone strike": "ASSAULT", "shelling/artillery/missile attack": "ASSAULT",
    "remote explosive/landmine/ied": "ASSAULT", "suicide bomb": "ASSAULT", "grenade": "ASSAULT",
    "chemical weapon": "ASSAULT", "attack": "ASSAULT", "sexual violence": "ASSAULT",
    "abduction/forced disappearance": "ASSAULT", "government regains territory": "ASSAULT",
    "non-state actor overtakes territory": "ASSAULT", "peaceful protest": "PROTEST",
    "protest with intervention": "PROTEST", "violent demonstration": "PROTEST", "mob violence": "PROTEST",
    "arrests": "COERCE", "agreement": "AGREE", "natural disaster": "NONE", "man-made disaster": "NONE",
    "organized crime": "NONE",
}
ACLED_EVAL_LABELS = ("ASSAULT", "PROTEST", "COERCE", "AGREE", "NONE")


def bucket(key: str, buckets: int = 10) -> int:
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % buckets


def file_hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def event_seeds() -> list[tuple[str, str]]:
    with open(SEEDS, encoding="utf-8") as fh:
        return [(row["text"], row["label"]) for row in csv.DictReader(fh, delimiter="\t")]


def plover_dev() -> list[tuple[str, str, str]]:
    """(id, text, label) of the PLOVER gold-standard dev sentences."""
    with open(SHARED / "events" / "plover_gsr_dev.csv", encoding="utf-8") as fh:
        return [(r["id"], r["text"], r["label"]) for r in csv.DictReader(fh)]


def plover_fold(item_id: str, folds: int = 5) -> int:
    return bucket(item_id, folds)


def acled() -> list[tuple[str, str]]:
    """(note, PLOVER label) for the ACLED notes whose sub-event type maps to PLOVER."""
    out = []
    with open(SHARED / "events" / "acled_afg_taliban_2019.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            label = ACLED_TO_PLOVER.get(row["sub_event_type"].strip().lower())
            if label and row["notes"].strip():
                out.append((row["notes"].strip(), label))
    return out


def acled_extra() -> list[tuple[str, str]]:
    """(note, PLOVER label) for the ACLED notes of other regions and years (older taxonomy).

    Labels come from ``training.labels.acled_old_label``; notes it cannot label are left out.
    """
    from training.labels import acled_old_label

    out = []
    with open(SHARED / "events" / "acled_extra_dev.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            note = row["notes"].strip()
            label = acled_old_label(row["event_type"], note) if note else None
            if label:
                out.append((note, label))
    return out


def acled_is_heldout(note: str) -> bool:
    """30 % of the ACLED notes are held back from training."""
    return bucket(note) < 3


def fnc_bodies() -> dict[int, str]:
    with open(SHARED / "stance" / "fnc1_train_bodies.csv", encoding="utf-8") as fh:
        return {int(r["Body ID"]): r["articleBody"] for r in csv.DictReader(fh)}


def fnc_stances() -> list[tuple[str, int, str]]:
    with open(SHARED / "stance" / "fnc1_train_stances.csv", encoding="utf-8") as fh:
        return [(r["Headline"], int(r["Body ID"]), r["Stance"]) for r in csv.DictReader(fh)]


def fnc_story_groups(stances: list[tuple[str, int, str]], salt: str = "fnc-topic", share: int = 2):
    """FNC-1's stories: ``(find, held_roots)``. ``find("b<body id>")`` is a body's story (the
    connected group of bodies and claims that related pairs tie together), and the stories
    in ``held_roots`` (``share`` tenths, by hash of their smallest body id) are held back."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for headline, body_id, label in stances:
        find(f"b{body_id}")
        find(f"h{headline}")
        if label != "unrelated":
            parent[find(f"h{headline}")] = find(f"b{body_id}")
    members: dict[str, list[int]] = {}
    for node in list(parent):
        if node.startswith("b"):
            members.setdefault(find(node), []).append(int(node[1:]))
    held_roots = {root for root, bodies in members.items() if bucket(f"{salt}-{min(bodies)}") < share}
    return find, held_roots


def fnc_topic_split(stances: list[tuple[str, int, str]], salt: str = "fnc-topic", share: int = 2) -> tuple[list, list]:
    """Split FNC-1 by topic: no held-back body, and no claim about a held-back topic, is trained on.

    Related pairs (agree/disagree/discuss) tie a claim to its story; the connected groups
    of claims and bodies are topics, and 20 % of topics (by hash of their smallest body id)
    are held back (``share`` tenths; ``salt`` draws another split, as for the calibration
    stories carved out of the training part). Every pair whose body is held back is evaluated; pairs that would put a
    held-back claim into training are dropped. This is stricter than a split by body alone
    (FNC-1 pairs each claim with many bodies, so a body split still trains on every test
    claim) and closer to the competition's test set, whose stories are all new.
    """
    find, held_roots = fnc_story_groups(stances, salt, share)
    train, held = [], []
    for headline, body_id, label in stances:
        if find(f"b{body_id}") in held_roots:
            held.append((headline, body_id, label))
        elif find(f"h{headline}") not in held_roots:
            train.append((headline, body_id, label))
    return train, held


_ACLED_DATE = re.compile(r"^On (or around )?\d{1,2} \w+ \d{4},?\s*", re.I)


def strip_acled_date(note: str) -> str:
    """ACLED notes open with the date; it says nothing about the event type."""
    return _ACLED_DATE.sub("", note)
