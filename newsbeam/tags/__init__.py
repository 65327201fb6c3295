"""The tag registry: every tag an article gets, in the order they are computed.

Each tag is one module here that declares its output columns and computes them
(``newsbeam.tags.base``). Adding one is a module and a line in ``TAGS``; the article
schema, the writer, ``newsbeam tag`` and the schema docs follow (``docs/extending.md``).
"""

from __future__ import annotations

from newsbeam.tags.actors import ActorsTag
from newsbeam.tags.base import Column, Tag, TagInput
from newsbeam.tags.event import EventTag
from newsbeam.tags.stance import StanceTag
from newsbeam.tags.story import StoryTag
from newsbeam.tags.tone import ToneTag

TAGS: tuple[Tag, ...] = (
    StoryTag(),
    EventTag(),
    ActorsTag(),  # reads the event tag's values
    StanceTag(),
    ToneTag(),
)


def tag_columns() -> list[Column]:
    """Every registered tag's columns, in registry order."""
    return [c for tag in TAGS for c in tag.columns]


def compute_tags(doc: TagInput) -> dict:
    """Every registered tag's values for one article."""
    values: dict = {}
    for tag in TAGS:
        values.update(tag.compute(doc, values))
    return values


def untagged() -> dict:
    """The values of an article left untagged (a language the models do not know)."""
    return {k: v for tag in TAGS for k, v in tag.untagged().items()}


__all__ = ["TAGS", "Column", "Tag", "TagInput", "compute_tags", "tag_columns", "untagged"]
