"""Per-sentence rows of derived files (token vectors, parses) carried over from the index a build replaces.

Why: adding one article to a corpus of thousands should not run the model and the parser over every
sentence again, just as it does not embed them again (bot/embedding_cache.py). Each derived file keeps
a digest of every sentence's text (``KEYS``); a build computes only the sentences the previous data
folder's file has no row for and gathers the others from it. Files written before the digests were kept
simply have nothing to give.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from .arrays import flat_ranges

KEYS = "keys"


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """A 16-byte digest per text: what a row of a derived file was computed from."""
    return np.array([hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest() for t in texts], dtype="S16")


def sources(keys: np.ndarray, old_keys: np.ndarray) -> np.ndarray:
    """Per text, its row in the old file, or -1 where it must be computed."""
    lookup = {k: i for i, k in enumerate(old_keys.tolist())}
    return np.fromiter((lookup.get(k, -1) for k in keys.tolist()), dtype=np.int64, count=len(keys))


def merge_rows(source: np.ndarray, old_offsets: np.ndarray, old: Sequence[np.ndarray],
               new_offsets: np.ndarray, new: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Ragged rows (row ``i`` is ``flat[offsets[i]:offsets[i+1]]`` of each flat array) where row ``i``
    is old row ``source[i]``, or, where that is -1, the next row of ``new`` (computed for exactly those
    texts, in order). Returns the offsets and the flat arrays."""
    reused = source >= 0
    rank = np.cumsum(~reused) - 1  # the row of ``new`` each computed text is
    from_old = np.maximum(source, 0)
    base = int(old_offsets[-1])  # ``new``'s rows come after ``old``'s in the concatenation below
    begin = np.where(reused, old_offsets[from_old], base + new_offsets[np.maximum(rank, 0)])
    end = np.where(reused, old_offsets[from_old + 1], base + new_offsets[rank + 1])
    take = flat_ranges(begin, end)
    offsets = np.concatenate([[0], np.cumsum(end - begin)]).astype(np.int64)
    return offsets, [np.concatenate([o, n])[take] for o, n in zip(old, new)]
