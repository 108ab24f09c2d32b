"""Array helpers shared by the index store, BM25 and retrieval."""

from __future__ import annotations

import numpy as np


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
        every = len(rows) == len(offsets) - 1 and np.array_equal(rows, np.arange(len(rows)))
        gathered = scores[values if every else values[flat_ranges(begin, end)]]  # every row: no gather
        out[filled] = np.maximum.reduceat(gathered, (np.cumsum(counts) - counts)[filled])
    return out
