"""The Telegram state file (bot/telegram_state.py): one atomic write per persistence round."""

from __future__ import annotations

import asyncio

from telegram import Bot
from telegram.ext import PersistenceInput, PicklePersistence

from bot.telegram_state import StatePersistence

TOKEN = "123456:" + "A" * 35
CHATS_ONLY = PersistenceInput(bot_data=False, user_data=False, callback_data=False)  # as the bot stores


def test_a_round_of_many_chats_is_written_once_and_atomically(tmp_path, monkeypatch):
    writes = []
    real_dump = PicklePersistence._dump_singlefile

    def counting_dump(self):
        writes.append(self.filepath)
        real_dump(self)

    monkeypatch.setattr(PicklePersistence, "_dump_singlefile", counting_dump)
    path = tmp_path / "telegram.pickle"

    async def rounds() -> None:
        persistence = StatePersistence(path, store_data=CHATS_ONLY)
        persistence.set_bot(Bot(TOKEN))
        await persistence.get_chat_data()
        await asyncio.gather(*(persistence.update_chat_data(chat, {"turns": [chat] * 3}) for chat in range(20)))
        await asyncio.sleep(0)  # the round's write runs after its updates
        assert len(writes) == 1
        await asyncio.gather(persistence.drop_chat_data(3), persistence.update_chat_data(4, {"turns": []}))
        await asyncio.sleep(0)
        assert len(writes) == 2
        await persistence.flush()  # shutdown writes too

    asyncio.run(rounds())
    assert len(writes) == 3 and all(w != path and w.parent == path.parent for w in writes)  # temp, renamed
    assert [p.name for p in tmp_path.iterdir()] == ["telegram.pickle"]  # no temporary file left behind

    async def reread() -> dict:
        fresh = PicklePersistence(path, store_data=CHATS_ONLY)
        fresh.set_bot(Bot(TOKEN))
        return await fresh.get_chat_data()

    chats = asyncio.run(reread())
    assert set(chats) == set(range(20)) - {3} and chats[4] == {"turns": []} and chats[7] == {"turns": [7] * 3}


def test_a_failed_write_is_logged_and_the_chats_stay_in_memory(tmp_path, caplog):
    path = tmp_path / "gone" / "telegram.pickle"  # its folder does not exist: every write fails

    async def one_round() -> dict:
        persistence = StatePersistence(path, store_data=CHATS_ONLY)
        persistence.set_bot(Bot(TOKEN))
        await persistence.get_chat_data()
        await persistence.update_chat_data(1, {"turns": [1]})
        await asyncio.sleep(0)
        return persistence.chat_data

    assert asyncio.run(one_round()) == {1: {"turns": [1]}}
    assert "cannot write the Telegram state file" in caplog.text
    assert not path.parent.exists()
