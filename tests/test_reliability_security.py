"""Security of the Telegram bot: the token stays out of every log line, error and file; chats not on
the allow-list get nothing answered (messages, commands, buttons); a flooding chat gets its quota and
one notice, and everyone else is still answered. (Webhook secrets: tests/test_telegram_cli.py; the
Docker image: same file, test_dockerfile_bakes_everything_in_and_runs_unprivileged.)"""

from __future__ import annotations

import time

import pytest

from bot.telegram import REFUSAL, TelegramBot, build_application
from botapi_server import BotAPIServer, run_application
from ptb_runner import telegram_command
from test_telegram import OWNER_Q, bot_settings

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


def test_token_never_reaches_logs_errors_or_files(bundled_settings, pipeline, tmp_path):
    """The real command with -v, through faults that log warnings and a failing update that logs a
    traceback, then every byte it printed or wrote is searched for the token and its secret half."""
    state = tmp_path / "state" / "telegram.pickle"
    with BotAPIServer() as server, telegram_command(server, bundled_settings, state) as run:
        server.wait_for("setMyCommands", timeout=90)
        server.fault("sendMessage", status=500, chat_id=81)  # retried: a logged warning
        server.fault("sendMessage", status=400, chat_id=82, description="Bad Request: chat not found")
        server.fault("getUpdates", status=502)
        for chat in (81, 82, 83):
            server.user_message(chat, OWNER_Q)
        server.wait_for(chat_id=81, timeout=60)
        server.wait_for(chat_id=82, timeout=60)  # the apology after the logged traceback
        server.wait_for(chat_id=83, timeout=60)
    out, err = run.out, run.err
    assert run.process.returncode == 0, err
    assert "update" in err and "failed" in err and "Traceback" in err  # the error was really logged
    secret = server.token.split(":")[1]
    for text in (out, err):
        assert server.token not in text and secret not in text
    files = [p for p in state.parent.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"telegram.pickle", "telegram.pickle.updates"}
    for path in files:
        assert secret.encode() not in path.read_bytes(), path


def test_chats_not_allowed_get_no_answer_from_messages_commands_or_buttons(server_and_bot):
    server, handlers = server_and_bot(telegram_allowed_chat_ids=frozenset({91}))
    server.user_message(91, OWNER_Q)
    server.wait_for(chat_id=91)
    for text in (OWNER_Q, "/more", "/start", "/sources", "/reset"):
        mark = server.mark()
        server.user_message(92, text)
        [refused] = server.wait_for(chat_id=92, after=mark)
        assert refused.plain == REFUSAL
    # "More" pressed in chat 92 (e.g. on a keyboard from before it was taken off the list)
    mark = server.mark()
    server.press_button(92, "more", message_id=refused.params["_message_id"])
    [alert] = server.wait_for("answerCallbackQuery", after=mark)
    assert alert.params["text"] == REFUSAL
    assert sum(handlers.batcher.batches) == 1  # only chat 91's question ever reached the model
    assert not server.calls("sendChatAction", chat_id=92)


def test_a_flooding_chat_gets_its_quota_and_one_notice_and_others_are_answered(server_and_bot):
    server, handlers = server_and_bot(telegram_rate_per_minute=5)
    for _ in range(60):
        server.user_message(99, OWNER_Q)
    calm = {chat: server.user_message(chat, OWNER_Q) for chat in (1, 2, 3)}
    for chat in calm:
        [reply] = server.wait_for(chat_id=chat, timeout=30)
        assert "FAW Group" in reply.plain or "Answer" in reply.plain
    server.wait_for(chat_id=99, count=6, timeout=30)
    deadline = time.monotonic() + 30
    while len(handlers.processed) < 63 and time.monotonic() < deadline:  # every update handled
        time.sleep(0.1)
    assert len(handlers.processed) == 63
    to_flooder = server.sent(99)
    assert len(to_flooder) == 6  # five answers and one "slow down": the other 54 cost no messages
    assert sum("faster than 5 questions a minute" in c.plain for c in to_flooder) == 1


@pytest.fixture
def server_and_bot(pipeline, tmp_path):
    from contextlib import ExitStack

    with ExitStack() as stack:
        server = stack.enter_context(BotAPIServer())

        def start(**overrides):
            settings = bot_settings(pipeline.settings, server, tmp_path, **overrides)
            handlers = TelegramBot(settings, pipeline)
            stack.enter_context(run_application(build_application(settings, pipeline, handlers)))
            return server, handlers

        yield start
