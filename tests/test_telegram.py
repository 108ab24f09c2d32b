"""The real PTB Application, real pipeline and model, against the loopback Bot API server."""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import replace

import pytest

from bot.corpus import article_from_paragraphs
from bot.pipeline import Pipeline
from bot.store import embed_articles
from bot.telegram import REFUSAL, SORRY, TelegramBot, build_application
from bot.telegram_format import answer_messages
from botapi_server import BotAPIServer, run_application

OWNER_Q = "Who owns FAW Jiefang Automotive Co?"
GROUP_Q = "What does the article say about Harbin Electric Group?"
FOLLOW_UP = "Where is it?"
# PTB 22 warns from inside RetryAfter.__init__ itself (int vs timedelta); nothing for us to change
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


@pytest.fixture
def server():
    with BotAPIServer() as api:
        yield api


@pytest.fixture
def start_bot(server, pipeline, tmp_path):
    """Start the articlebot Application (stopped at the end of the test); returns its handlers."""
    with ExitStack() as stack:
        def start(with_pipeline: Pipeline = pipeline, **overrides) -> TelegramBot:
            settings = bot_settings(with_pipeline.settings, server, tmp_path, **overrides)
            handlers = TelegramBot(settings, with_pipeline)
            stack.enter_context(run_application(build_application(settings, with_pipeline, handlers)))
            return handlers

        yield start


def bot_settings(base, server, tmp_path, **overrides):
    return replace(base, telegram_token=server.token, telegram_api_base_url=server.url,
                   telegram_state_file=tmp_path / "state" / "telegram.pickle", **overrides)


def ask(server, chat_id: int, text: str, count: int = 1):
    """Send ``text`` as the user of ``chat_id``; the bot's next ``count`` messages to that chat."""
    mark = server.mark()
    server.user_message(chat_id, text)
    return server.wait_for("sendMessage", chat_id=chat_id, count=count, after=mark)


def expected(pipeline, *questions: str) -> list[str]:
    """What a private conversation gives for the last question: the bot must say exactly this."""
    conversation = pipeline.new_conversation()
    answers = [pipeline.answer(q, conversation) for q in questions]
    return answer_messages(answers[-1])


def test_start_greets_with_the_article_and_examples(server, start_bot, pipeline):
    start_bot()
    [reply] = ask(server, 1, "/start")
    title = next(iter(pipeline.articles.values())).title
    assert title in reply.plain and "Try asking:" in reply.plain and "/more" in reply.plain
    assert reply.params["parse_mode"] == "HTML"
    commands = server.calls("setMyCommands")[0].params["commands"]
    assert {c["command"] for c in commands} >= {"start", "help", "source", "more", "reset"}
    [source] = ask(server, 1, "/source")
    assert title in source.plain and "Chinadaily.com.cn" in source.plain and "2024-08-08" in source.plain
    [help_reply] = ask(server, 1, "/help")
    assert "/reset" in help_reply.plain


def test_question_is_answered_in_html_with_a_cited_sentence_and_buttons(server, start_bot, pipeline):
    start_bot(telegram_typing_delay_ms=0)  # "typing…" at once, however quick the answer
    mark = server.mark()
    [reply] = ask(server, 7, "How much did Liaoning invest?")
    assert "Answer: 2 billion yuan ($278 million)" in reply.plain
    assert "<b>2 billion yuan ($278 million)</b>" in reply.text and "<blockquote>" in reply.text
    assert "Liaoning province has invested 2 billion yuan ($278 million)" in reply.plain
    assert ", sentence 3" in reply.plain
    assert reply.params["reply_parameters"]["message_id"]  # threaded under the question
    assert reply.buttons == [("Sources", "sources"), ("More", "more")]
    assert all(len(data.encode()) <= 64 for _, data in reply.buttons)
    [typing] = server.wait_for("sendChatAction", chat_id=7, after=mark)  # "typing…" while it worked
    assert typing.params["action"] == "typing"


def test_a_quick_answer_comes_without_a_typing_indicator(server, start_bot):
    start_bot(telegram_typing_delay_ms=60_000)
    [reply] = ask(server, 8, "How much did Liaoning invest?")
    assert "2 billion yuan" in reply.plain
    assert not server.calls("sendChatAction", chat_id=8)


def test_sources_and_more_buttons(server, start_bot, pipeline):
    start_bot()
    ask(server, 3, OWNER_Q)
    mark = server.mark()
    server.press_button(3, "sources")
    [sources] = server.wait_for(chat_id=3, after=mark)
    assert next(iter(pipeline.articles.values())).title in sources.plain
    assert server.wait_for("answerCallbackQuery", after=mark)
    mark = server.mark()
    server.press_button(3, "more")
    [more] = server.wait_for(chat_id=3, after=mark)
    conversation = pipeline.new_conversation()
    pipeline.answer(OWNER_Q, conversation)
    assert more.text == answer_messages(pipeline.more(conversation))[0]
    for _ in range(20):  # press until the evidence runs out: the button is then retired
        mark = server.mark()
        server.press_button(3, "more")
        [more] = server.wait_for(chat_id=3, after=mark)
        if "no more evidence" in more.plain:
            break
    assert more.buttons == [("Sources", "sources")]
    edit = server.wait_for("editMessageReplyMarkup", after=mark)[0]
    assert edit.params["reply_markup"]["inline_keyboard"] == [[{"text": "Sources", "callback_data": "sources"}]]


def test_two_chats_interleaved_keep_their_own_context(server, start_bot, pipeline):
    handlers = start_bot(telegram_batch_window_ms=200.0)
    want_1, want_2 = expected(pipeline, OWNER_Q, FOLLOW_UP), expected(pipeline, GROUP_Q, FOLLOW_UP)
    assert want_1 != want_2  # the same follow-up means different things in the two conversations
    mark = server.mark()
    for chat_id, text in ((11, OWNER_Q), (12, GROUP_Q), (11, FOLLOW_UP), (12, FOLLOW_UP)):
        server.user_message(chat_id, text)
    first_1, second_1 = server.wait_for(chat_id=11, count=2, after=mark)
    first_2, second_2 = server.wait_for(chat_id=12, count=2, after=mark)
    assert [second_1.text] == want_1 and [second_2.text] == want_2
    assert [first_1.text] == expected(pipeline, OWNER_Q) and [first_2.text] == expected(pipeline, GROUP_Q)
    assert max(handlers.batcher.batches) >= 2  # both chats' questions went through one model call


def test_reset_and_more_without_a_question(server, start_bot):
    start_bot()
    [reply] = ask(server, 5, "/more")
    assert "no earlier question" in reply.plain
    ask(server, 5, OWNER_Q)
    [reply] = ask(server, 5, "/reset")
    assert "cleared" in reply.plain
    [reply] = ask(server, 5, "/more")
    assert "no earlier question" in reply.plain
    [reply] = ask(server, 5, "/frobnicate")
    assert "Unknown command /frobnicate" in reply.plain


def test_restart_keeps_each_chats_context(server, pipeline, tmp_path):
    settings = bot_settings(pipeline.settings, server, tmp_path)
    with run_application(build_application(settings, pipeline)):
        ask(server, 21, OWNER_Q)
        ask(server, 22, GROUP_Q)
    state = settings.telegram_state_file.read_bytes()
    assert server.token.encode() not in state and server.token.split(":")[1].encode() not in state
    with run_application(build_application(settings, pipeline)):
        [again_1] = ask(server, 21, FOLLOW_UP)
        [again_2] = ask(server, 22, FOLLOW_UP)
    assert [again_1.text] == expected(pipeline, OWNER_Q, FOLLOW_UP)
    assert [again_2.text] == expected(pipeline, GROUP_Q, FOLLOW_UP)


def test_unreadable_state_file_is_moved_aside(server, start_bot, tmp_path):
    state = tmp_path / "state" / "telegram.pickle"
    state.parent.mkdir()
    state.write_bytes(b"not a pickle")
    start_bot()
    [reply] = ask(server, 1, "/help")
    assert "/more" in reply.plain
    assert list(state.parent.glob("telegram.pickle.unreadable-*"))


@pytest.mark.parametrize("where", ["a folder", "inside a file"])
def test_a_state_file_path_that_cannot_be_a_file_is_refused_and_nothing_moves(tmp_path, where):
    from bot.errors import ConfigError
    from bot.telegram_config import prepare_state_file

    folder = tmp_path / "chats"
    folder.mkdir()
    (folder / "kept.txt").write_text("mine")
    path = folder if where == "a folder" else folder / "kept.txt" / "state.pickle"
    with pytest.raises(ConfigError, match="is a folder" if where == "a folder" else "kept.txt is a file"):
        prepare_state_file(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chats"] and (folder / "kept.txt").read_text() == "mine"


@pytest.mark.parametrize("fault", [dict(status=429, retry_after=1), dict(status=500), dict(status=502, times=2)])
def test_flood_limit_and_server_errors_end_with_the_message_delivered(server, start_bot, fault):
    start_bot()
    server.fault("sendMessage", chat_id=9, **fault)
    started = time.monotonic()
    [reply] = ask(server, 9, "How much did Liaoning invest?")
    assert "2 billion yuan" in reply.plain
    refused = server.calls("sendMessage", chat_id=9, ok=False)
    assert [c.status for c in refused] == [fault["status"]] * fault.get("times", 1)
    if fault["status"] == 429:  # retry_after honoured before trying again
        assert reply.at - refused[0].at >= 1.0
    assert time.monotonic() - started < 15


def test_a_slow_call_for_one_chat_does_not_hold_up_another(server, start_bot):
    start_bot()
    server.fault("sendMessage", status=200, delay=1.5, chat_id=51)  # delivering chat 51's reply hangs
    mark = server.mark()
    server.user_message(51, OWNER_Q)
    server.user_message(52, OWNER_Q)
    [fast] = server.wait_for(chat_id=52, after=mark)
    [slow] = server.wait_for(chat_id=51, after=mark)
    assert fast.at + 1.0 < slow.at and fast.text == slow.text


def test_error_in_one_update_is_logged_and_the_chat_gets_an_apology(server, start_bot, caplog):
    start_bot()
    server.fault("sendMessage", chat_id=4, status=400, description="Bad Request: chat not found")
    mark = server.mark()
    update_id = server.user_message(4, "How much did Liaoning invest?")
    [apology] = server.wait_for(chat_id=4, after=mark)
    assert apology.plain == SORRY
    assert f"update {update_id} failed" in caplog.text
    [reply] = ask(server, 4, "How much did Liaoning invest?")  # the bot carries on
    assert "2 billion yuan" in reply.plain


def test_access_control_quota_and_long_questions(server, start_bot, pipeline):
    start_bot(telegram_allowed_chat_ids=frozenset({31, 32}), telegram_rate_per_minute=2)
    [refused] = ask(server, 33, "How much did Liaoning invest?")
    assert refused.plain == REFUSAL
    assert not server.calls("sendChatAction", chat_id=33)
    [too_long] = ask(server, 31, "Why " * 400)
    assert "too long" in too_long.plain and "1,000" in too_long.plain
    ask(server, 32, OWNER_Q)
    ask(server, 32, OWNER_Q)
    [slow_down] = ask(server, 32, OWNER_Q)
    assert "faster than 2 questions a minute" in slow_down.plain


def test_buttons_from_a_chat_that_is_no_longer_allowed_are_refused(server, pipeline, tmp_path):
    settings = bot_settings(pipeline.settings, server, tmp_path)
    with run_application(build_application(settings, pipeline)):
        ask(server, 41, OWNER_Q)
    with run_application(build_application(replace(settings, telegram_allowed_chat_ids=frozenset({40})), pipeline)):
        mark = server.mark()
        server.press_button(41, "more")
        [answer] = server.wait_for("answerCallbackQuery", after=mark)
    assert answer.params["text"] == REFUSAL and answer.params["show_alert"] is True
    assert not server.calls("sendMessage", chat_id=41)[1:]


# ---------------------------------------------------------------- article text with markup and long sentences
LONG_SENTENCES = [
    f"The {name} terminal at Port Alder handled {n:,} containers in 2023 according to the harbour authority "
    f"& the city's transport office, " + ", ".join(
        f"its crane number {k} was refurbished by Meridian & Sons for {k * 3 + n % 7} million dollars after "
        f"inspectors found that loads < {k + 20} tonnes could be lifted safely in wind" for k in range(11)) + "."
    for name, n in (("North", 41200), ("South", 38800), ("East", 29900), ("West", 25100))
]
MONSTER = ("A sign reading <b>KEEP OUT</b> stands at the old lighthouse, where keepers logged "
           + ", ".join(f"storm {k} & swell < {k + 2} metres on night {k}" for k in range(120)) + ".")


@pytest.fixture(scope="module")
def harbour_pipeline(encoder, tmp_path_factory):
    from bot.settings import Settings

    article = article_from_paragraphs("port-alder", "Port Alder <annual> review & outlook",
                                      [" ".join(LONG_SENTENCES[:2]), " ".join(LONG_SENTENCES[2:]), MONSTER])
    settings = Settings(corpus_dir=tmp_path_factory.mktemp("harbour"), index_dir=tmp_path_factory.mktemp("hidx"))
    return Pipeline(settings, embed_articles((article,), encoder, settings.chunk_tokens, settings.chunk_overlap),
                    encoder)


def test_long_replies_are_split_and_markup_in_article_and_question_is_escaped(server, start_bot, harbour_pipeline):
    start_bot(with_pipeline=harbour_pipeline)
    question = "How many containers did the North terminal at Port Alder & <Meridian> handle?"
    ask(server, 8, question)
    more = reply_to(server, 8, "/more")  # top_k long sentences: more than one message can hold
    assert len(more) >= 2 and all(len(c.text) <= 4096 for c in more)
    assert f"More evidence for \u201c{question}\u201d" in more[0].plain
    plains = [c.plain for c in more]
    cited = [s for s in LONG_SENTENCES if any(s in p for p in plains)]
    assert len(cited) >= 2 and all(sum(s in p for p in plains) == 1 for s in cited)  # each whole, in one message
    assert "Port Alder <annual> review & outlook, sentence" in plains[0]

    parts = reply_to(server, 8, "What does the sign at the old lighthouse read?")
    text = "".join(p.plain for p in parts)
    assert len(parts) >= 2 and all(len(p.text) <= 4096 for p in parts)
    assert "A sign reading <b>KEEP OUT</b> stands" in text  # the article's markup shown, not obeyed
    assert "storm 100 & swell < 102 metres" in text


def reply_to(server, chat_id: int, text: str):
    """All messages of the bot's reply to ``text``: up to the one carrying the keyboard (the last)."""
    mark = server.mark()
    server.user_message(chat_id, text)
    server.wait_for(chat_id=chat_id, after=mark, where=lambda c: bool(c.buttons), timeout=20)
    messages = server.sent(chat_id, after=mark)
    assert messages[-1].buttons and not any(m.buttons for m in messages[:-1])
    return messages


def _deliver(server, chat_id: int, kind: str, **fields):
    """Queue a user's message of another shape than plain text (``kind``: message / edited_message)
    and return the bot's next message to that chat."""
    mark = server.mark()
    message = {**server._user_message(chat_id, fields.pop("text", "")), **fields}
    if "text" in message and not message["text"]:
        del message["text"]
    server._queue({kind: message})
    [reply] = server.wait_for("sendMessage", chat_id=chat_id, count=1, after=mark)
    return reply


def test_mentions_edits_captions_and_stickers(server, start_bot, pipeline):
    start_bot()
    invest = "How much did Liaoning invest?"
    # a group addresses the bot by name: the name is no part of the question, nor of its follow-ups
    group = _deliver(server, -40, "message", text=f"@ArticleBot_Test_Bot {invest}")
    assert [group.text] == expected(pipeline, invest)
    more = _deliver(server, -40, "message", text="/more@articlebot_test_bot",
                    entities=[{"type": "bot_command", "offset": 0, "length": 25}])
    assert "@articlebot_test_bot" not in more.plain.lower()
    # a corrected question is answered again; a photo's caption is a question; a sticker gets a hint
    edited = _deliver(server, 41, "edited_message", text=invest, edit_date=int(time.time()))
    assert [edited.text] == expected(pipeline, invest)
    captioned = _deliver(server, 42, "message", photo=[{"file_id": "p", "file_unique_id": "p", "width": 1,
                                                       "height": 1}], caption=invest)
    assert [captioned.text] == expected(pipeline, invest)
    sticker = _deliver(server, 43, "message", sticker={"file_id": "s", "file_unique_id": "s", "width": 1,
                                                       "height": 1, "is_animated": False, "is_video": False,
                                                       "type": "regular"})
    assert "I read text only" in sticker.plain
