"""The tone tag: the balance of a positive and a negative lexicon over the title and text,
(positive - negative) / (positive + negative + 3), in -1..1 (``configs/taxonomy/tone.yaml``)."""

from __future__ import annotations

import pyarrow as pa

from newsbeam.tags.base import Tag, column


class ToneTag(Tag):
    name = "tone"
    columns = (column("tone", pa.float64(), "-1 (negative) to 1 (positive): the balance of the tone lexicon's words."),)

    def compute(self, doc, done) -> dict:
        return {"tone": doc.tagger.tone(f"{doc.title or ''}\n{doc.text}")}
