"""Rows of a saved float32 matrix read on demand, for indexes too large to keep their vectors in memory.

Why its own module: the index store (bot/store.py) decides *what* is saved; this is only *how* a
million-row ``.npy`` file is read a few hundred rows at a time without growing the process.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import numpy as np


class VectorFile:
    """Rows of a saved ``.npy`` float32 matrix read on demand with ``pread``: ``rows[ids]`` is an array.

    Why: a million 384-d vectors are 1.5 GB. Large corpora search FAISS (HNSW over 8-bit codes) and
    rescore only their few hundred candidates exactly, so the matrix stays on disk; ``pread`` (unlike a
    memory map) adds nothing to the process' resident memory, and the rows read are exact float32."""

    def __init__(self, path: Path) -> None:
        header = np.load(path, mmap_mode="r", allow_pickle=False)  # reads the header; maps, touches nothing
        if header.dtype != np.float32 or header.ndim != 2 or not header.flags.c_contiguous:
            raise ValueError(f"{path.name} is not a C-ordered float32 matrix")
        self.shape, self.offset = header.shape, header.offset
        del header
        self.row_bytes = self.shape[1] * 4
        self._fd = os.open(path, os.O_RDONLY)
        with contextlib.suppress(AttributeError, OSError):  # read ahead into the page cache (not this
            os.posix_fadvise(self._fd, 0, 0, os.POSIX_FADV_WILLNEED)  # process' memory): no cold first reads
        # The advice alone did not fill the cache here (measured: 600 random rows 19.5 ms cold vs 1.3 ms
        # cached), so the file is also read once, in the background, into one reused buffer.
        threading.Thread(target=_read_through, args=(os.dup(self._fd),), name="vector-file-warm",
                         daemon=True).start()

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        """The rows asked for, in that order. Rows are read sorted, each run of consecutive rows with
        one ``preadv`` straight into the result's memory (no per-row buffer objects)."""
        n = self.shape[0]
        rows = np.arange(n)[rows] if isinstance(rows, slice) else np.atleast_1d(np.asarray(rows, dtype=np.int64))
        if len(rows) and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"row out of range for {n} rows")
        rows = np.where(rows < 0, rows + n, rows)
        wanted, inverse = np.unique(rows, return_inverse=True)
        out = np.empty((len(wanted), self.shape[1]), dtype=np.float32)
        if len(wanted):
            cuts = np.flatnonzero(np.diff(wanted) != 1) + 1
            starts = np.concatenate([[0], cuts]).tolist()
            ends = np.concatenate([cuts, [len(wanted)]]).tolist()
            memory, size = memoryview(out).cast("B"), self.row_bytes
            for begin, end, row in zip(starts, ends, wanted[starts].tolist()):
                if os.preadv(self._fd, [memory[begin * size:end * size]], self.offset + row * size) != (end - begin) * size:
                    raise OSError(f"short read from the vector file at row {row}")
        return out if len(wanted) == len(rows) and not np.any(np.diff(rows) <= 0) else out[inverse.reshape(-1)]

    def __del__(self) -> None:
        with contextlib.suppress(AttributeError, OSError):
            os.close(self._fd)


def _read_through(fd: int, block: int = 8 << 20) -> None:
    """Read a whole file sequentially into the page cache (the GIL is released while reading)."""
    buffer = bytearray(block)
    view = memoryview(buffer)
    try:
        offset = 0
        while (got := os.preadv(fd, [view], offset)) > 0:
            offset += got
    except OSError:
        pass  # only a warm-up: reads on demand still work
    finally:
        os.close(fd)


def codes_for(index, vectors) -> object | None:
    """``index`` when ``vectors`` are read from disk (a :class:`VectorFile`) and ``index`` keeps decodable
    codes of the same rows in memory (HNSW over 8-bit codes), else None: what
    ``arrays.scores_of(coded=...)`` scores rows from before reading the best of them exactly."""
    return index if isinstance(vectors, VectorFile) and hasattr(index, "hnsw") and hasattr(index, "storage") else None
