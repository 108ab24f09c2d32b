"""Small file-system helpers shared by every atomic writer (write a temporary sibling, rename it)."""

from __future__ import annotations

import contextlib
from pathlib import Path


def discard(path: Path) -> None:
    """Remove a leftover temporary file if there is one. Never raises: it runs in ``finally`` and
    ``except`` blocks, where an error of its own (``--index`` naming a file: NotADirectoryError, which
    ``missing_ok`` does not cover) would hide the error being handled behind a traceback."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def nearest_existing(path: Path) -> Path | None:
    """``path`` or its nearest ancestor that exists: when that is a file, no folder can be made there,
    and saying so up front beats the "File exists" / "Not a directory" that mkdir or a write gives."""
    return next((p for p in (path, *path.parents) if p.exists()), None)
