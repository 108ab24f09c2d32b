"""Reading suites: JSONL and YAML with the same schema, invalid suites refused with line numbers
(exit status 2, before any model loads), and SQuAD v1.1 / v2.0 files read as suites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.squad import POOL, sentence_at
from bot.suites import Expect, SuiteError, load_suite

HEADER = {"suite": {"name": "demo", "corpus": "articles", "min": {"pass_rate": 0.9}, "max": {"latency_p95_ms": 500}}}
CASES = [
    {"id": "one", "question": "How much did Liaoning invest?", "expect": {"answers": "2 billion yuan"}, "tags": ["amount"]},
    {"id": "two", "question": "What is the capital of France?", "expect": {"abstain": True}},
    {"id": "chat", "turns": [{"question": "How much did Liaoning invest?", "expect": {"answers": ["2 billion yuan"]}},
                             {"question": "And Heilongjiang?", "expect": {"not": ["2 billion"], "cited": "x y z w"}},
                             {"question": "Tell me about it"}]},
]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_suite_with_header(tmp_path):
    suite = load_suite(write_jsonl(tmp_path / "s.jsonl", [HEADER, *CASES]))
    assert suite.name == "demo"
    assert suite.corpus == (tmp_path / "articles").resolve()  # relative to the suite file
    assert suite.minimum == {"pass_rate": 0.9} and suite.maximum == {"latency_p95_ms": 500.0}
    one, two, chat = suite.cases
    assert (one.id, one.line, one.tags) == ("one", 2, ("amount",))
    assert one.turns[0].expect == Expect(answers=("2 billion yuan",))  # a string is a one-item list
    assert two.turns[0].expect.answerable is False
    assert [t.question for t in chat.turns] == ["How much did Liaoning invest?", "And Heilongjiang?", "Tell me about it"]
    assert chat.turns[1].expect.not_ == ("2 billion",) and chat.turns[1].expect.answerable is True
    assert chat.turns[2].expect == Expect()  # a context-setting turn
    assert len(suite.sha256) == 64


def test_yaml_suite_reads_like_jsonl(tmp_path):
    import yaml

    jsonl = load_suite(write_jsonl(tmp_path / "s.jsonl", [HEADER, *CASES]))
    mapping = tmp_path / "s.yaml"
    mapping.write_text(yaml.safe_dump({"suite": HEADER["suite"], "cases": CASES}, sort_keys=False), encoding="utf-8")
    listing = tmp_path / "l.yml"
    listing.write_text(yaml.safe_dump(CASES, sort_keys=False), encoding="utf-8")
    from_mapping, from_list = load_suite(mapping), load_suite(listing)
    assert from_mapping.cases == tuple(c.__class__(c.id, c.turns, c.tags, m.line) for c, m in
                                       zip(jsonl.cases, from_mapping.cases))
    assert [c.turns for c in from_list.cases] == [c.turns for c in jsonl.cases]
    assert from_mapping.minimum == jsonl.minimum and from_mapping.name == "demo"
    assert [c.line for c in from_list.cases] == [1, 7, 11]  # each case's first line in the YAML file


@pytest.mark.parametrize("bad, message", [
    ('{"id": "x", "question": "q?", "expect": {"answers": ["a"]}', "invalid JSON"),
    ({"id": "x", "question": "q?", "expected": {"answers": ["a"]}}, "unknown key(s) ['expected']"),
    ({"id": "x", "question": "q?", "expect": {"answers": [""]}}, "expect.answers[0] is empty"),
    ({"id": "x", "question": "q?", "expect": {"answers": ["the"]}}, "empty after normalisation"),
    ({"id": "x", "question": "q?", "expect": {"abstain": True, "answers": ["a b"]}}, "contradicts"),
    ({"id": "x", "question": "q?", "expect": {"abstain": "yes"}}, "abstain must be true or false"),
    ({"id": "x", "question": "q?", "expect": {}}, "non-empty object"),
    ({"id": "x", "question": "q?", "expect": {"cited": 3}}, "string or a list of strings"),
    ({"id": "x", "question": "  ", "expect": {"abstain": True}}, "question must be a non-empty string"),
    ({"id": "x", "question": "q?", "turns": [], "expect": {"abstain": True}}, "exactly one of"),
    ({"id": "x", "question": "q?"}, "needs 'expect'"),
    ({"id": "x", "turns": []}, "non-empty list"),
    ({"id": "x", "turns": [{"question": "q?", "expect": {"abstain": True}, "tag": 1}]}, "turns[0]: unknown key"),
    ({"id": "x", "turns": [{"expect": {"abstain": True}}]}, "turns[0] has no 'question'"),
    ({"id": "one", "question": "again?", "expect": {"abstain": True}}, "duplicate id 'one' (first on line 2)"),
    (["not", "an", "object"], "must be a JSON object"),
])
def test_invalid_case_names_its_line(tmp_path, bad, message):
    path = write_jsonl(tmp_path / "bad.jsonl", ["# comment lines and blank lines are skipped", CASES[0], "", bad])
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert "line 4: " in str(err.value) and message in str(err.value)
    assert err.value.exit_code == 2


def test_every_error_is_listed_not_just_the_first(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"id": "a", "question": "q"}, {"id": "b", "question": "q", "expect": 1}])
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert "line 1: " in str(err.value) and "line 2: " in str(err.value)


@pytest.mark.parametrize("header, message", [
    ({"suite": {"min": {"hit1": 0.8}}}, "unknown metric 'hit1'"),
    ({"suite": {"min": {"pass_rate": 2}}}, "between 0 and 1"),
    ({"suite": {"corpus": ""}}, "suite.corpus"),
    ({"suite": {"thresholds": {}}}, "unknown suite key"),
    ({"suite": "demo"}, "must be an object"),
])
def test_invalid_header(tmp_path, header, message):
    with pytest.raises(SuiteError, match="line 1: .*" + message.replace("(", r"\(")):
        load_suite(write_jsonl(tmp_path / "h.jsonl", [header, CASES[0]]))


def test_other_unusable_files(tmp_path):
    with pytest.raises(SuiteError, match="has no cases"):
        load_suite(write_jsonl(tmp_path / "empty.jsonl", [HEADER]))
    with pytest.raises(SuiteError, match="unknown suite format"):
        load_suite(write_jsonl(tmp_path / "cases.txt", CASES))
    with pytest.raises(SuiteError, match="cannot read suite"):
        load_suite(tmp_path / "missing.jsonl")
    (tmp_path / "bad.yaml").write_text("- id: x\n  question: [unclosed\n", encoding="utf-8")
    with pytest.raises(SuiteError, match=r"bad.yaml line \d+: invalid YAML"):
        load_suite(tmp_path / "bad.yaml")
    (tmp_path / "not-squad.json").write_text('{"cases": []}', encoding="utf-8")
    with pytest.raises(SuiteError, match="not SQuAD JSON"):
        load_suite(tmp_path / "not-squad.json")


def test_cli_exits_2_with_the_line_number_before_loading_anything(tmp_path, capsys):
    path = write_jsonl(tmp_path / "bad.jsonl", [CASES[0], {"id": "x", "question": "q?", "expect": {"answer": "a"}}])
    assert main(["eval", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 2: expect: unknown key(s) ['answer']" in err and "Traceback" not in err
    good = write_jsonl(tmp_path / "good.jsonl", CASES)
    assert main(["eval", str(good), "--min", "hit@2=0.5"]) == 2
    assert "unknown metric 'hit@2'" in capsys.readouterr().err
    assert main(["eval", str(good), "--compare", str(tmp_path / "nope.json")]) == 2
    assert main(["eval", str(good), "--tag", "no-such-tag"]) == 2
    for flag, path in (("--report", tmp_path), ("--predictions", good / "p.jsonl")):  # a folder; inside a file
        assert main(["eval", str(good), flag, str(path)]) == 2  # refused before the run, not after it
        assert f"cannot write {flag} {path}" in capsys.readouterr().err
    for flag, value in (("--batch", "0"), ("--limit", "-3"), ("--batch", "two")):
        with pytest.raises(SystemExit) as refused:  # argparse's own exit, with the flag named
            main(["eval", str(good), flag, value])
        assert refused.value.code == 2 and f"argument {flag}:" in capsys.readouterr().err


# ---------------------------------------------------------------- SQuAD

def squad_file(tmp_path: Path, version: str = "1.1") -> Path:
    """Two articles; the first paragraph has white-space runs before its answers, as real SQuAD does."""
    context = "Denver  beat   Carolina.\n The final score was 24\u201310.  It was played in Santa Clara."
    second = "Water boils at 100 degrees. Ice melts at zero."
    qas = [{"id": "q1", "question": "What was the score?",
            "answers": [{"text": "24\u201310", "answer_start": context.index("24")}] * 2},
           {"id": "q2", "question": "Where was it played?",
            "answers": [{"text": "Santa Clara", "answer_start": context.index("Santa")},
                        {"text": " Santa Clara.", "answer_start": context.index("Santa") - 1}]}]
    if version == "2.0":
        qas.append({"id": "q3", "question": "Who sang the anthem?", "answers": [], "is_impossible": True,
                    "plausible_answers": [{"text": "Denver", "answer_start": 0}]})
    data = {"version": version, "data": [
        {"title": "Super_Bowl_50", "paragraphs": [{"context": context, "qas": qas}]},
        {"title": "Water", "paragraphs": [{"context": "   ", "qas": []},
                                          {"context": second, "qas": [{"id": "w1", "question": "When does ice melt?",
                                           "answers": [{"text": "zero", "answer_start": second.index("zero")}]}]}]}]}
    path = tmp_path / f"squad-{version}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_squad_v11_gold_sentences_from_answer_start(tmp_path):
    suite = load_suite(squad_file(tmp_path, "1.1"))
    assert suite.kind == "squad-1.1"
    assert set(suite.corpora) == {"super-bowl-50", "water"}
    (article,) = suite.corpora["super-bowl-50"]
    assert article.title == "Super Bowl 50"
    q1, q2, w1 = suite.cases
    assert q1.corpus == "super-bowl-50" and q1.tags == ("Super_Bowl_50",)
    assert q1.turns[0].expect.answers == ("24\u201310",)  # duplicates dropped
    ((aid, offset),) = q1.turns[0].expect.gold_spans
    assert article.text[offset:offset + 5] == "24\u201310"
    assert article.sentences[sentence_at(article, offset)].text == "The final score was 24\u201310."
    # an answer given with a leading space and trailing period still lands on its sentence
    offsets = {o for _, o in q2.turns[0].expect.gold_spans}
    assert {article.text[o:o + 11] for o in offsets} == {"Santa Clara"}
    (water,) = suite.corpora["water"]
    ((_, offset),) = w1.turns[0].expect.gold_spans
    assert water.sentences[sentence_at(water, offset)].text == "Ice melts at zero."
    assert water.sentences[0].paragraph == 1  # the empty first paragraph keeps its index


def test_squad_v20_impossible_questions_are_abstentions_and_pool(tmp_path):
    suite = load_suite(squad_file(tmp_path, "2.0"), pool=True)
    assert suite.kind == "squad-2.0" and list(suite.corpora) == [POOL]
    assert [a.id for a in suite.corpora[POOL]] == ["super-bowl-50", "water"]
    q3 = next(c for c in suite.cases if c.id == "q3")
    assert q3.turns[0].expect == Expect(abstain=True) and q3.corpus == POOL


def test_squad_problems_are_reported(tmp_path):
    path = tmp_path / "dup.json"
    qa = {"id": "same", "question": "q?", "answers": [{"text": "a", "answer_start": 0}]}
    path.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"context": "a b.", "qas": [qa, qa]}]}]}))
    with pytest.raises(SuiteError, match=r"qas\[1\]: duplicate question id 'same'"):
        load_suite(path)
    path.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"context": "a b.", "qas": [
        {"id": "x", "question": "q?", "answers": [{"text": "a"}]}]}]}]}))
    with pytest.raises(SuiteError, match="answer_start"):
        load_suite(path)
