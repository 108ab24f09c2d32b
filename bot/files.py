"""Small file-system helpers shared by every atomic writer (write a temporary sibling, rename it)."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path


def discard(path: Path) -> None:
    """Remove a leftover temporary file if there is one. Never raises: it runs in ``finally`` and
    ``except`` blocks, where an error of its own (``--index`` naming a file: NotADirectoryError, which
    ``missing_ok`` does not cover) would hide the error being handled behind a traceback."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def nearest_existing(path: Path) -> Path | None:
    """``path`` or its nearest ancestor that exists (a dangling symbolic link counts: nothing can be
    made there either): when that is not a folder, saying so up front beats the "File exists" / "Not
    a directory" that mkdir or a write gives. None when there is none, or when a folder on the way
    cannot be searched (EACCES): then the write itself reports it."""
    for candidate in (path, *path.parents):
        try:
            if os.path.lexists(candidate):
                return candidate
        except OSError:
            return None
    return None


def is_folder(path: Path) -> bool:
    """``path.is_dir()`` that says False instead of raising (EACCES on the way)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def is_file(path: Path) -> bool:
    """``path.is_file()`` that says False instead of raising (EACCES on the way)."""
    try:
        return path.is_file()
    except OSError:
        return False


def not_a_folder(path: Path) -> str | None:
    """Why no folder can be at ``path`` ("x is a file"), or None when one is or can be made there."""
    existing = nearest_existing(path)
    if existing is None or is_folder(existing):
        return None
    return f"{existing} is {'a broken link' if existing.is_symlink() and not existing.exists() else 'a file'}"


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary sibling, fsync, rename over ``path``: readers see old or new, never half."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        discard(tmp)
    fsync_path(path.parent)


def fsync_path(path: Path) -> None:
    """fsync a file or folder by name (a folder's entry list is only durable once it is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
