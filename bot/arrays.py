"""Array helpers shared by the index store, BM25 and retrieval."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

from .files import discard


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` (.npz) through a temporary sibling renamed into place, so a reader
    sees the old file or the new one, never half of one. The temporary file is removed when writing
    fails; the OSError is the caller's (a read-only index still answers, it only computes again)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    finally:
        discard(tmp)


def flat_ranges(begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``concatenate([arange(b, e) for b, e in zip(begin, end)])`` without a Python loop: the rows of
    many sentences (or paragraphs, or owners) gathered in one fancy index."""
    begin, end = np.asarray(begin, np.int64), np.asarray(end, np.int64)
    counts = end - begin
    return np.repeat(begin - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())


def max_of_rows(offsets: np.ndarray, values: np.ndarray, rows: np.ndarray, scores: np.ndarray,
                default: float = 0.0) -> np.ndarray:
    """For each ragged row in ``rows`` (``values[offsets[r]:offsets[r+1]]``), the highest
    ``scores[v]`` of its values, ``default`` for an empty row: a sentence's best chunk score,
    ``max((scores[v] for v in row), default=default)`` for many rows in a few array operations."""
    rows = np.asarray(rows, np.int64)
    begin, end = offsets[rows].astype(np.int64), offsets[rows + 1].astype(np.int64)
    out = np.full(len(rows), default, dtype=np.float64)
    counts = end - begin
    filled = counts > 0
    if filled.any():
        gathered = scores[values[flat_ranges(begin, end)]]  # (every row at once: ``padded_rows``)
        out[filled] = np.maximum.reduceat(gathered, (np.cumsum(counts) - counts)[filled])
    return out


def padded_rows(offsets: np.ndarray, values: np.ndarray, n_rows: int, empty: int) -> np.ndarray:
    """Ragged rows (``values[offsets[r]:offsets[r+1]]``) as an ``n_rows x width`` array, each row padded
    with its own first value (a maximum over the row is unchanged) and an empty row holding ``empty``
    alone (the caller puts its default there)."""
    rows = [values[offsets[r]:offsets[r + 1]].tolist() or [empty] for r in range(n_rows)]
    width = max((len(r) for r in rows), default=1)
    return np.array([r + r[:1] * (width - len(r)) for r in rows], dtype=np.int64).reshape(-1, width)


def scores_of(vectors: np.ndarray, owner: np.ndarray, ids: np.ndarray, vector: np.ndarray, size: int,
              coded=None, rescore: int = 0) -> np.ndarray:
    """Best window score of each owner in ``ids`` (``owner`` is sorted: rows are stored in owner order),
    reading only their rows; a ``size``-long array, 0 elsewhere.

    ``coded``: a FAISS index over the same rows that keeps its own 8-bit copy in memory (HNSW-SQ),
    when ``vectors`` stays on disk. Every row is then scored from the codes (cosine error ~1e-3) and
    only the ``rescore`` best are read and scored exactly. Why: a question's few hundred rows are a
    few hundred page faults once the VM's memory reclaim has evicted the file (docs/performance.md)."""
    out = np.zeros(size, dtype=np.float32)
    begin, end = np.searchsorted(owner, ids, "left"), np.searchsorted(owner, ids, "right")
    has = end > begin
    ids, begin, end = ids[has], begin[has], end[has]
    if len(ids):
        counts = end - begin
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rows = flat_ranges(begin, end)
        if coded is None:
            values = np.asarray(vectors[rows]) @ vector
        else:
            values = coded.reconstruct_batch(rows) @ vector
            top = np.argpartition(-values, rescore - 1)[:rescore] if len(rows) > rescore else slice(None)
            values[top] = np.asarray(vectors[rows[top]]) @ vector
        best = np.maximum.reduceat(values, starts)
        best[best < -0.5] = 0.0  # as max_by_owner does (only ids are written: the other pages of
        out[ids] = best  # a million zeros are never touched)
    return out


def max_by_owner(scores: np.ndarray, owner: np.ndarray, size: int, one_each: bool = False) -> np.ndarray:
    """Best window score per owner (sentence or chunk); owners with no vector score 0. ``one_each``:
    ``owner`` is ``arange(size)``, so the scores are their own maxima (no ``np.maximum.at``)."""
    if one_each:  # a score under -1 is under -0.5 as well: zeroed below either way, so no floor at -1
        out = np.array(scores, dtype=np.float32)
    else:
        out = np.full(size, -1.0, dtype=np.float32)
        np.maximum.at(out, owner, scores)
    out[out < -0.5] = 0.0
    return out


class Ragged:
    """Rows of varying length in two flat arrays: ``ragged[i]`` is ``values[offsets[i]:offsets[i+1]]``
    as a list."""

    def __init__(self, offsets: np.ndarray, values: np.ndarray) -> None:
        self.offsets, self.values = offsets, values

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i) -> list[int]:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i = int(i) % len(self)
        return self.values[self.offsets[i]:self.offsets[i + 1]].tolist()

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """All values of rows ``ids``, concatenated (vectorised ``[v for i in ids for v in self[i]]``)."""
        ids = np.asarray(ids, dtype=np.int64)
        return self.values[flat_ranges(self.offsets[ids], self.offsets[ids + 1])]
