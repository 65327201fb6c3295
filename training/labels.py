"""Labelling rules for the development data, shown here so they can be checked.

The ACLED notes from other regions and years (``acled_extra_dev.csv``) use ACLED's older
taxonomy: an ``event_type`` and no ``sub_event_type``. Their PLOVER label follows the
mapping in ``../shared/data/README.md`` for the unambiguous types; a strategic development
is labelled only where its wording says which one it is (an arrest is COERCE, an agreement
AGREE, a surrender or a disarmament RETREAT), and left unlabelled (not trained on, not
scored) otherwise.
"""

from __future__ import annotations

import re

# ACLED's older event types that map to one PLOVER type as a whole.
ACLED_OLD_TYPES = {
    "riots/protests": "PROTEST",
    "battle-no change of territory": "ASSAULT",
    "battle-government regains territory": "ASSAULT",
    "battle-non-state actors overtake territory": "ASSAULT",
    "violence against civilians": "ASSAULT",
    "remote violence": "ASSAULT",
}

# Strategic developments, by their wording. Checked in this order: a note that reports an
# arrest made while an agreement was signed is about the arrest.
_ARREST = re.compile(r"\b(arrest(ed|s|ing)?|detain(ed|s|ing)?|held in custody|taken into custody|apprehended|rounded up)\b", re.I)
_AGREE = re.compile(r"\b(agree(d|s|ment)?|accord|signed|sign a|peace deal|ceasefire|cease-fire|truce|pact|memorandum)\b", re.I)
# "breached the truce by firing mortar shells" names an agreement but reports an attack.
_VIOLENCE = re.compile(r"\b(breach(ed|es)?|violat(ed|es|ion)|bomb(s|ed|ing)?|explo(ded|sion)|attack(ed|s)?|fir(ed|ing))\b", re.I)
_RETREAT = re.compile(r"\b(surrender(ed|s)?|handed (themselves|himself|herself) (in|over)|laid down (their|his) (arms|weapons)|"
                      r"released|freed|withdr(ew|awn|awal))\b", re.I)


def acled_old_label(event_type: str, note: str) -> str | None:
    """The PLOVER label of an ACLED note in the older taxonomy, or None (not scored)."""
    kind = event_type.strip().lower()
    if kind in ACLED_OLD_TYPES:
        return ACLED_OLD_TYPES[kind]
    if kind == "strategic development":
        if _ARREST.search(note):
            return "COERCE"
        if _AGREE.search(note) and not _VIOLENCE.search(note):
            return "AGREE"
        if _RETREAT.search(note):
            return "RETREAT"
    return None
