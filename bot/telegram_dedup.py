"""Update ids the bot has already answered, kept on disk: a restart after a crash answers nothing twice.

Why PTB alone is not enough: long polling confirms updates lazily. ``getUpdates`` returns a batch,
and the bot tells Telegram it has them only with the *next* call's ``offset`` (or on a clean stop).
A process killed in between (SIGKILL, OOM, power loss) gets the whole unconfirmed batch again on
restart, already-answered questions included; webhook redeliveries after a timeout are the same.
``PicklePersistence`` flushes only every 30 s, so it cannot record this either.

So each answered update id is appended to a small file (one line, flushed at once; no fsync: a
process crash keeps what was written, only a machine crash can lose the last lines) and updates found
there are dropped before any handler runs. The window left is the few microseconds between Telegram
accepting the reply and the append. The file is compacted to the newest ``keep`` ids, which covers
any redelivery: Telegram keeps unconfirmed updates for at most 24 hours.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

log = logging.getLogger(__name__)


class ProcessedUpdates:
    """A persisted set of update ids; ``seen(id)`` before handling, ``record(id)`` once answered."""

    def __init__(self, path: Path, keep: int = 5000) -> None:
        self.path = path
        self.keep = keep
        self._ids: dict[int, None] = {}  # insertion-ordered: the oldest are dropped when compacting
        self._lines = 0
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            text = ""
        except OSError as exc:
            log.warning("cannot read %s (%s); duplicates of old updates will not be recognised", path, exc)
            text = ""
        for line in text.splitlines():
            if line.strip().isdigit():  # a torn last line from a crash is skipped, not fatal
                self._ids[int(line)] = None
                self._lines += 1

    def __len__(self) -> int:
        return len(self._ids)

    def seen(self, update_id: int) -> bool:
        return update_id in self._ids

    def record(self, update_id: int) -> None:
        """Remember ``update_id``; compacts the file when it holds twice ``keep`` lines."""
        if update_id in self._ids:
            return
        self._ids[update_id] = None
        try:
            with open(self.path, "a", encoding="ascii") as handle:
                handle.write(f"{update_id}\n")
            self._lines += 1
            if self._lines > 2 * self.keep:
                self._compact()
        except OSError as exc:  # the reply went out; only redelivery protection is weakened
            log.warning("cannot record update %s in %s: %s", update_id, self.path, exc)

    def _compact(self) -> None:
        newest = list(self._ids)[-self.keep:]
        self._ids = dict.fromkeys(newest)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text("".join(f"{i}\n" for i in newest), encoding="ascii")
        os.replace(tmp, self.path)
        self._lines = len(newest)
