"""Per-sentence rows of derived files (token vectors, parses) carried over from the index a build replaces.

Why: adding one article to a corpus of thousands should not run the model and the parser over every
sentence again, just as it does not embed them again (bot/embedding_cache.py). Each derived file keeps
a digest of every sentence's text (``KEYS``); a build computes only the sentences the previous data
folder's file has no row for and gathers the others from it. Files written before the digests were kept
simply have nothing to give.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .arrays import flat_ranges, save_npz

log = logging.getLogger(__name__)

KEYS = "keys"


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """A 16-byte digest per text: what a row of a derived file was computed from."""
    return np.array([hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest() for t in texts], dtype="S16")


def valid_keys(keys: np.ndarray | None, n_rows: int) -> bool:
    """Whether ``keys`` (a file's ``KEYS`` field) is one 16-byte key per row of its file."""
    return keys is not None and keys.dtype == np.dtype("S16") and keys.ndim == 1 and len(keys) == n_rows


def plan(texts: Sequence[str], old_keys: np.ndarray | None, old_rows: int) -> tuple[np.ndarray, ...]:
    """(the texts' keys, each text's row in the old file or -1, the texts to compute): with no usable
    old keys (no old file, one written before keys were kept, damaged ones) every text is computed."""
    keys = text_keys(texts)
    if valid_keys(old_keys, old_rows):
        lookup = {k: i for i, k in enumerate(old_keys.tolist())}
        source = np.fromiter((lookup.get(k, -1) for k in keys.tolist()), dtype=np.int64, count=len(keys))
    else:
        source = np.full(len(texts), -1, dtype=np.int64)
    return keys, source, np.flatnonzero(source < 0)


def save(path: Path, arrays: dict[str, np.ndarray], keys: np.ndarray, strict: bool, what: str) -> None:
    """Save a derived file with its rows' keys. Outside a build (``strict`` False) a failure is only
    logged: a read-only index still answers, it just computes again next start; in a build it raises,
    so that no index is published without the file."""
    try:
        save_npz(path, {**arrays, KEYS: keys})
    except OSError as exc:
        if strict:
            raise
        log.info("cannot save %s in %s: %s", what, path.parent, exc)


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
