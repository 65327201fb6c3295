"""What a tag is: the output columns it declares, and how it computes them for one article.

A tag is a subclass of ``Tag`` in its own module under ``newsbeam/tags/``, registered by
one line in ``newsbeam/tags/__init__.py``. The article schema (``newsbeam.records``), the
rows the writer stores, ``newsbeam tag``'s JSON and the output-schema docs take their
columns from the registered tags, and the local worker pool carries the values as they
are: adding a tag touches nothing else. ``docs/extending.md`` walks through one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    """One output column: its Arrow field (name, type) and what it means, for the docs."""

    field: pa.Field
    doc: str

    @property
    def name(self) -> str:
        return self.field.name


def column(name: str, type_: pa.DataType, doc: str) -> Column:
    return Column(pa.field(name, type_), doc)


@dataclass(frozen=True)
class TagInput:
    """What every tag sees of one article: the title (None when it is boilerplate), the
    text, its first sentences, the claims to take a stance on, and the process's
    ``Tagger``, which holds the loaded models (``newsbeam.tagging``)."""

    title: str | None
    text: str
    sentences: list[str]
    claims: list
    tagger: object


class Tag:
    """A tag: ``name``, its ``columns``, and ``compute``, which returns a value for each
    column. ``done`` holds the values of the tags registered before this one (the actors
    tag reads the event tag's). Values are plain Python: str, float, list, dict (an Arrow
    map), dict per struct."""

    name: str = ""
    columns: tuple[Column, ...] = ()

    def compute(self, doc: TagInput, done: dict) -> dict:
        raise NotImplementedError

    def untagged(self) -> dict:
        """The values of an article the tagger does not read (a language it does not know):
        empty lists and maps, null scalars."""
        return {c.name: empty_value(c.field.type) for c in self.columns}


def empty_value(type_: pa.DataType):
    if pa.types.is_map(type_):
        return {}
    if pa.types.is_list(type_) or pa.types.is_large_list(type_):
        return []
    return None
