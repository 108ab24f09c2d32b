"""Rival names and numberless answers lower confidence (bot/rivals.py, bot/answer.py): on hand-written
text and on the real pipeline over the bundled article."""

from __future__ import annotations

from bot.rivals import rivalled, sibling_map

TEXT = [
    "The three coastal towns - Arden, Belmont and Corby - share one harbour authority.",
    "Arden spent 4 million euros on its new quay.",
    "Belmont county trained 200 dock workers, and Dunmore county built a ferry terminal.",
    "He said Arden had waited ten years for the money.",
]


def test_names_listed_together_or_sharing_a_head_word_are_siblings():
    siblings = sibling_map(TEXT)
    assert siblings["corbi"] >= {"arden", "belmont"}  # stemmed, as everywhere in retrieval
    assert "dunmor" in siblings["belmont"]  # "Belmont county", "Dunmore county"
    assert "harbour" not in siblings.get("arden", frozenset())


def test_a_sentence_about_a_sibling_is_rivalled_unless_a_pronoun_can_point_back():
    siblings = sibling_map(TEXT)
    assert rivalled(["corbi"], TEXT[1], siblings)  # asked about Corby, the sentence is about Arden
    assert not rivalled(["arden"], TEXT[1], siblings)  # the name itself is there
    assert not rivalled(["corbi"], "He said Arden had waited ten years.", siblings)  # "he" may be Corby's
    assert not rivalled(["corbi"], "The quay cost 4 million euros.", siblings)  # no rival named
    assert not rivalled(["harbour"], TEXT[1], siblings)  # no siblings known


def test_a_question_about_a_sibling_province_is_not_answered_with_anothers_figure(pipeline):
    asked = pipeline.answer("How much has Liaoning invested in digital manufacturing?")
    assert not asked.abstained and "2 billion yuan" in asked.short_answer
    other = pipeline.answer("How much has Jilin invested in digital manufacturing?")
    assert other.abstained and other.confidence < asked.confidence


def test_a_how_many_question_is_not_answered_by_a_sentence_without_a_number(pipeline):
    answer = pipeline.answer("How many robots does the AMT workshop have?")
    assert answer.abstained, answer.text
    assert "AMT workshop" in answer.text  # the closest sentence is still named


def test_it_refers_to_what_the_previous_question_was_about(pipeline):
    conversation = pipeline.new_conversation()
    pipeline.answer("What gets tested at the research center in Harbin?", conversation)
    follow = pipeline.answer("Who runs it?", conversation)
    assert "research center" in follow.resolved_question
    assert not follow.abstained and "Harbin Electric Group" in follow.text


def test_a_name_met_only_in_a_list_of_its_siblings_is_listed_only():
    from bot.rivals import listed_only

    siblings = sibling_map(TEXT)
    assert listed_only(["corbi"], TEXT[0], siblings)  # "Arden, Belmont and Corby - share ..."
    assert not listed_only(["arden"], TEXT[1], siblings)  # a sentence about Arden alone
    assert not listed_only(["arden"], TEXT[0] + " Arden spent more.", siblings)  # also named on its own
    assert not listed_only(["harbour"], TEXT[0], siblings)  # no siblings known
    assert not listed_only(["dunmor"], TEXT[0], siblings)  # not named at all


def test_sentences_naming_the_asked_name_only_in_a_list_move_below_one_about_it_alone():
    from bot.retrieval import Hit
    from bot.rivals import LISTED_PENALTY, demote_listed

    siblings = sibling_map(TEXT)
    hits = [Hit(0, "a", 0, 3.0), Hit(1, "a", 1, 3.0 - LISTED_PENALTY / 2), Hit(2, "a", 2, 1.0)]
    reranked = demote_listed(hits, ["arden"], lambda g: TEXT[g], siblings)
    assert [h.sentence for h in reranked] == [1, 0, 2]  # the list sentence drops below "Arden spent ..."
    assert reranked[1].score == 3.0 - LISTED_PENALTY
    assert demote_listed(hits, ["harbour"], lambda g: TEXT[g], siblings) == hits  # no siblings: unchanged
