"""Property-based fuzzing of the question path with hypothesis: any text, alone or as a conversation
with follow-ups and /more, through the core, the JSON contract and the Telegram formatting. No
exception but BadQuestion escapes; every citation is the exact article slice at its offsets; every
Telegram message passes Telegram's HTML rules and fits 4,096 UTF-16 code units.

Example counts are modest (the real model answers each); ``-m slow`` runs many more."""

from __future__ import annotations

import contextlib
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.corpus import article_from_paragraphs
from bot.errors import BadQuestion
from bot.pipeline import Pipeline, clean_question
from bot.store import embed_articles
from bot.telegram_format import answer_messages
from botapi_html import html_to_text

EXAMPLES = int(os.environ.get("ARTICLEBOT_FUZZ_EXAMPLES", "10"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                               HealthCheck.too_slow])
# an article written to break formatting: markup and entities in its text, astral emoji (two UTF-16 units
# each), right-to-left text, and one sentence far longer than a Telegram message
PARAGRAPHS = [
    "The <b>Kestrel</b> & Sons shipyard in Tavira launched 3 ferries in 2023 &amp; hired 410 welders. "
    "Its owner, Marta Kestrel, said the order book was worth 92 million euros </blockquote>.",
    "A banner reading \"<i>Ships > Planes</i>\" hung over gate 4 🚢🚢. The mayor, Rui Sol, called it "
    "\"a little rude\" on March 3. مرحبا بكم في تافيرا قال الرئيس.",
    "Inspectors logged " + ", ".join(f"hull {k} 🔩 at {k * 17 % 97} mm < limit & > floor" for k in range(160)) + ".",
    "The shipyard expects 5 more ferries in 2025. Training takes 18 months per welder.",
]
VOCABULARY = sorted({w.strip(".,\"<>&;") for p in PARAGRAPHS for w in p.split()} - {""}) + [
    "Who", "What", "How", "many", "much", "When", "Where", "did", "is", "the", "it", "they", "and", "?",
    "<b>", "</blockquote>", "&amp;", "\u202e", "\x00", "\x1b[31m", "🚀", "\n", "&", "<", "ﷺ"]

words = st.lists(st.sampled_from(VOCABULARY), min_size=0, max_size=14).map(" ".join)
anything = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)
questions = st.one_of(words, anything, st.text(max_size=1200))


@pytest.fixture(scope="module")
def yard(encoder, tmp_path_factory) -> Pipeline:
    from bot.settings import Settings

    article = article_from_paragraphs("shipyard", "The <Kestrel> & Sons yard 🚢", PARAGRAPHS)
    settings = Settings(corpus_dir=tmp_path_factory.mktemp("yard"), index_dir=tmp_path_factory.mktemp("yidx"))
    return Pipeline(settings, embed_articles((article,), encoder, settings.chunk_tokens, settings.chunk_overlap),
                    encoder)


def check(pipeline: Pipeline, answer) -> None:
    """The invariants every answer keeps, whatever was asked."""
    for c in answer.citations:
        assert pipeline.articles[c.article_id].text[c.start:c.end] == c.text
    if answer.highlight is not None and answer.citations:
        start, end = answer.highlight
        assert 0 <= start < end <= len(answer.citations[0].text)
    line = json.dumps(answer.to_json(), ensure_ascii=False)
    line.encode("utf-8")  # printable: no lone surrogates reach the JSON line
    assert json.loads(line)["abstained"] == answer.abstained
    for message in answer_messages(answer):
        plain = html_to_text(message)  # raises on anything Telegram would refuse to parse
        assert plain.strip() and len(plain.encode("utf-16-le")) // 2 <= 4096


def ask(pipeline: Pipeline, question: str, conversation=None):
    try:
        return pipeline.answer(question, conversation)
    except BadQuestion as refused:  # only for the two documented reasons
        assert "empty" in str(refused) or len(question) > pipeline.settings.max_question_chars, repr(question[:80])
        return None


@FUZZ
@given(question=questions)
def test_any_question_alone(yard, question):
    answer = ask(yard, question)
    if answer is not None:
        check(yard, answer)


@FUZZ
@given(turns=st.lists(st.one_of(words, st.just("/more"), anything), min_size=1, max_size=4))
def test_any_conversation_with_follow_ups_and_more(yard, turns):
    conversation = yard.new_conversation()
    for turn in turns:
        if turn == "/more":
            try:
                answer = yard.more(conversation)
            except BadQuestion:  # nothing asked yet
                assert conversation.last is None
                continue
        else:
            answer = ask(yard, turn, conversation)
        if answer is not None:
            check(yard, answer)


@FUZZ
@given(batch=st.lists(questions, min_size=1, max_size=6))
def test_any_batch_of_chats(yard, batch):
    """What the Telegram batcher does: several chats' questions in one answer_many call."""
    good = []
    for q in batch:
        with contextlib.suppress(BadQuestion):  # the adapter refuses these before batching
            clean_question(q, yard.settings.max_question_chars)
            good.append(q)
    if not good:
        return
    answers = yard.answer_many(good, [yard.new_conversation() for _ in good])
    assert len(answers) == len(good)
    for answer in answers:
        check(yard, answer)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(question=questions)
def test_any_question_alone_long_run(yard, question):
    answer = ask(yard, question)
    if answer is not None:
        check(yard, answer)
