"""Late-interaction matching: every question token against every sentence token (MaxSim).

Why: one pooled vector per sentence blurs which words matched. Comparing the model's contextual token
vectors (the same forward pass that makes the sentence vector, so no extra model cost) rewards a
sentence that matches each part of the question, in context: on the SQuAD sample it alone finds the
answer sentence first far more often than the pooled cosine (see docs/quality.md).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_PUNCT = re.compile(r"^\W+$")


@dataclass(frozen=True)
class TokenMatrix:
    """All sentences' token vectors in one float16 array; sentence ``i`` owns rows
    ``offsets[i]:offsets[i+1]`` (unit length, [CLS]/[SEP] dropped)."""

    vectors: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_list(cls, mats: Sequence[np.ndarray]) -> TokenMatrix:
        sizes = [len(m) for m in mats]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        dim = mats[0].shape[1] if mats else 384
        flat = np.vstack(mats).astype(np.float16) if sum(sizes) else np.zeros((0, dim), np.float16)
        return cls(flat, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def maxsim(self, query_tokens: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Mean over query tokens of the best cosine within each sentence in ``rows``."""
        out = np.zeros(len(rows), dtype=np.float32)
        if len(query_tokens) == 0:
            return out
        q = query_tokens.astype(np.float32)
        for i, g in enumerate(rows):
            start, end = self.offsets[g], self.offsets[g + 1]
            if end > start:
                out[i] = float((q @ self.vectors[start:end].astype(np.float32).T).max(axis=1).mean())
        return out


def encode_with_tokens(model, texts: Sequence[str], batch_size: int = 64
                       ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sentence vectors and token matrices from ONE forward pass of a SentenceTransformer."""
    if not texts:
        return np.zeros((0, 384), np.float32), []
    outputs = model.encode(list(texts), output_value=None, batch_size=batch_size, convert_to_numpy=False,
                           show_progress_bar=False)
    vectors, tokens = [], []
    for text, out in zip(texts, outputs):
        vec = out["sentence_embedding"].float().numpy()
        vectors.append(vec / max(float(np.linalg.norm(vec)), 1e-12))
        tokens.append(content_tokens(model, out))
    return np.vstack(vectors).astype(np.float32), tokens


def content_tokens(model, out) -> np.ndarray:
    """Unit-length token vectors without [CLS], [SEP] and punctuation-only word pieces."""
    ids = out["input_ids"].tolist()
    mat = out["token_embeddings"].float().numpy()
    pieces = model.tokenizer.convert_ids_to_tokens(ids)
    keep = [i for i, piece in enumerate(pieces) if piece not in ("[CLS]", "[SEP]", "[PAD]") and not _PUNCT.match(piece)]
    if not keep:
        keep = [i for i, piece in enumerate(pieces) if piece not in ("[CLS]", "[SEP]", "[PAD]")] or [0]
    mat = mat[keep]
    return mat / np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)


TOKEN_LIMIT = 20_000  # sentences; above it token vectors would cost gigabytes and MaxSim is switched off
TOKENS_FILE = "tokens.npz"


def sentence_tokens(index, encoder, folder: Path | None = None) -> TokenMatrix | None:
    """Token vectors of every sentence of ``index``: read from ``folder`` (the index's data folder) when
    present and intact, else computed (one forward pass over the sentences) and saved there atomically.
    None for corpora over ``TOKEN_LIMIT`` sentences."""
    if not 0 < index.n_sentences <= TOKEN_LIMIT:
        return None
    texts = [s.text for a in index.articles for s in a.sentences]
    path = folder / TOKENS_FILE if folder is not None else None
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                matrix = TokenMatrix(data["vectors"], data["offsets"])
            if len(matrix) == len(texts) and matrix.vectors.shape[0] == matrix.offsets[-1]:
                return matrix
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # damaged: computed again below
        log.warning("token vectors in %s are damaged; computing them again", path)
    _, mats = encoder.encode_with_tokens(texts)
    matrix = TokenMatrix.from_list(mats)
    if path is not None:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "wb") as handle:
                np.savez(handle, vectors=matrix.vectors, offsets=matrix.offsets)
            os.replace(tmp, path)
        except OSError as exc:  # a read-only index still answers; it just recomputes next start
            tmp.unlink(missing_ok=True)
            log.info("cannot save token vectors in %s: %s", folder, exc)
    return matrix
