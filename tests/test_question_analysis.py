"""What a question asks for (bot/answer_types.question_type) and which of its words are names that the
article must hold (bot/lexical.entity_terms): plain English rules, checked on invented questions."""

from __future__ import annotations

import pytest

from bot import answer_types as at
from bot.lexical import entity_terms


@pytest.mark.parametrize(("question", "kind"), [
    ("Which company runs the workshop where the robots are tested?", at.ORG),
    ("Who hired the engineer when he moved to New York?", at.PERSON),
    ("Where was the meeting held when the owners voted?", at.PLACE),
    ("When did the firm that builds trams open its plant?", at.DATE),
    ("How much did the city where the bridge stands spend?", at.AMOUNT),
    ("What share of the budget went to roads?", at.PERCENT),
    ("Which bridge does the tram cross?", f"{at.NAMED}bridge"),
    ("Why was it delayed?", None),
])
def test_the_first_cue_decides_what_is_asked(question, kind):
    assert at.question_type(question) == kind


@pytest.mark.parametrize(("question", "names"), [
    ("What is the spending worth in US dollars?", []),
    ("How many Hong Kong dollars did Ortiz pay?", ["ortiz"]),
    ("What did the US spend in 1990?", ["us", "1990"]),
    ("How many games have the Broncos won?", ["bronco"]),  # "won" here is a verb, not a currency
])
def test_a_currencys_country_is_a_unit_not_a_name_the_article_must_hold(question, names):
    assert entity_terms(question) == names
