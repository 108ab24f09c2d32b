"""Embedding cache: passage text hash -> its vectors, per model, kept under the index folder.

Why: a rebuild after adding one article should embed only that article's sentences and chunks, and
a rebuild of an unchanged corpus (``--force``, other chunking of the same sentences) should embed
nothing. Keys are blake2b digests of the exact text embedded; the file name carries the model's sha256
and the window size, so other weights or windowing never reuse a vector. Writes are atomic (temporary
file + rename): a killed build leaves the previous cache, never half of one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .embedding import DIMENSION, MAX_WORDPIECES, Encoder, Progress
from .files import discard

log = logging.getLogger(__name__)


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class EmbeddingCache:
    """Vectors of passages already embedded by this model; ``encoded``/``reused`` count texts."""

    def __init__(self, folder: Path, model_sha256: str) -> None:
        self.path = folder / f"embeddings-{model_sha256[:16]}-w{MAX_WORDPIECES}.npz"
        self._rows: dict[bytes, np.ndarray] = {}  # key -> (n_windows, DIMENSION)
        self._used: set[bytes] = set()
        self.encoded = 0
        self.reused = 0
        self._load()

    def __len__(self) -> int:
        return len(self._rows)

    def _load(self) -> None:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, counts, vectors = data["keys"], data["counts"], data["vectors"]
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("ignoring the unreadable embedding cache %s (%s)", self.path, exc)
            return
        if vectors.ndim != 2 or vectors.shape[1] != DIMENSION or counts.sum() != len(vectors) \
                or keys.shape != (len(counts), 16):
            log.warning("ignoring the inconsistent embedding cache %s", self.path)
            return
        offsets = np.concatenate([[0], np.cumsum(counts)])
        self._rows = {k.tobytes(): vectors[offsets[i]: offsets[i + 1]] for i, k in enumerate(keys)}

    def encode_passages(self, encoder: Encoder, texts: Sequence[str], progress: Progress | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Same result as ``encoder.encode_passages(texts)``, embedding only texts not cached yet."""
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts):
            if key not in self._rows and key not in missing:
                missing[key] = text
        self.reused += len(texts) - len(missing)
        self.encoded += len(missing)
        if missing:
            vectors, owners = encoder.encode_passages(list(missing.values()), progress)
            bounds = np.searchsorted(owners, np.arange(len(missing) + 1))
            for i, key in enumerate(missing):
                self._rows[key] = vectors[bounds[i]: bounds[i + 1]]
        elif progress:
            progress(len(texts), len(texts))
        self._used.update(keys)
        blocks = [self._rows[k] for k in keys]
        owners = np.repeat(np.arange(len(texts), dtype=np.int64), [len(b) for b in blocks])
        stacked = np.vstack(blocks) if blocks else np.zeros((0, DIMENSION), dtype=np.float32)
        return np.ascontiguousarray(stacked, dtype=np.float32), owners

    def save(self) -> None:
        """Keep what this build used, plus older entries while they are fewer than the used ones (an
        article removed and put back is not re-embedded, yet the file cannot grow without bound)."""
        unused = [k for k in self._rows if k not in self._used]
        keep = [k for k in self._rows if k in self._used] + (unused if len(unused) <= len(self._used) else [])
        blocks = [self._rows[k] for k in keep]
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "wb") as handle:
                np.savez(handle, keys=np.frombuffer(b"".join(keep), dtype=np.uint8).reshape(-1, 16),
                         counts=np.array([len(b) for b in blocks], dtype=np.int32),
                         vectors=np.vstack(blocks) if blocks else np.zeros((0, DIMENSION), dtype=np.float32))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:  # the index itself is what matters; a missing cache only costs time
            log.warning("could not write the embedding cache %s: %s", self.path, exc)
        finally:
            discard(tmp)
