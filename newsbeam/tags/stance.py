"""The stance tag: the article's stance toward each configured claim (FNC-1 labels: agree,
disagree, discuss, unrelated), with its score and evidence sentence
and the probability that the label is right (``newsbeam.tagging.stance``)."""

from __future__ import annotations

import pyarrow as pa

from newsbeam.tags.base import Tag, column

STANCE = pa.struct([
    pa.field("claim_id", pa.string()),
    pa.field("target", pa.string()),
    pa.field("label", pa.string()),
    pa.field("score", pa.float32()),
    pa.field("confidence", pa.float64()),
    pa.field("evidence", pa.string()),
])


class StanceTag(Tag):
    name = "stance"
    columns = (
        column("stances", pa.list_(STANCE),
               "One per claim: {claim_id, target (the claim), label (agree, disagree, discuss or unrelated), score, "
               "confidence (the probability that the label is right, calibrated on topics and corpora the model "
               "never saw), evidence (null when unrelated)}."),
    )

    def compute(self, doc, done) -> dict:
        return {"stances": doc.tagger.stances(doc.title, doc.sentences, doc.claims)}
