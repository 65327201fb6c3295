"""Tagging: event type (PLOVER + NONE), stance toward claims (FNC-1 labels), tone.

``Tagger`` is the one entry point used by the pipeline's TagArticles step and by
``newsbeam tag``, so both always give the same tags for the same text.
"""

from newsbeam.tagging.tagger import Claim, ModelFileError, Tagger, TagResult

__all__ = ["Claim", "ModelFileError", "TagResult", "Tagger"]
