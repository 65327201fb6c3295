"""MkDocs hooks: the output schema tables are generated from the Arrow schemas (newsbeam.records)
and the tag registry (newsbeam.tags), so the docs cannot drift from what is written."""

from __future__ import annotations

import re

MARKER = re.compile(r"<!-- schema: (articles|errors) -->")


def _type(t) -> str:
    return str(t).replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def schema_table(kind: str) -> str:
    """The Markdown table of ``kind``'s columns: name, Arrow type, meaning."""
    from newsbeam.records import ARTICLE_SCHEMA, ERROR_DOCS, ERROR_SCHEMA, FIELD_DOCS
    from newsbeam.tags import TAGS

    if kind == "errors":
        schema, docs, owner = ERROR_SCHEMA, ERROR_DOCS, {}
    else:
        schema, docs = ARTICLE_SCHEMA, dict(FIELD_DOCS)
        owner = {}
        for tag in TAGS:
            for c in tag.columns:
                docs[c.name], owner[c.name] = c.doc, tag.name
    rows = ["| column | type | meaning |", "|---|---|---|"]
    for field in schema:
        if field.name not in docs:
            raise ValueError(f"column {field.name} of {kind} has no documentation")
        tag = f" *(tag: {owner[field.name]})*" if field.name in owner else ""
        meaning = docs[field.name].replace('|', chr(92) + '|').replace('<', '&lt;').replace('>', '&gt;')
        rows.append(f"| `{field.name}` | {_type(field.type)} | {meaning}{tag} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_kwargs) -> str:
    return home_markdown(MARKER.sub(lambda m: schema_table(m.group(1)), markdown))


README = re.compile(r"<!-- readme -->")


def readme_as_home() -> str:
    """The README (the repository's front page) as the site's home page: its links into
    docs/ made relative to the site."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    text = text.replace("](docs/)", "](index.md)").replace("](docs/", "](")
    return text


def home_markdown(markdown: str) -> str:
    return README.sub(lambda _m: readme_as_home(), markdown)
