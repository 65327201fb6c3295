"""One rule for a container field of the wrong type or with an impossible value.

Every input kind (a JSON line, a feed entry) hands its fields through here: a value of the
wrong type, or a date that cannot exist (30 February, an offset of +24:00 or more, a
boolean where a date should be), is dropped to null, the article is kept, and the fact
is returned as a problem naming the field. The readers turn each problem into an error
row of kind ``BadField`` beside the kept article, so nothing is silently turned into
another value and no article is lost to one bad field.
"""

from __future__ import annotations

import datetime as dt
import re

from newsbeam.records import UTC
from newsbeam.text import without_surrogates

BAD_FIELD = "BadField"

# Year-month-day as ISO 8601 writes it, and day-month-year as RFC 822 writes it.
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_RFC_DATE = re.compile(r"\b(\d{1,2})\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{4})\b", re.I)
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
# A UTC offset at the end of a timestamp: "+0530", "-08:00".
_OFFSET = re.compile(r"(?:\d|\s)([+-])(\d{2}):?(\d{2})\s*$")
_TIME = re.compile(r"(?<![\d+-])(\d{1,2}):(\d{2})(?::(\d{2}))?")


def impossible_date(text: str) -> str | None:
    """Why a date string names a moment that cannot exist, or None (also for one that is
    merely unreadable: a parser decides that)."""
    found = None
    m = _ISO_DATE.search(text)
    if m:
        found = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    else:
        m = _RFC_DATE.search(text)
        if m:
            found = (int(m.group(3)), _MONTHS[m.group(2).lower()[:3]], int(m.group(1)))
    if found:
        try:
            dt.date(*found)
        except ValueError as exc:
            return f"{text!r}: {exc}"
    t = _TIME.search(text)
    if t and (int(t.group(1)) > 23 or int(t.group(2)) > 59 or int(t.group(3) or 0) > 60):
        return f"{text!r}: no such time of day"
    o = _OFFSET.search(text)
    if o and (int(o.group(2)) >= 24 or int(o.group(3)) >= 60):
        return f"{text!r}: UTC offset {o.group(1)}{o.group(2)}{o.group(3)} is out of range"
    return None


def parse_date(value) -> tuple[dt.datetime | None, str | None]:
    """A JSON value as a UTC datetime: ``(datetime, None)``, ``(None, None)`` when absent,
    or ``(None, why)`` when it is not a date (a boolean, a list, an impossible day).

    Numbers are seconds since the Unix epoch; strings are ISO 8601 or anything dateutil
    reads unambiguously.
    """
    if value is None or value == "":
        return None, None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None, f"a date must be a string or a number of seconds, not {type(value).__name__}"
    if isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(value, UTC), None
        except (OverflowError, ValueError, OSError) as exc:
            return None, f"{value!r} seconds since 1970 is not a date ({exc})"
    problem = impossible_date(value)
    if problem:
        return None, problem
    import warnings

    from dateutil import parser as dateparser

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parsed = dateparser.parse(value)
    except (ValueError, OverflowError) as exc:
        return None, f"{value[:80]!r} is not a date ({exc})"
    if any(issubclass(w.category, dateparser.UnknownTimezoneWarning) for w in caught):
        # "10:00 PST" read as 10:00 UTC would be eight hours off: a zone name is not
        # known for certain (PST, IST and CST each name several), so the date is null.
        return None, f"{value[:80]!r}: the time zone name is not known for certain; write a UTC offset"
    return (parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)), None


def text_field(row: dict, key: str, problems: list[str]) -> str | None:
    """A string field of a JSON object, or None; a value of another type is a problem, and
    so is a lone surrogate escape (``"\\udfff"``: valid JSON, not text), which is
    replaced by U+FFFD (the article is kept)."""
    value = row.get(key)
    if value is None or isinstance(value, str):
        if value:
            value, replaced = without_surrogates(value)
            if replaced:
                problems.append(f"{key}: lone surrogate code points replaced by U+FFFD")
        return value or None
    problems.append(f"{key}: expected a string, got {type(value).__name__}")
    return None
