"""Who may touch an index folder when: one builder at a time, and no reader while a build swaps.

Why two locks: a build writes a new data folder, switches ``manifest.json`` to it and deletes the old
folder. A reader that read the old manifest must have every file of the old folder in memory (or open)
before that delete, so readers hold ``SWAP`` shared from reading the manifest until they are done, and
the builder holds it exclusively only for the switch and the delete (milliseconds). Builders hold
``BUILD`` for the whole build, so a second start waits for the first build and then loads its index
instead of building the same one again, while readers of the current index never wait for a build.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

SWAP = ".lock"  # the name earlier versions' builders locked: an old builder still excludes a new reader
BUILD = ".build.lock"


@contextlib.contextmanager
def reading(index_dir: Path) -> Iterator[None]:
    """Hold off a build's switch while the current index is read. Without a folder there is nothing to
    read, and in a read-only one nobody can build: then there is nothing to lock against."""
    try:
        handle = open(index_dir / SWAP, "a+")
    except OSError:
        try:  # a folder others build in, readable but not writable by this user: flock needs no write
            handle = open(index_dir / SWAP)
        except OSError:
            yield
            return
    with handle, _held(handle, fcntl.LOCK_SH):
        yield


@contextlib.contextmanager
def swapping(index_dir: Path) -> Iterator[None]:
    """Exclude readers while the manifest is switched and old data folders are deleted."""
    with open(index_dir / SWAP, "a+") as handle, _held(handle, fcntl.LOCK_EX):
        yield


@contextlib.contextmanager
def building(index_dir: Path, waiting: Callable[[], None]) -> Iterator[None]:
    """Serialise builders of one index folder. ``waiting`` is called before waiting for another build
    (the caller then re-reads the manifest in any case: a build may have ended just before)."""
    with open(index_dir / BUILD, "a+") as handle:
        try:
            locked = _lock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting()
            locked = _lock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _held(handle, mode: int) -> Iterator[None]:
    locked = _lock(handle, mode)
    try:
        yield
    finally:
        if locked:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock(handle, mode: int) -> bool:
    """flock, or False where the file system has no locks (ENOLCK on some network mounts): then the
    folder is shared as before locking existed, which beats refusing to answer."""
    try:
        fcntl.flock(handle, mode)
        return True
    except BlockingIOError:
        raise
    except OSError as exc:
        log.info("cannot lock %s (%s); going on without the lock", handle.name, exc.strerror or exc)
        return False
