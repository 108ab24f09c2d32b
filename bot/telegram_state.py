"""The chats' conversations on disk: PTB's ``PicklePersistence``, written once per round and atomically.

Why not PTB's class as it is: every ``update_persistence`` round (each 30 s) hands it each changed
chat's data in turn, and with ``on_flush=False`` it pickles the *whole* file once per chat, on the
event loop: n chats cost n² work, and 20 busy chats already stalled the bot for over half a second.
And it writes the file in place, so a crash mid-write leaves a torn file (then moved aside on start by
``prepare_state_file``, losing every chat's context). Here the chats of one round are stored in memory
and written in one go, to a temporary file renamed over the old one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from pathlib import Path

from telegram.ext import PicklePersistence

log = logging.getLogger(__name__)


class StatePersistence(PicklePersistence):
    """Single-file pickle persistence, one atomic write per round of updates (and on shutdown)."""

    def __init__(self, filepath: Path, **kwargs) -> None:
        super().__init__(filepath, single_file=True, on_flush=True, **kwargs)  # update_*: memory only
        self._write: asyncio.Handle | None = None

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        await super().update_chat_data(chat_id, data)
        self._write_soon()

    async def drop_chat_data(self, chat_id: int) -> None:
        await super().drop_chat_data(chat_id)
        self._write_soon()

    def _write_soon(self) -> None:
        """PTB runs a round's updates as tasks scheduled together; a callback queued by the first of
        them runs after the others have stored their chats, so the round makes one write."""
        if self._write is None:
            self._write = asyncio.get_running_loop().call_soon(self._write_now)

    def _write_now(self) -> None:
        self._write = None
        try:
            self._dump_singlefile()
        except OSError as exc:  # memory still holds every chat: the next round or shutdown writes it
            log.error("cannot write the Telegram state file %s: %s", self.filepath, exc)

    def _dump_singlefile(self) -> None:
        """PTB's writer, aimed at a temporary file that then replaces the real one."""
        final = self.filepath
        self.filepath = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            super()._dump_singlefile()
            os.replace(self.filepath, final)
        finally:
            if self.filepath.exists():
                self.filepath.unlink()
            self.filepath = final
