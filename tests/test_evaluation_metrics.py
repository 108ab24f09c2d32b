"""Metric definitions on tiny hand-computed cases (docs/evaluation.md): SQuAD normalisation, EM, F1,
containment, ranks, abstention, percentiles, thresholds and the summary of hand-made turns."""

from __future__ import annotations

import pytest

from bot.evaluation import CaseResult, TurnResult, matches_content
from bot.gating import Verdict, check, exit_status, parse_bounds
from bot.metrics import (best_em_f1, contains, exact_match, f1_score, first_rank, hit_at, normalize_answer,
                         normalize_text, percentile, prf, reciprocal_rank)
from bot.scoring import citation_scores, summarise
from bot.suites import Case, Expect, TurnSpec


# ---------------------------------------------------------------- SQuAD normalisation

@pytest.mark.parametrize("raw, normalised", [
    ("The Eiffel Tower!", "eiffel tower"),
    ("  a  cat,   an apple and THE dog ", "cat apple and dog"),
    ("theatre of the absurd", "theatre of absurd"),  # only whole-word articles go
    ("$278 million", "278 million"),
    ("U.S.A.", "usa"),
    ("the", ""),
    ("", ""),
])
def test_normalize_answer_is_the_official_one(raw, normalised):
    assert normalize_answer(raw) == normalised


def test_en_dash_official_keeps_it_text_normalisation_drops_it():
    # the official script strips ASCII punctuation only, so an en dash survives there...
    assert normalize_answer("1990\u20131995") == "1990\u20131995"
    assert normalize_answer("1990-1995") == "19901995"
    assert exact_match("1990\u20131995", "1990-1995") == 0.0
    # ...while pass/fail checks treat every dash alike
    assert normalize_text("1990\u20131995") == normalize_text("1990-1995") == "19901995"
    assert normalize_text("\u201cQuoted\u201d \u2014 text\u2026") == "quoted text"


def test_exact_match_and_f1_hand_computed():
    assert exact_match("the Denver Broncos.", "Denver broncos") == 1.0
    assert exact_match("Broncos", "Denver Broncos") == 0.0
    # pred {big, red, dog} vs gold {red, dog, barked}: 2 shared, P = R = 2/3
    assert f1_score("the big red dog", "red dog barked") == pytest.approx(2 / 3)
    # repeated tokens count with multiplicity: min(2,1) + min(1,2) = 2 shared of 3 each
    assert f1_score("x x y", "x y y") == pytest.approx(2 / 3)
    # P = 1/1, R = 1/4 -> F1 = 2 * 1 * 0.25 / 1.25
    assert f1_score("Liaoning", "Liaoning Jilin and Heilongjiang") == pytest.approx(0.4)
    assert f1_score("cat", "dog") == 0.0


def test_empty_gold_follows_squad_v2():
    assert f1_score("", "") == 1.0
    assert f1_score("Paris", "") == 0.0
    assert f1_score("", "Paris") == 0.0
    assert exact_match("", "the") == 1.0  # "the" normalises to nothing
    assert best_em_f1("", []) == (1.0, 1.0)  # no gold answers: only "no answer" is right
    assert best_em_f1("Paris", []) == (0.0, 0.0)
    assert best_em_f1("Broncos", ["Denver Broncos", "Broncos", "the Broncos"]) == (1.0, 1.0)
    assert best_em_f1("Denver", ["Denver Broncos", "Carolina"]) == (0.0, pytest.approx(2 / 3))


def test_contains_matches_whole_words_only():
    sentence = "Liaoning province has invested 2 billion yuan ($278 million) in its efforts."
    assert contains(sentence, "2 billion yuan")
    assert contains(sentence, "$278 million")
    assert contains(sentence, "278 Million")
    assert not contains("It invested 22 billion yuan.", "2 billion")
    assert not contains(sentence, "")  # an empty gold proves nothing
    assert not contains(sentence, "the")
    assert contains("from 1990\u20131995", "1990-1995")


def test_content_matching_survives_resplitting():
    whole = "Jilin is training experts, while Heilongjiang's digital economy makes up about 30 percent of GDP."
    assert matches_content(whole, whole)
    assert matches_content(whole, "  jilin IS training experts, while Heilongjiang\u2019s digital economy makes up "
                                  "about 30 percent of GDP ")
    # the splitter merged it with the next sentence
    assert matches_content(whole, whole + " The region is growing.")
    # the splitter cut it in two: each long piece still matches
    assert matches_content(whole, "Jilin is training experts,")
    assert matches_content(whole, "while Heilongjiang's digital economy makes up about 30 percent of GDP.")
    # a short fragment or another sentence does not
    assert not matches_content(whole, "Jilin.")
    assert not matches_content(whole, "Liaoning province has invested 2 billion yuan.")


# ---------------------------------------------------------------- ranks, abstention, latency

def test_rank_metrics():
    ranking = ["a", "b", "c", "d"]
    assert first_rank(ranking, {"c", "d"}) == 3
    assert first_rank(ranking, {"z"}) is None
    assert (hit_at(3, 1), hit_at(3, 3), hit_at(None, 3)) == (0.0, 1.0, 0.0)
    assert reciprocal_rank(1) == 1.0
    assert reciprocal_rank(4) == 0.25
    assert reciprocal_rank(11, 10) == 0.0
    assert reciprocal_rank(None) == 0.0


def test_prf_definitions():
    assert prf(2, 1, 1) == (pytest.approx(2 / 3), pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert prf(1, 0, 3) == (1.0, 0.25, pytest.approx(0.4))
    assert prf(0, 0, 3) == (None, 0.0, 0.0)  # never abstained although it should have
    assert prf(0, 0, 0) == (None, None, None)  # nothing to measure


def test_percentile_is_nearest_rank():
    values = list(range(1, 21))
    assert percentile(values, 50) == 10
    assert percentile(values, 95) == 19
    assert percentile(values, 100) == 20
    assert percentile([7.5], 95) == 7.5
    assert percentile([], 50) is None


# ---------------------------------------------------------------- thresholds

def test_parse_bounds_from_cli_and_header():
    assert parse_bounds(["hit@1=0.8", "abstain_f1 = 0.9"], "--min") == {"hit@1": 0.8, "abstain_f1": 0.9}
    assert parse_bounds({"pass_rate": 1}, "suite.min") == {"pass_rate": 1.0}
    assert parse_bounds({"latency_p95_ms": 250}, "suite.max") == {"latency_p95_ms": 250.0}


@pytest.mark.parametrize("bad, message", [
    (["hit1=0.8"], "unknown metric 'hit1'"),
    (["hit@1"], "not NAME=VALUE"),
    (["hit@1=high"], "needs a number"),
    (["pass_rate=1.5"], "between 0 and 1"),
    ({"errors": -1}, "cannot be negative"),
    ({"pass_rate": True}, "needs a number"),
])
def test_parse_bounds_refuses_what_would_gate_nothing(bad, message):
    with pytest.raises(ValueError, match=message):
        parse_bounds(bad, "--min")


def test_verdicts_and_exit_status():
    metrics = {"pass_rate": 0.96, "abstain_f1": None, "latency_p95_ms": 120.0}
    assert [v.met for v in check(metrics, {"pass_rate": 0.95}, {"latency_p95_ms": 100})] == [True, False]
    assert Verdict("abstain_f1", ">=", 0.5, None).met is False  # undefined never counts as met
    default = check({"pass_rate": 0.99}, {}, {})
    assert [(v.metric, v.bound, v.met) for v in default] == [("pass_rate", 1.0, False)]
    assert exit_status(check(metrics, {"pass_rate": 0.9}, {}), errors=0) == 0
    assert exit_status(check(metrics, {"pass_rate": 0.9}, {}), errors=1) == 1
    assert exit_status(check(metrics, {"pass_rate": 0.99}, {}), errors=0) == 1


# ---------------------------------------------------------------- summary of hand-made turns

def _answer(abstained: bool, cited: list[int] = (), short: str | None = None) -> dict:
    return {"question": "q", "resolved_question": "q", "answer": "", "short_answer": short, "abstained": abstained,
            "confidence": 0.5, "citations": [{"article_id": "a", "sentence": i + 1, "text": f"s{i}"} for i in cited],
            "highlight": None, "more": False}


def _turn(case: str, turn: int, expect: Expect, answer: dict, checks: dict, gold=(), ranking=(), tags=("t",),
          latency: float = 10.0, holding=()) -> TurnResult:
    return TurnResult(case, turn, tags, "q", expect, answer, None, checks, tuple(frozenset(g) for g in gold),
                      tuple(ranking), latency, frozenset(holding))


def test_summary_of_hand_computed_turns():
    answerable = Expect(answers=("Paris",))
    turns = [
        # answered right: gold sentence 0 ranked first, cited 0 and 1
        _turn("c1", 0, answerable, _answer(False, [0, 1], "Paris"), {"answered": True, "answers": True},
              gold=[{("a", 0)}], ranking=[("a", 0), ("a", 1), ("a", 2)], tags=("x",), latency=10),
        # answered wrong: gold sentence ranked third
        _turn("c2", 0, answerable, _answer(False, [2], "Lyon"), {"answered": True, "answers": False},
              gold=[{("a", 0)}], ranking=[("a", 2), ("a", 1), ("a", 0)], tags=("x", "y"), latency=20),
        # should abstain and did
        _turn("c3", 0, Expect(abstain=True), _answer(True), {"abstain": True}, latency=30),
        # conversation: abstained although answerable (gold never ranked), then a context-only turn
        _turn("c4", 0, answerable, _answer(True), {"answered": False, "answers": False},
              gold=[{("a", 0)}], ranking=[("a", 3)], latency=40),
        _turn("c4", 1, Expect(), _answer(False, [3]), {}, latency=50),
    ]
    case = lambda cid, ts: CaseResult(Case(cid, tuple(TurnSpec("q", t.expect) for t in ts)), tuple(ts))  # noqa: E731
    results = [case("c1", turns[0:1]), case("c2", turns[1:2]), case("c3", turns[2:3]), case("c4", turns[3:5])]
    m = summarise(results)
    assert citation_scores(turns[0]) == (0.5, 1.0)
    assert citation_scores(turns[3]) == (None, 0.0)
    metrics = m.metrics
    assert (metrics["turns"], metrics["scored_turns"], metrics["passed_turns"]) == (5, 4, 2)
    assert metrics["pass_rate"] == 0.5
    assert metrics["case_pass_rate"] == 0.5  # c1 and c3
    assert metrics["has_ans_pass_rate"] == pytest.approx(1 / 3)
    assert metrics["no_ans_pass_rate"] == 1.0
    assert metrics["hit@1"] == pytest.approx(1 / 3)
    assert metrics["hit@3"] == pytest.approx(2 / 3)
    assert metrics["mrr@10"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert metrics["citation_precision"] == pytest.approx((0.5 + 0.0) / 2)
    assert metrics["citation_recall"] == pytest.approx(1 / 3)
    # EM/F1 over c1 ("Paris" = gold), c2 ("Lyon"), c4 (abstained: ""), and c3 (no-answer, "")
    assert metrics["has_ans_em"] == pytest.approx(1 / 3)
    assert metrics["no_ans_em"] == 1.0
    assert metrics["em"] == pytest.approx(2 / 4)
    # abstention: tp c3, fp c4, fn none
    assert (metrics["abstain_tp"], metrics["abstain_fp"], metrics["abstain_fn"]) == (1, 1, 0)
    assert (metrics["abstain_precision"], metrics["abstain_recall"]) == (0.5, 1.0)
    assert metrics["abstain_f1"] == pytest.approx(2 / 3)
    assert (metrics["latency_p50_ms"], metrics["latency_p95_ms"]) == (30, 50)
    assert m.by_tag["x"] == {"turns": 2, "passed": 1, "pass_rate": 0.5}
    assert m.by_tag["y"]["pass_rate"] == 0.0
    assert m.by_turn == {"1": {"turns": 4, "passed": 2, "pass_rate": 0.5}}


def test_answer_sentence_counts_any_sentence_holding_the_answer():
    """answer_sentence@k (issue 6's definition): the first sentences ranked hold a gold answer string
    anywhere, whether or not they are the sentence at the SQuAD offset (hit@k's gold)."""
    from bot.corpus import Article, Sentence
    from bot.evaluation import answer_sentences

    answerable = Expect(answers=("Paris",))
    turns = [_turn("a", 0, answerable, _answer(False, [2]), {}, gold=[{("a", 0)}], ranking=[("a", 2), ("a", 0)],
                   holding=[("a", 0), ("a", 2)]),
             _turn("b", 0, answerable, _answer(True), {}, gold=[{("a", 0)}], ranking=[("a", 5), ("a", 6), ("a", 0)],
                   holding=[("a", 0)])]
    results = [CaseResult(Case(t.case_id, (TurnSpec("q", t.expect),)), (t,)) for t in turns]
    metrics = summarise(results).metrics
    assert metrics["hit@1"] == 0.0 and metrics["answer_sentence@1"] == 0.5
    assert metrics["answer_sentence@3"] == 1.0
    text = "Paris is big. Lyon is not. PARIS again."
    sentences = tuple(Sentence(k, text.index(t), text.index(t) + len(t), t) for k, t in
                      enumerate(("Paris is big.", "Lyon is not.", "PARIS again.")))
    article = Article("a", "A", text, sentences)
    assert answer_sentences(answerable, [article]) == {("a", 0), ("a", 2)}
    assert answer_sentences(Expect(abstain=True), [article]) == frozenset()
