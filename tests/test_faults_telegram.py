"""80 (under ``-m slow``: 200) questions from 20 chats while the Bot API misbehaves (429 with
retry_after, 5xx, timeouts after the message went out, connections dropped before an answer, on
sendMessage and on getUpdates): every question is answered exactly once, and updates delivered again
after a crash are not answered twice."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from bot.telegram import TelegramBot, build_application
from bot.telegram_config import processed_file
from botapi_server import BotAPIServer, run_application
from test_telegram import bot_settings

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
QUESTIONS = ["How much did Liaoning invest?", "Who owns FAW Jiefang Automotive Co?",
             "What does the article say about Harbin Electric Group?", "Where is it?",
             "What is the capital of France?"]
CHATS = 20


class FaultyServer(BotAPIServer):
    """The loopback Bot API plus one fault it lacks: a connection closed with no answer at all (the
    request is read and dropped, not acted on). Remembers every update and question it handed out."""

    def __init__(self) -> None:
        super().__init__()
        self.drops: Counter[str] = Counter()
        self.dropped = 0
        self.payloads: dict[int, dict] = {}
        self.asked: list[dict] = []  # the users' messages, in order

    def drop(self, method: str, times: int = 1) -> None:
        with self._cond:
            self.drops[method] += times

    def _handle(self, request) -> None:
        method = request.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        with self._cond:
            drop = self.drops[method] > 0
            if drop:
                self.drops[method] -= 1
                self.dropped += 1
        if not drop:
            return super()._handle(request)
        request.rfile.read(int(request.headers.get("Content-Length") or 0))
        request.close_connection = True

    def _user_message(self, *args, **kwargs) -> dict:
        message = super()._user_message(*args, **kwargs)
        self.asked.append(message)
        return message

    def _queue(self, payload: dict) -> int:
        update_id = super()._queue(payload)
        self.payloads[update_id] = payload
        return update_id

    def redeliver(self, update_ids: list[int]) -> None:
        """What Telegram does after a crash: updates the bot never confirmed come again, same ids."""
        with self._cond:
            self._updates.extend({"update_id": u, **self.payloads[u]} for u in update_ids)
            self._updates.sort(key=lambda u: u["update_id"])
            self._offset = min(update_ids)
            self._cond.notify_all()

    def replies(self) -> Counter[int]:
        """How many replies each user message got (the first message of a reply is threaded under it)."""
        return Counter(c.params["reply_parameters"]["message_id"] for c in self.sent()
                       if isinstance(c.params.get("reply_parameters"), dict))

    def wait_answered(self, timeout: float) -> Counter[int]:
        deadline = time.monotonic() + timeout
        wanted = {m["message_id"] for m in self.asked}
        while time.monotonic() < deadline:
            replies = self.replies()
            if wanted <= set(replies):
                return replies
            time.sleep(0.2)
        return self.replies()


def inject(server: FaultyServer) -> int:
    """One batch of faults; returns how many were injected."""
    faults = [("sendMessage", dict(status=429, retry_after=1), 3), ("sendMessage", dict(status=500), 4),
              ("sendMessage", dict(status=502), 2), ("sendMessage", dict(status=503), 2),
              ("sendMessage", dict(status=200, delay=5.5), 2),  # past PTB's 5 s read timeout, yet delivered
              ("getUpdates", dict(status=500), 1), ("getUpdates", dict(status=502), 1)]
    for method, fault, times in faults:
        server.fault(method, times=times, **fault)
    server.drop("sendMessage", 3)
    server.drop("getUpdates", 1)
    return sum(times for _, _, times in faults) + 4


@pytest.mark.parametrize("rounds", [4, pytest.param(10, marks=pytest.mark.slow)], ids=["80-questions", "200-questions"])
def test_questions_from_20_chats_under_faults_each_answered_exactly_once(pipeline, tmp_path, rounds):
    with FaultyServer() as server:
        settings = bot_settings(pipeline.settings, server, tmp_path, telegram_rate_per_minute=0)
        handlers = TelegramBot(settings, pipeline)
        injected = inject(server)
        with run_application(build_application(settings, pipeline, handlers)):
            for round_no in range(rounds):
                for chat in range(1, CHATS + 1):
                    server.user_message(chat, QUESTIONS[(round_no + chat) % len(QUESTIONS)])
                if rounds >= 10 and round_no == rounds // 2:
                    injected += inject(server)  # a second wave while the first answers are going out
            replies = server.wait_answered(timeout=150)
            time.sleep(1.0)  # a late duplicate would show up now
            replies = server.replies()
        asked = [m["message_id"] for m in server.asked]
        assert len(asked) == CHATS * rounds
        lost = [m for m in asked if replies[m] == 0]
        doubled = [m for m in asked if replies[m] > 1]
        assert not lost and not doubled, (len(lost), len(doubled))
        refused = server.calls(ok=False)
        assert len(refused) >= injected - 8 - server.dropped  # the faults really happened (drops are not calls)
        assert server.dropped >= 4
        assert len(handlers.processed) == CHATS * rounds
        assert processed_file(settings).read_text().count("\n") == CHATS * rounds


def test_updates_delivered_again_after_a_crash_are_not_answered_twice(pipeline, tmp_path):
    with FaultyServer() as server:
        settings = bot_settings(pipeline.settings, server, tmp_path)
        with run_application(build_application(settings, pipeline)):
            first = [server.user_message(chat, QUESTIONS[chat % 3]) for chat in (1, 2, 3)]
            server.wait_answered(timeout=30)
        answered = len(server.sent())
        # as if the process had been killed before confirming them: the same updates come again
        server.redeliver(first)
        with run_application(build_application(settings, pipeline)):
            mark = server.mark()
            server.user_message(4, QUESTIONS[0])
            [fresh] = server.wait_for(chat_id=4, after=mark, timeout=30)
            time.sleep(0.5)
        assert "2 billion yuan" in fresh.plain
        assert server.pending_updates() == 0  # the old ones were taken (confirmed), just not answered
        assert len(server.sent()) == answered + 1
        assert all(n == 1 for n in server.replies().values())
