"""The story tag: articles telling the same story share an id, across outlets and runs.

Computed at commit time, not per article (``newsbeam.stories``: MinHash candidates, then
TF-IDF cosine, against the open stories of earlier runs); an article's row carries null
until its run's commit stamps it.
"""

from __future__ import annotations

import pyarrow as pa

from newsbeam.tags.base import Tag, column


class StoryTag(Tag):
    name = "story"
    columns = (
        column("story_id", pa.string(),
               "Shared by the articles that tell the same story, across outlets and runs (output.md, Stories); "
               "null when stories.enabled is false."),
    )

    def compute(self, doc, done) -> dict:
        return {"story_id": None}  # stamped by the commit, once the run's stories are known
