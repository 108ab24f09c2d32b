"""Short answers (issue 6, item 3): the span highlighted inside the cited sentence, typed or generic,
and None when nothing in the sentence is clearly the answer. Sentences and questions are written
here, not taken from the SQuAD sample the extractor was fitted on."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bot import answer_types, extract, span_features
from bot.answer import short_answer
from bot.lexical import entity_terms, terms
from bot.retrieval import Query


def _query(question: str) -> Query:
    return Query(question, tuple(dict.fromkeys(terms(question))), answer_types.question_type(question),
                 tuple(entity_terms(question)), np.zeros(384, np.float32))


def _short(sentence: str, question: str) -> str | None:
    span = short_answer(sentence, _query(question))
    return sentence[span[0]:span[1]] if span else None


@pytest.mark.parametrize("sentence, question, expected", [
    # what + verb: the object after the question's words
    ("Last year the city council built a new public library next to the river.",
     "What did the city council build next to the river?", "new public library"),
    # why: the reason clause, cut at "because" rather than running on from the date before it
    ("The factory closed in 2015 because demand for coal fell sharply.", "Why did the factory close?",
     "demand for coal fell sharply"),
    ("The tunnel was built to carry freight trains under the mountains.", "Why was the tunnel built?",
     "carry freight trains under the mountains"),
    # how: the manner phrase
    ("Engineers repaired the dam using a new kind of concrete.", "How did engineers repair the dam?",
     "using a new kind of concrete"),
    # typed questions keep their kind's span
    ("The bridge was designed by the architect Maria Lopez and opened in 1998.", "Who designed the bridge?",
     "Maria Lopez"),
    ("The bridge was designed by the architect Maria Lopez and opened in 1998.", "When did the bridge open?",
     "1998"),
])
def test_span_answers_the_question(sentence, question, expected):
    assert _short(sentence, question) == expected


def test_typed_pattern_keeps_what_candidates_cannot_hold():
    """A money amount with its conversion in brackets is one answer, brackets and all."""
    sentence = "The regional government invested 3.5 billion yuan ($490 million) in new rail lines."
    assert _short(sentence, "How much did the regional government invest?") == "3.5 billion yuan ($490 million)"


def test_a_number_word_counts_as_the_number_of_a_quantity():
    """"two ferries" answers "How many ferries ...?": the number is "two", which the question does not
    say, so the span is new to it (a spelt-out number is as much a number as "2")."""
    sentence = "The harbour authority bought two ferries from a shipyard in Gdansk last spring."
    assert answer_types.span_words(sentence, (29, 41), answer_types.AMOUNT) == ("two",)
    assert _short(sentence, "How many ferries did the harbour authority buy?") == "two"


@pytest.mark.parametrize("sentence, question, expected", [
    # "how many" names what is counted: the number alone, whatever word follows it
    ("The museum lent 14 large paintings to galleries abroad and kept 30 others in storage.",
     "How many paintings did the museum lend to galleries abroad?", "14"),
    # "what year": the year of a full date
    ("The observatory opened on 3 March 1921 after a decade of building work.",
     "In what year did the observatory open?", "1921"),
])
def test_a_typed_question_gets_the_part_of_the_span_it_asks_for(sentence, question, expected):
    assert _short(sentence, question) == expected


def test_extra_words_around_the_typed_answer_are_dropped():
    """When the extractor's span holds the typed path's whole answer plus other words, the typed
    answer is given: the words around a date or an amount are not part of it."""
    sentence = "Rail traffic through the pass resumed in 1954 with a new electric locomotive."
    query = _query("When did rail traffic through the pass resume?")
    typed = (sentence.index("1954"), sentence.index("1954") + 4)
    wider = extract.best_span(sentence, query, threshold=0.0)
    assert wider is not None
    assert extract.best_span(sentence, query, threshold=0.0, preferred=typed) == typed
    assert answer_types.year_only(sentence, (0, len(sentence))) == typed
    assert answer_types.number_only(sentence, typed) == typed


def test_a_clause_naming_nothing_else_still_answers_for_the_name():
    """The clause rule ("Jilin trains experts, while Heilongjiang's economy is 30 percent digital" says
    nothing of Jilin's amount) applies to clauses about something else the question does not name; a
    clause naming nothing, or standing in brackets, continues the named one."""
    sentence = "The Harbour Board approved the plan in the spring; building work began in 1998."
    assert _short(sentence, "When did the Harbour Board's building work begin?") == "1998"
    other = "The Harbour Board approved the plan in the spring; the Rail Authority began its work in 1998."
    assert _short(other, "When did the Harbour Board begin its work?") is None
    bracketed = "The first mayor of the town was Anna Keller (a lawyer from Basel; born there in 1961)."
    assert _short(bracketed, "In what year was Anna Keller born?") == "1961"


def test_unrelated_question_gets_no_short_answer():
    """Nothing of the question is in the sentence: no anchor, so no guess."""
    sentence = "Shares rose 3 percent on Tuesday after the company reported higher profits."
    assert _short(sentence, "What is the meaning of life?") is None


def test_sentence_that_only_repeats_the_question_gets_no_short_answer():
    assert _short("The harbour.", "What about the harbour?") is None


def test_unclear_best_span_is_withheld():
    """Below the threshold the extractor says nothing, above it it answers: the threshold is real."""
    sentence = "Farmers in the valley mostly grow rice and tea."
    query = _query("What do farmers in the valley grow?")
    assert extract.best_span(sentence, query, threshold=1.01) is None
    assert extract.best_span(sentence, query, threshold=0.0) is not None


def test_spans_lie_inside_the_sentence_and_are_not_the_question():
    sentence = "After the flood, volunteers from three nearby towns rebuilt the school within six months."
    for question in ("Who rebuilt the school?", "What did the volunteers rebuild?", "How long did it take?",
                     "Where did the volunteers come from?", "What happened after the flood?"):
        span = short_answer(sentence, _query(question))
        if span:
            text = sentence[span[0]:span[1]]
            assert 0 <= span[0] < span[1] <= len(sentence) and text.strip() == text
            assert not set(terms(text)) <= set(terms(question))


def test_bundled_article_amount_is_highlighted(pipeline):
    answer = pipeline.answer("How much did Liaoning invest?")
    assert answer.short_answer == "2 billion yuan ($278 million)"
    start, end = answer.highlight
    assert answer.citations[0].text[start:end] == answer.short_answer


def test_soft_anchors_line_up_with_the_sentence_words(encoder):
    """Token vectors map onto the extractor's words; a paraphrase ("established" for "founded")
    anchors, and a sentence with no word of the question gets a span only through such a paraphrase."""
    from bot.soft_anchors import word_sims

    sentence = "The museum was established in 1887 by a group of local merchants."
    question = "When was the museum founded?"
    _, mats, ids = encoder.encode_with_tokens([sentence, question])
    query = Query(question, tuple(terms(question)), answer_types.question_type(question), (),
                  np.zeros(384, np.float32), mats[1], ids[1])
    sims = word_sims(sentence, mats[0], ids[0], query)
    assert sims is not None and set(sims.question) == {m.start() for m in re.finditer(r"\w+", sentence)}
    at = sentence.index
    assert sims.question[at("museum")] > 0.9 and sims.question[at("established")] > sims.question[at("merchants")]
    assert word_sims(sentence, mats[0][:-1], ids[0][:-1], query) is None  # vectors of another text: not used
    span = short_answer(sentence, query, (mats[0], ids[0]))
    assert span and sentence[span[0]:span[1]] == "1887"


def test_answering_scores_equal_the_named_features(encoder):
    """bot/span_scores.py (what answering runs) sums the same weighted features as bot/extract.py's
    named ones (what fitting and docs use), with and without soft anchors."""
    from bot.soft_anchors import word_sims

    sentences = ["The museum was established in 1887 by a group of local merchants, who paid $4,000 for it.",
                 "Because the river flooded twice, engineers rebuilt the old stone bridge near Kelling in 1998.",
                 "Liaoning province has invested 2 billion yuan ($278 million) in its digital manufacturing efforts."]
    questions = ["Who founded the museum?", "Why did engineers rebuild the bridge?", "How much did Liaoning invest?",
                 "What did the merchants pay for the museum?", "Which bridge was rebuilt?"]
    _, s_mats, s_ids = encoder.encode_with_tokens(sentences)
    vectors, q_mats, q_ids = encoder.encode_with_tokens(questions)
    checked = 0
    for sentence, s_mat, s_id in zip(sentences, s_mats, s_ids):
        for question, vector, q_mat, q_id in zip(questions, vectors, q_mats, q_ids):
            query = Query(question, tuple(dict.fromkeys(terms(question))), answer_types.question_type(question),
                          tuple(entity_terms(question)), vector, q_mat, q_id)
            for sims in (word_sims(sentence, s_mat, s_id, query), None):
                preferred = (sentence.index("2 billion"), sentence.index(" in its")) if "yuan" in sentence else None
                got = extract.prepare(sentence, question, query.terms, query.kind, preferred, sims)
                toks = got.tokens()
                named = [sum(extract.WEIGHTS.get(k, 0.0) * v for k, v in span_features.features(
                    toks, span, got.wh, got.head, got.typed, got.preferred, sims, got.shape).items()) for span in got.spans()]
                assert np.allclose(extract.linear_scores(got), named, rtol=0, atol=1e-9)
                checked += len(named)
    assert checked > 200


def test_a_run_of_symbols_is_never_the_short_answer():
    """"$ %" has no word: it once scored NaN and slipped past the threshold."""
    assert _short("Liaoning invested $ % more than before.", "How much did Liaoning invest?") != "$ %"
    answer = _short("Jilin, Liaoning invested $ % in 2020, says Anna Müller.", "Who said Liaoning invested?")
    assert answer is None or "$" not in answer


def test_a_near_tie_is_settled_by_the_sentence_that_answers():
    """answer_first: of two sentences scoring almost alike, the one with a clear answer span is cited
    first; a clear lead, or a sentence further down than the margin, keeps the ranking as it is."""
    from bot.answer import JOINT_MARGIN, answer_first
    from bot.retrieval import Hit

    texts = ["The harbour ferry is popular with tourists and commuters alike.",
             "The harbour ferry was launched in 1962 by the city's transport board.",
             "Tourists like the view from the harbour ferry."]
    hits = [Hit(k, "a", k, score) for k, score in enumerate((2.0, 2.0 - JOINT_MARGIN / 4, 2.0 - JOINT_MARGIN / 2))]
    query = _query("When was the harbour ferry launched?")
    order = [h.index for h in answer_first(hits, query, lambda h: texts[h.index])]
    assert order[0] == 1 and sorted(order) == [0, 1, 2]
    lead = [Hit(0, "a", 0, 2.0), Hit(1, "a", 1, 2.0 - 2 * JOINT_MARGIN)]
    assert answer_first(lead, query, lambda h: texts[h.index]) == lead
    assert answer_first(hits[:1], query, lambda h: texts[h.index]) == hits[:1]


def test_the_sentence_weighed_for_a_near_tie_is_not_read_again(monkeypatch):
    """answer_first keeps each weighed sentence's candidates; the short answer of the one cited reuses
    them when it would score the very same call (no typed choice), and gives the same span as reading
    it again."""
    from bot.answer import JOINT_MARGIN, answer_first
    from bot.retrieval import Hit

    texts = ["The harbour ferry is popular with tourists and commuters alike.",
             "The harbour ferry carries its passengers past the old lighthouse on the point."]
    hits = [Hit(0, "a", 0, 2.0), Hit(1, "a", 1, 2.0 - JOINT_MARGIN / 4)]
    query = _query("What does the harbour ferry carry its passengers past?")
    assert query.kind is None or not answer_types.spans(texts[1], query.kind)
    seen: dict[int, list] = {}
    best = answer_first(hits, query, lambda h: texts[h.index], seen=seen)[0]
    assert sorted(seen) == [0, 1]
    fresh = short_answer(texts[best.index], query)
    calls = []
    monkeypatch.setattr(extract, "scored", lambda *a, **k: calls.append(a) or [])
    assert short_answer(texts[best.index], query, ranked=seen[best.sentence]) == fresh
    assert fresh is not None and not calls


# a sentence setting one name against a sibling ("…, while …"); siblings as bot/rivals.py finds them
CONTRAST = "Marlow opened a tram line in May, while Eastbrook spent 5 million euros on electric buses."
TOWNS = {"marlow": frozenset({"eastbrook"}), "eastbrook": frozenset({"marlow"})}


def _short_with(sentence: str, question: str, siblings) -> str | None:
    span = short_answer(sentence, _query(question), siblings=siblings)
    return sentence[span[0]:span[1]] if span else None


@pytest.mark.parametrize("question, expected", [
    ("How much did Eastbrook spend?", "5 million euros"),  # the clause about the asked town answers
    ("How much did Marlow spend?", None),  # Eastbrook's figure is no answer for Marlow
    ("What did Marlow spend money on?", None),
])
def test_a_span_in_the_clause_about_a_sibling_is_not_the_answer(question, expected):
    assert _short_with(CONTRAST, question, TOWNS) == expected
    # the same contrast after a dash, or with "by contrast" inside the other clause
    for other in ("Eastbrook spent 5 million euros on electric buses - but Marlow opened a tram line in May.",
                  "Eastbrook spent 5 million euros on electric buses; Marlow, by contrast, opened a tram line."):
        assert _short_with(other, question, TOWNS) == expected, other


def test_a_list_is_not_a_contrast_and_a_money_figure_does_not_answer_when():
    medals = "The medals went to Grissom, White, and Chaffee in 1969, then to later crews."
    crew = {"grissom": frozenset({"white", "chaffe"}), "white": frozenset({"grissom", "chaffe"}),
            "chaffe": frozenset({"grissom", "white"})}
    assert _short_with(medals, "In what year did the medals go to Grissom, White, and Chaffee?", crew) == "1969"
    # the date question's only candidates lie inside a sum of money: no short answer rather than "278"
    money = "Liaoning province has invested 2 billion yuan ($278 million) in its digital manufacturing efforts."
    assert _short(money, "When did Liaoning invest 2 billion yuan?") is None
    assert _short(money, "How much did Liaoning invest?") == "2 billion yuan ($278 million)"
    # nor a span holding one ("spent 5 million euros" for "when"), nor a piece of the question's own figure
    but = "Marlow opened a tram line in May, but Eastbrook spent 5 million euros on electric buses."
    assert _short_with(but, "When did Eastbrook open a tram line?", TOWNS) is None  # was "spent 5 million euros"
    assert _short(money, "What is Liaoning's 2 billion yuan being spent on?") is None  # was "$278 million"


def test_the_pipeline_withholds_a_sibling_clause_figure(pipeline):
    jilin = pipeline.answer("What percentage of Jilin's GDP is the digital economy?")
    heilongjiang = pipeline.answer("What percentage of Heilongjiang's GDP is the digital economy?")
    assert "Heilongjiang's digital economy" in jilin.citations[0].text and jilin.short_answer is None
    assert heilongjiang.short_answer == "about 30 percent"


@pytest.mark.parametrize("sentence, question", [
    ("The Amazon rainforest (Spanish: Selva Amazónica) is also known in English as Amazonia.",
     "What is the rainforest called in Spanish?"),
    ("A popular strolling destination is the Krasiński Palace Garden in the old town.",
     "What is a popular strolling destination?"),
    ("The gallery was designed by the architect Zofia Kraśnicka in 1931.", "Who designed the gallery?"),
    ("The oldest exhibition site is the Zachęta National Gallery of Art.", "What is the oldest exhibition site?"),
    ("Its founder, Jürgen Müßig, sold the brewery to Société Générale in 1998.", "Who founded the brewery?"),
])
def test_a_short_answer_never_cuts_a_word_with_letters_beyond_ascii(sentence, question):
    """Words are letters of any script: "Amazónica" is one word, not "Amaz", "ó", "nica" (which gave
    short answers such as "Selva Amazó" and "ski Palace Garden")."""
    span = short_answer(sentence, _query(question))
    assert span is not None  # each sentence plainly answers its question
    start, end = span
    assert not (start > 0 and sentence[start - 1].isalnum() and sentence[start].isalnum()), sentence[start:end]
    assert not (end < len(sentence) and sentence[end - 1].isalnum() and sentence[end].isalnum()), sentence[start:end]
