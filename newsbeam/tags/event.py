"""The event-type tag: the article's PLOVER event type (or NONE), every type's score, and
the sentence that is each found type's evidence (``newsbeam.tagging.events`` and, for the
accurate tier, ``encoder_model``)."""

from __future__ import annotations

import pyarrow as pa

from newsbeam.tags.base import Tag, column


class EventTag(Tag):
    name = "event"
    columns = (
        column("event_type", pa.string(),
               "PLOVER event type of the article, or NONE; null where it is not tagged (a language the models do not know)."),
        column("event_scores", pa.map_(pa.string(), pa.float32()), "Each event type's score (0 to 1), NONE included."),
        column("event_evidence", pa.map_(pa.string(), pa.string()), "For each event type found, the sentence that states it."),
    )

    def compute(self, doc, done) -> dict:
        primary, scores, evidence = doc.tagger.classify_events(doc.title, doc.sentences)
        return {"event_type": primary, "event_scores": scores, "event_evidence": evidence}
