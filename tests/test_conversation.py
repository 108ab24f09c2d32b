"""Follow-up questions with real retrieval on two different articles, plus the resolution rules."""

from __future__ import annotations

import copy
import json
import pickle
import sys

import pytest

from bot.conversation import Conversation, Turn
from bot.pipeline import Pipeline
from bot.settings import Settings
from conftest import ROOT
from followup_cases import BUNDLED, MARLOW, RESET

sys.path.insert(0, str(ROOT / "bench"))
from followups import turn_ok  # noqa: E402


@pytest.fixture(scope="module")
def marlow(tmp_path_factory, encoder):
    """A second, different news article, so the mechanism is not tuned to one text."""
    base = tmp_path_factory.mktemp("marlow")
    return Pipeline.open(Settings(corpus_dir=ROOT / "tests/fixtures/marlow", index_dir=base / "index"),
                         encoder=encoder)


def _play(pipeline, turns):
    conversation = pipeline.new_conversation()
    for question, cited, short, abstain, mode in turns:
        if question == RESET:
            conversation.reset()
            continue
        resolution = conversation.resolve(question)
        answer = pipeline.answer(question, conversation)
        if mode is not None:
            assert resolution.mode == mode, (question, resolution)
        assert answer.resolved_question == resolution.resolved
        assert turn_ok(answer, cited, short, abstain), (question, answer)


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_article_conversations(pipeline, name):
    _play(pipeline, BUNDLED[name])


KNOWN_MISSES = {
    # "How much did Marlow's tram line cost?" cites the sentence naming Marlow and its tram line over
    # "The 12-kilometre line cost 410 million euros": the cost sentence never names the city. Kept
    # visible (strict: it fails loudly once ranking gets this right) rather than rephrased away.
    "marlow-ellipsis-cost": "answer sentence does not repeat the question's place name",
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_MISSES[n], strict=True))
                                  if n in KNOWN_MISSES else n for n in sorted(MARLOW)])
def test_other_article_conversations(marlow, name):
    _play(marlow, MARLOW[name])


def test_self_contained_question_is_left_alone_and_searched_alone(pipeline):
    conversation = pipeline.new_conversation()
    pipeline.answer("How much did Liaoning invest?", conversation)
    resolution = conversation.resolve("Where is Harbin Turbine Company?")
    assert resolution.mode == "self" and resolution.queries == (("Where is Harbin Turbine Company?", 1.0),)


def test_follow_up_is_searched_as_typed_and_as_resolved(pipeline):
    conversation = pipeline.new_conversation()
    pipeline.answer("How much did Liaoning invest?", conversation)
    resolution = conversation.resolve("And Heilongjiang?")
    assert [q for q, _ in resolution.queries] == ["How much did Heilongjiang invest?", "And Heilongjiang?"]


def test_idle_conversation_forgets(pipeline):
    conversation = Conversation(max_turns=4, idle_seconds=60)
    pipeline.answer("How much did Liaoning invest?", conversation)
    conversation.turns[-1].at -= 120  # two minutes of silence
    answer = pipeline.answer("And Heilongjiang?", conversation)
    assert answer.resolved_question == "And Heilongjiang?"
    assert len(conversation.turns) == 1


def test_history_is_bounded_and_picklable(pipeline):
    conversation = pipeline.new_conversation()
    for _ in range(conversation.max_turns + 3):
        pipeline.answer("How much did Liaoning invest?", conversation)
    assert len(conversation.turns) == conversation.max_turns
    restored = pickle.loads(pickle.dumps(conversation))
    assert restored.resolve("And Heilongjiang?").resolved == "How much did Heilongjiang invest?"


def test_a_copy_pages_and_asks_without_touching_the_original(pipeline):
    """The Telegram batcher answers on a copy (``copy.deepcopy`` by PTB's persistence takes the same path)."""
    original = pipeline.new_conversation()
    pipeline.answer("How much did Liaoning invest?", original)
    for twin in (original.copy(), copy.deepcopy(original)):
        assert twin.turns.maxlen == original.turns.maxlen and twin.idle_seconds == original.idle_seconds
        pipeline.more(twin)
        pipeline.answer("And Heilongjiang?", twin)
        assert len(twin.turns) == 2 and len(original.turns) == 1
        assert twin.turns[0].shown > original.turns[0].shown
        assert twin.turns[0].shown_ids > original.turns[0].shown_ids
        assert twin.turns[0].hits == original.turns[0].hits


@pytest.mark.parametrize("question", ["Is there a plan for Jilin?", "Are there more robots?"])
def test_existential_there_is_not_a_place(question):
    conversation = Conversation()
    conversation.record(Turn("Where is it?", "Where is FAW?", [], 0, "Changchun", "place", ("x",)))
    assert conversation.resolve(question).resolved == question


def test_a_follow_up_to_an_unresolved_ellipsis_reuses_its_fragment_not_its_and():
    """"And Heilongjiang?" asked first had nothing to borrow from: it was searched as typed, and the
    next follow-up's frame is "Heilongjiang?", so no "Why And Heilongjiang?" is searched or shown."""
    conversation = Conversation()
    conversation.record(Turn("And Heilongjiang?", "And Heilongjiang?", [], 0))
    assert conversation.resolve("Why?").resolved == "Why Heilongjiang?"
    assert conversation.resolve("And Jilin?").resolved == "Jilin?"
    assert conversation.resolve("What about Jilin province?").resolved == "Jilin province?"
    asked = "And how much did Jilin invest?"  # a whole question that happens to open with "And"
    conversation.record(Turn(asked, asked, [], 0))
    assert conversation.resolve("What about Liaoning?").resolved == "How much did Liaoning invest?"


def test_more_without_history_is_a_clear_error(pipeline):
    from bot.errors import BadQuestion

    with pytest.raises(BadQuestion, match="ask one first"):
        pipeline.more(pipeline.new_conversation())


def test_ask_json_stream_resolves_follow_ups(bundled_settings, pipeline, capsys, monkeypatch):
    import io

    from bot.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO("How much did Liaoning invest?\nAnd Heilongjiang?\n"))
    assert main(["ask", "--json", "--corpus", str(bundled_settings.corpus_dir),
                 "--index", str(bundled_settings.index_dir)]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["resolved_question"] == first["question"]
    assert second["resolved_question"] == "How much did Heilongjiang invest?"
    assert "Heilongjiang" in second["citations"][0]["text"]


def test_possessive_ellipsis_keeps_what_the_name_owns():
    """"And Liaoning's?" after a question about Heilongjiang's GDP asks about Liaoning's GDP, not about
    Liaoning at large; the typed fragment names nothing the resolved question lacks, so it weighs less."""
    conversation = Conversation()
    asked = "How much of Heilongjiang's GDP is digital?"
    conversation.record(Turn(asked, asked, [], 0, "30 percent", "amount", ("x",)))
    possessive, open_ended = conversation.resolve("And Liaoning's?"), conversation.resolve("And Liaoning?")
    assert possessive.resolved == open_ended.resolved == "How much of Liaoning's GDP is digital?"
    assert possessive.mode == open_ended.mode == "ellipsis"
    assert dict(possessive.queries)["And Liaoning's?"] < dict(open_ended.queries)["And Liaoning?"]
    # a phrase standing for the whole thing, not for its owner, replaces the name as before
    assert conversation.resolve("And the whole region?").resolved == "How much of the whole region is digital?"


def test_possessive_follow_up_about_a_figure_the_article_lacks_abstains(pipeline):
    conversation = pipeline.new_conversation()
    first = pipeline.answer("How much of Heilongjiang's GDP is the digital economy?", conversation)
    assert "30 percent" in first.short_answer
    follow = pipeline.answer("And Liaoning's?", conversation)
    assert "Liaoning's GDP" in follow.resolved_question
    assert follow.abstained, follow.text


def test_it_after_a_which_company_question_is_the_company_named(pipeline):
    """A later "where" opens a relative clause: the question asks for a company, so "it" is that company."""
    conversation = pipeline.new_conversation()
    first = pipeline.answer("Which company runs the workshop where the AGV robots are tested?", conversation)
    assert first.short_answer == "FAW Jiefang Automotive Co"
    follow = pipeline.answer("Who owns it?", conversation)
    assert "FAW Jiefang Automotive Co" in follow.resolved_question
    assert not follow.abstained and "China FAW Group" in follow.citations[0].text
