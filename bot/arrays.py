"""Array helpers shared by the index store, BM25 and retrieval."""

from __future__ import annotations

import numpy as np


def flat_ranges(begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``concatenate([arange(b, e) for b, e in zip(begin, end)])`` without a Python loop: the rows of
    many sentences (or paragraphs, or owners) gathered in one fancy index."""
    begin, end = np.asarray(begin, np.int64), np.asarray(end, np.int64)
    counts = end - begin
    return np.repeat(begin - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
