"""The validated config as frozen settings objects, one per part of the work.

``newsbeam.pipelines.config`` validates a YAML file (pydantic) and resolves it into these
once; every driver (the batch pipeline, the stream, the local worker pool) passes them
whole to the core. Fetch settings are ``newsbeam.http.FetchPolicy``. The limits' defaults
are declared here (or on FetchPolicy) and nowhere else: the config model takes its
defaults from these classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from newsbeam.text import MAX_ARTICLE_CHARS

# Larger local inputs are error rows, not memory spikes: a news page is well under 5 MB.
MAX_FILE_BYTES = 10_000_000
# Extracted articles shorter than this are error rows (link posts, stubs, paywalls).
MIN_WORDS = 20
# Rows per Parquet file a writer produces before it starts another.
MAX_ROWS_PER_FILE = 5000
# The tagging tier a config gets when it names none.
MODEL_DEFAULT = "fast"


@dataclass(frozen=True)
class ExtractSettings:
    """What the extractor needs: the shortest article kept, the longest text kept."""

    min_words: int = MIN_WORDS
    max_article_chars: int = MAX_ARTICLE_CHARS


@dataclass(frozen=True)
class TagSettings:
    """What the tagger needs: the event taxonomy, the tone lexicon, the claims as
    ``(id, text)`` pairs, the tier (``fast``, the one tier) and the actor gazetteer."""

    taxonomy: dict = field(default_factory=dict)
    tone_lexicon: dict = field(default_factory=dict)
    claims: tuple[tuple[str, str], ...] = ()
    model: str = MODEL_DEFAULT
    actors: dict | None = None

    def key(self) -> str:
        """A stable text key: one tagger per process and key."""
        return json.dumps([self.taxonomy, self.tone_lexicon, self.claims, self.model, self.actors], sort_keys=True)


@dataclass(frozen=True)
class OutputSettings:
    """Where and how a run writes: output and state paths, partitioning, files, stories
    (``{"threshold", "window_days"}``, or None when stories are off)."""

    path: str
    state: str
    partition_by: tuple[str, ...] = ()
    compression: str = "zstd"
    max_rows_per_file: int = MAX_ROWS_PER_FILE
    stories: dict | None = None
