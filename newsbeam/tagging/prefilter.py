"""A word-prefix prefilter for cue patterns: skip a regular expression on text where it cannot match.

Cue matching is the largest part of tagging: each type's expression is searched in every
sentence, and Python's ``re`` scans every position of the sentence for an alternation that
starts with ``\\b`` (it gets no first-character index for it). Most sentences contain
the cues of only a few types. So, once per pattern, the expression is parsed and the
first letters its matches can start with are worked out (``\\b(peace )?talks`` starts a
word with ``peac`` or ``talk``); once per sentence, the first letters of its words are
collected; a pattern is searched only where the two meet. The result is exactly the
result of searching every sentence: a pattern whose matches cannot be proved to start
a word with known letters (no leading ``\\b``, a leading class such as ``\\d``) has no
prefilter and is always searched.
"""

from __future__ import annotations

import re

try:  # Python 3.11+
    from re import _constants as _sre
    from re import _parser as _parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _sre  # type: ignore[no-redef]
    import sre_parse as _parse  # type: ignore[no-redef]

# Letters of a word's start compared; words shorter than this are kept whole.
PREFIX = 4
_MAX_STRINGS = 512
_WORD = re.compile(r"\w+")
_ZERO_WIDTH = (_sre.ASSERT, _sre.ASSERT_NOT)
_REPEATS = tuple(getattr(_sre, name) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(_sre, name))


class _Unknown(Exception):
    """The pattern's start cannot be bounded: it gets no prefilter."""


# A partial match start: (text so far, the item sequence may still extend it, a \b came first).
def _sequence(items, k: int) -> set[tuple[str, bool, bool]]:
    out = {("", True, False)}
    for op, av in items:
        if not any(open_ and len(s) < k for s, open_, _ in out):
            break
        if op is _sre.AT:
            if av is _sre.AT_BOUNDARY:
                # A \b first anchors the match at a word start; after a word character
                # it ends the word (a non-word character is appended to say so).
                out = {(s + " " if o and s and _WORD.match(s[-1]) else s, o, b or s == "") for s, o, b in out}
            continue
        if op in _ZERO_WIDTH:
            continue
        alternatives = _item(op, av, k)
        extended = set()
        for s, open_, boundary in out:
            if not open_ or len(s) >= k:
                extended.add((s, False, boundary))
                continue
            for a, a_open, a_boundary in alternatives:
                joined = s + a
                extended.add((joined[:k], a_open and len(joined) < k, boundary or (s == "" and a_boundary)))
        if len(extended) > _MAX_STRINGS:
            raise _Unknown
        out = extended
    return out


def _item(op, av, k: int) -> set[tuple[str, bool, bool]]:
    if op is _sre.LITERAL:
        return {(chr(av), True, False)}
    if op is _sre.IN:
        chars = set()
        for sub_op, sub_av in av:
            if sub_op is _sre.LITERAL:
                chars.add(chr(sub_av))
            elif sub_op is _sre.RANGE and sub_av[1] - sub_av[0] < 64:
                chars.update(chr(c) for c in range(sub_av[0], sub_av[1] + 1))
            else:
                raise _Unknown
        return {(c, True, False) for c in chars}
    if op is _sre.SUBPATTERN:
        if av[1] & re.IGNORECASE:  # letters of other cases could match: not bounded here
            raise _Unknown
        return _sequence(av[-1], k)
    if op is _sre.BRANCH:
        out = set()
        for branch in av[1]:
            out |= _sequence(branch, k)
        return out
    if op in _REPEATS:
        low, high, body = av
        once = _sequence(body, k)
        if high != 1:  # after one pass, another may follow: the text beyond is unknown
            once = {(s, False, b) for s, _, b in once}
        return once | ({("", True, False)} if low == 0 else set())
    raise _Unknown


def word_prefixes(pattern: str, k: int = PREFIX) -> frozenset[str] | None:
    """What a word where a match of ``pattern`` starts must begin with, as strings to look
    up in ``text_prefixes``; None when that cannot be bounded (always search the pattern)."""
    try:
        parsed = _parse.parse(pattern)
        if parsed.state.flags & re.IGNORECASE:
            raise _Unknown
        starts = _sequence(parsed, k)
    except (_Unknown, re.error, RecursionError):
        return None
    out = set()
    for s, _open, boundary in starts:
        # The match must start at a word start: a \b before a word character.
        if not boundary or not s or not _WORD.match(s[0]):
            return None
        word = _WORD.match(s).group()
        # Either the word ends inside the known text (it is exactly ``word``) or its first
        # k letters are known; a shorter start that may go on cannot be looked up.
        if len(word) == len(s) < k:
            return None
        out.add(word[:k])
    return frozenset(out)


def text_prefixes(lowered: str, k: int = PREFIX) -> set[str]:
    """The first k characters of each word of a text (shorter words whole)."""
    return {w[:k] for w in _WORD.findall(lowered)}
