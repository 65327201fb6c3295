"""The accurate tier: event types (and stance, where the model has its head) from the
fine-tuned encoder (``onnx_encoder.py``), run on onnxruntime with no torch.

The event head reads the headline and the lead, a few sentences per article where news
states its event, and every sentence it may cite as evidence is one it read. Sentence
probabilities become an article's type, scores and evidence by the same rules as the
fast tier's (``events.ArticleEvents``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsbeam.tagging.events import NONE, ArticleEvents, CuePatterns, compile_patterns
from newsbeam.tagging.onnx_encoder import ENCODER_DIR, OnnxEncoder, linear_softmax, shared_encoder
from newsbeam.tagging.stance_encoder import EncoderStance

# Sentences after the headline that the encoder reads: the lead. Five sentences of a
# 600-word article is about a fifth of it, and where its event is stated as a rule.
LEAD_SENTENCES = 4


@dataclass
class EncoderEventModel(ArticleEvents):
    encoder: OnnxEncoder
    coef: np.ndarray  # (labels, DIMENSIONS)
    intercept: np.ndarray
    labels: tuple[str, ...]
    patterns: CuePatterns  # the taxonomy's cues: the actor coder reads them
    threshold: float

    def sentence_probs(self, sentences: list[str]) -> np.ndarray:
        return linear_softmax(self.encoder.encode(sentences), self.coef, self.intercept)

    def sentence_scores(self, probs: np.ndarray) -> np.ndarray:
        """A sentence's probability of each type, as it is: the fine-tuned head is sure of
        itself, so the n-gram model's ratio against NONE (``sentence_event_scores``) is
        near 1 for whatever type a sentence leans to, and a sentence that half-states a
        request would tie with a headline that plainly reports talks."""
        out = probs.copy()
        out[:, self.labels.index(NONE)] = 0.0
        return out


def load(taxonomy: dict, path: Path | str = ENCODER_DIR) -> tuple[EncoderEventModel, EncoderStance | None]:
    """The event model and, where the heads file has one, the stance head, over one encoder."""
    heads = np.load(Path(path) / "heads.npz", allow_pickle=False)
    encoder = shared_encoder(str(path), int(heads["max_length"]))
    events = EncoderEventModel(
        encoder=encoder,
        coef=heads["event_coef"].astype(np.float32),
        intercept=heads["event_intercept"].astype(np.float32),
        labels=tuple(heads["labels"].tolist()),
        patterns=compile_patterns(taxonomy),
        threshold=float(heads["threshold"]),
    )
    stance = None
    if "stance_coef" in heads:
        stance = EncoderStance(encoder, heads["stance_coef"], heads["stance_intercept"])
    return events, stance
