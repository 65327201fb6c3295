"""The deduplication rule, without Beam: which of several rows of one article is stored.

Rows are grouped twice, by article id and then by normalised-text fingerprint. In each
group the row of smallest ``(rank, article_id, shard, index)`` is the article and the rest
are ``duplicate``; in a group that an earlier run stored, that row is not kept either: it
is ``seen`` (so a rerun says "11 already stored, 1 duplicate", as many as the output
holds). The batch pipeline applies ``pick`` to each group after a GroupByKey
(``newsbeam.transforms.dedup``); a stream batch applies ``select_new`` to its rows in memory.
"""

from __future__ import annotations

import collections

from newsbeam.records import RowKey

DUPLICATE = "duplicate"
SEEN_BEFORE = "seen"


def pick(rows: list[RowKey], seen: bool) -> tuple[RowKey | None, list[tuple[RowKey, str]]]:
    """One group's winner (None when the group was stored before) and its losers with why."""
    ordered = sorted(rows, key=lambda r: (r.rank, r.article_id, r.shard, r.index))
    duplicates = [(row, DUPLICATE) for row in ordered[1:]]
    if seen:
        return None, [(ordered[0], SEEN_BEFORE), *duplicates]
    return ordered[0], duplicates


def _pick_groups(rows: list[RowKey], key, seen: set[str]) -> tuple[list[RowKey], list[tuple[RowKey, str]]]:
    groups: dict[str, list[RowKey]] = collections.defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    winners, losers = [], []
    for value, group in groups.items():
        winner, lost = pick(group, value in seen)
        winners += [winner] if winner is not None else []
        losers += lost
    return winners, losers


def select_new(rows: list[RowKey], seen_ids: set[str], seen_fingerprints: set[str]) -> tuple[list[RowKey], list[tuple[RowKey, str]]]:
    """The rows to store (in ``rows``' order) and the losers, by id then by text."""
    by_id, lost_by_id = _pick_groups(rows, lambda r: r.article_id, seen_ids)
    winners, lost_by_text = _pick_groups(by_id, lambda r: r.text_fingerprint, seen_fingerprints)
    order = {id(r): n for n, r in enumerate(rows)}
    return sorted(winners, key=lambda r: order[id(r)]), lost_by_id + lost_by_text
