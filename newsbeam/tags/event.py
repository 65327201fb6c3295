"""The event-type tag: the article's PLOVER event type (or NONE), every type's score, and
the sentence that is each found type's evidence, the probability that the type is right,
and which models made the tags (``newsbeam.tagging.events``)."""

from __future__ import annotations

import pyarrow as pa

from newsbeam.tags.base import Tag, column


class EventTag(Tag):
    name = "event"
    columns = (
        column("event_type", pa.string(),
               "One of the 16 PLOVER types or NONE; null when the article's language is not one the models know "
               "(English today): untagged, not \"no event\"."),
        column("event_scores", pa.map_(pa.string(), pa.float32()), "A score for every type and NONE (0 to 1)."),
        column("event_evidence", pa.map_(pa.string(), pa.string()), "The sentence that best supports each type found."),
        column("event_confidence", pa.float64(),
               "The probability that event_type is right, calibrated on source families the model never saw: "
               "0.8 or more means right at least 8 times in 10 on a new source (docs/tags.md)."),
        column("tag_model", pa.string(),
               "Which models made this row's tags: the recipe's name, the tier and a hash of the model files, "
               "taxonomy, tone lexicon and gazetteer; null when untagged."),
    )

    def compute(self, doc, done) -> dict:
        result = doc.tagger.classify_events(doc.title, doc.sentences)
        return {"event_type": result.primary, "event_scores": result.scores, "event_evidence": result.evidence,
                "event_confidence": result.confidence, "tag_model": doc.tagger.model_id}
