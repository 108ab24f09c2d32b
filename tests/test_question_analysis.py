"""What a question asks for (bot/answer_types.question_type) and which of its words are names that the
article must hold (bot/lexical.entity_terms): plain English rules, checked on invented questions."""

from __future__ import annotations

import pytest

from bot import answer_types as at
from bot.lexical import entity_terms, starts_by_term, term_positions


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


GUARDED = [  # texts with and without what the quick substring checks look for, ASCII and not
    "Liaoning province has invested 2 billion yuan ($278 million) in digital manufacturing.",
    "The digital economy accounts for 30 percent of GDP, up 2.5 per cent on 2023.",
    "It cost £5 million, or about €6m, in May 2021; work began on a Tuesday.",
    "Half a million dollars went to the mark-up; a quarter of the century passed.",
    "The river Wye flows past Monmouth into the Severn River in the 1990s and in the 19th century.",
    "Nothing numeric here at all, only words about Jilin and Harbin Electric Group.",
    "Sixty-five percent of ſix hundred people, and K dollars.",  # Unicode case equivalences
    "Prices rose 40% in ٣ years; 30 December 1999 was a Friday.",
]


@pytest.mark.parametrize("kind", [*at.KINDS, "named:river"])
def test_quick_checks_never_change_the_spans_found(monkeypatch, kind):
    """The substring checks that skip costly patterns (``answer_types._may_match``) are necessary
    conditions: with them and without them every kind finds the same spans."""
    from bot.corpus import read_article
    from conftest import ROOT

    articles = [read_article(ROOT / "corpus/northeast-china-digital-transformation.md"),
                read_article(ROOT / "tests/fixtures/marlow/marlow-tram.md")]
    one_hint_each = ([f"They paid twenty {w} for it." for w in ("yuan renminbi RMB dollars Euros pounds yen rupees "
                                                                 "won francs marks pesos cents").split()]
                     + ["They paid $ twenty for it."]
                     + [f"Prices rose twenty {p} last year." for p in ("percent", "Per cent", "%")]
                     + [f"The shop opens on {d} mornings." for d in "Monday Tuesday Wednesday Thursday Friday "
                                                                     "Saturday Sunday".split()]
                     + [f"About {n} people came." for n in at._NUMBER_WORDS.split("|")])
    texts = GUARDED + one_hint_each + [s.text for a in articles for s in a.sentences]
    guarded = [at._find_spans(text, kind) for text in texts]
    monkeypatch.setattr(at, "_may_match", lambda *args, **kwargs: True)
    assert [at._find_spans(text, kind) for text in texts] == guarded
    assert any(guarded)


def test_starts_by_term_are_the_term_positions_grouped():
    """The answer-kind signal looks anchors up by term; they must be exactly the scanned positions."""
    text = "Jilin invested 2 billion yuan; Jilin's investors invest more in Jilin, and $5 more."
    positions = term_positions(text)
    grouped = starts_by_term(text)
    assert set(grouped) == {term for _, term in positions}
    for term, starts in grouped.items():
        assert list(starts) == [start for start, t in positions if t == term]
    assert len(grouped["jilin"]) == 3
