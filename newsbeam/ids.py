"""The id formulas, in one place: an article's id, and the id a URL gives an article.

An article is known by its canonical URL when it has one, else by its text: two fetches
of one page, or one wire story under two links with the same canonical, get the same id
on every run. ``url_id`` is the id the article at a URL gets before any page says
otherwise (the state keeps it beside the article id, so a later run recognises a feed
entry whose page named another canonical URL).
"""

from __future__ import annotations

from newsbeam.text import stable_id
from newsbeam.urls import canonicalize_url


def article_id(canonical_url: str | None, fingerprint: str) -> str:
    """The id of an article with this (already canonical) URL and text fingerprint."""
    return stable_id("url", canonical_url) if canonical_url else stable_id("text", fingerprint)


def url_id(url: str | None) -> str | None:
    """The id an article gets from this URL (before any page says otherwise)."""
    canonical = canonicalize_url(url)
    return article_id(canonical, "") if canonical else None
