"""The actors tag: who did what to whom, for each event type found, from its evidence
sentence (``newsbeam.tagging.actors``: rules over the configured gazetteer), and the
primary event's distinct source and target codes, for grouping by dyad."""

from __future__ import annotations

import pyarrow as pa

from newsbeam.tags.base import Tag, column

ACTOR = pa.struct([
    pa.field("text", pa.string()),
    pa.field("code", pa.string()),  # ISO 3166 alpha-3, or IGO; null where no country is known
    pa.field("sector", pa.string()),
])

EVENT_ACTORS = pa.struct([
    pa.field("event_type", pa.string()),
    pa.field("source", pa.list_(ACTOR)),
    pa.field("target", pa.list_(ACTOR)),
    pa.field("evidence", pa.string()),
])


class ActorsTag(Tag):
    name = "actors"
    columns = (
        column("event_actors", pa.list_(EVENT_ACTORS),
               "One per type found (the primary type first): who did it (source) to whom (target), each a list of "
               "{text, code, sector}, and the sentence; empty for NONE."),
        column("source_codes", pa.list_(pa.string()), "The primary event's distinct source actor codes (ISO 3166 alpha-3 or IGO), for grouping by dyad."),
        column("target_codes", pa.list_(pa.string()), "The primary event's distinct target actor codes, for grouping by dyad."),
    )

    def compute(self, doc, done) -> dict:
        from newsbeam.tagging.actors import primary_codes

        event_actors = doc.tagger.event_actors(doc.title, doc.sentences, done["event_type"], done["event_scores"],
                                               done["event_evidence"])
        source, target = primary_codes(event_actors, done["event_type"])
        return {"event_actors": event_actors, "source_codes": source, "target_codes": target}
