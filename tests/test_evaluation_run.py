"""The runner end to end on a small article of our own (real model, real FAISS): scoring, exit codes,
the JSON report, predictions, JUnit XML, --compare, and SQuAD files exported for the official script."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import write_article
from test_evaluation_suites import squad_file, write_jsonl

from bot.cli import main
from bot.eval_report import REPORT_FORMAT, compare
from bot.metrics import best_em_f1

ARTICLE = """---
title: Harbor town opens new bridge
---
The town of Eastport opened a new bridge over the Kell River on March 3, 2023.

The bridge cost 40 million dollars and took three years to build.

Mayor Ana Ruiz said the bridge would cut commuting times by half.

Local builder Stonefield Construction led the project.
"""
COST = "The bridge cost 40 million dollars and took three years to build."
CASES = [
    {"suite": {"name": "bridge", "corpus": "corpus"}},
    {"id": "cost", "question": "How much did the new bridge cost?",
     "expect": {"answers": ["40 million dollars"], "cited": COST}, "tags": ["amount"]},
    {"id": "builder", "question": "Which company built the bridge?", "expect": {"answers": ["Stonefield Construction"]}},
    {"id": "tokyo", "question": "What is the population of Tokyo?", "expect": {"abstain": True}, "tags": ["unanswerable"]},
    {"id": "chat", "turns": [{"question": "When did the bridge open?", "expect": {"answers": ["March 3, 2023"]}},
                             {"question": "Who is the mayor?", "expect": {"answers": ["Ana Ruiz"], "not": ["Eastport opened"]}}],
     "tags": ["followup"]},
]


@pytest.fixture
def bridge(tmp_path):
    write_article(tmp_path / "corpus", "bridge.md", ARTICLE)
    return write_jsonl(tmp_path / "bridge.jsonl", CASES)


def run(tmp_path, suite, *flags: str) -> int:
    return main(["eval", str(suite), "--index", str(tmp_path / "index"), *flags])


def test_outputs_and_exit_0_when_thresholds_are_met(tmp_path, bridge, capsys, encoder):
    out = {name: tmp_path / "out" / name for name in ("r.json", "p.jsonl", "j.xml")}
    # --corpus names the settings' corpus: the persisted index is opened (built here), as users get it
    status = run(tmp_path, bridge, "--corpus", str(tmp_path / "corpus"), "--min", "pass_rate=0.75", "--report", str(out["r.json"]),
                 "--predictions", str(out["p.jsonl"]), "--junit", str(out["j.xml"]))
    printed = capsys.readouterr().out
    report = json.loads(out["r.json"].read_text())
    assert status == 0, printed
    assert report["format"] == REPORT_FORMAT and report["exit_status"] == 0
    assert {"suite", "config", "model", "index", "metrics", "by_tag", "by_turn", "thresholds", "cases"} <= set(report)
    assert report["model"]["name"].endswith("all-MiniLM-L6-v2") and len(report["model"]["sha256"]) == 64
    (index,) = report["index"].values()
    assert index["kind"] == "persisted" and len(index["manifest_sha256"]) == 64 and index["sentences"] == 4
    assert report["config"]["abstain_threshold"] == 0.4 and "telegram_token" not in report["config"]
    cost = next(c for c in report["cases"] if c["id"] == "cost")["turns"][0]
    assert cost["expected"] == {"answers": ["40 million dollars"], "cited": [COST]}
    assert cost["passed"] and cost["checks"] == {"answered": True, "answers": True, "cited": True}
    assert cost["gold_sentences"] == [[["bridge", 2]]] and cost["gold_rank"] == 1
    assert cost["actual"]["citations"][0]["text"] == COST
    chat = next(c for c in report["cases"] if c["id"] == "chat")
    assert [t["turn"] for t in chat["turns"]] == [1, 2]
    assert report["metrics"]["turns"] == 5 and report["by_turn"]["2"]["turns"] == 1
    assert report["thresholds"] == [{"metric": "pass_rate", "op": ">=", "bound": 0.75,
                                     "value": report["metrics"]["pass_rate"], "met": True}]
    lines = [json.loads(line) for line in out["p.jsonl"].read_text().splitlines()]
    assert [(p["id"], p["turn"]) for p in lines] == [("cost", 1), ("builder", 1), ("tokyo", 1), ("chat", 1), ("chat", 2)]
    assert {"question", "resolved_question", "answer", "short_answer", "citations", "abstained"} <= set(lines[0])
    assert lines[0]["citations"][0] == COST and lines[2]["abstained"] is True
    suites = ET.parse(out["j.xml"]).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["bridge", "bridge thresholds"]
    assert [c.get("name") for c in suites[0].findall("testcase")] == ["cost", "builder", "tokyo", "chat"]
    assert int(suites[0].get("tests")) == 4 and int(suites[1].get("failures")) == 0
    assert "pass_rate" in printed and "\u2713 pass_rate >= 0.75" in printed


def test_a_failing_case_means_exit_1_and_compare_shows_it(tmp_path, bridge, capsys, encoder):
    old = tmp_path / "old.json"
    assert run(tmp_path, bridge, "--min", "pass_rate=0", "--report", str(old)) == 0
    # the header's corpus is not the settings' one: read into memory, the default index is left alone
    assert [i["kind"] for i in json.loads(old.read_text())["index"].values()] == ["in-memory"]
    assert not (tmp_path / "index").exists()
    rows = [*CASES[:1], {**CASES[1], "expect": {"abstain": True}}, *CASES[2:]]  # the bot will answer the cost
    worse = write_jsonl(tmp_path / "worse.jsonl", rows)
    junit = tmp_path / "j.xml"
    capsys.readouterr()
    assert run(tmp_path, worse, "--compare", str(old), "--junit", str(junit)) == 1  # default: every turn must pass
    captured = capsys.readouterr()
    printed = captured.out
    assert "report of suite" not in captured.err  # the same suite (by name): no warning
    assert "FAIL cost: How much did the new bridge cost?" in printed
    assert "regressed (1): cost" in printed and "\u2717 pass_rate >= 1" in printed
    failure = ET.parse(junit).getroot().find("testsuite/testcase[@name='cost']/failure")
    assert failure is not None and "failed abstain" in failure.get("message")
    # the same suite with a threshold it meets passes again
    assert run(tmp_path, worse, "--min", "pass_rate=0.5", "-q") == 0
    other = write_jsonl(tmp_path / "other.jsonl", [{"suite": {**CASES[0]["suite"], "name": "other"}}, *CASES[1:]])
    run(tmp_path, other, "--compare", str(old), "-q")
    assert "is a report of suite 'bridge', not 'other'" in " ".join(capsys.readouterr().err.split())


def test_a_case_the_corpus_cannot_satisfy_is_an_invalid_suite(tmp_path, bridge, capsys, encoder):
    rows = [*CASES, {"id": "ghost", "question": "What sank?", "expect": {"cited": "The ferry sank in a storm last week."}}]
    assert run(tmp_path, write_jsonl(tmp_path / "ghost.jsonl", rows)) == 2
    assert "line 6 (ghost): cited text is no sentence of the corpus" in capsys.readouterr().err


def test_squad_file_runs_and_exports_predictions_for_the_official_script(tmp_path, capsys, encoder):
    path = squad_file(tmp_path, "2.0")
    exported, report = tmp_path / "pred.json", tmp_path / "r.json"
    assert main(["eval", str(path), "--min", "pass_rate=0", "--export-squad-predictions", str(exported),
                 "--report", str(report)]) == 0
    predictions = json.loads(exported.read_text())
    assert set(predictions) == {"q1", "q2", "q3", "w1"} and all(isinstance(v, str) for v in predictions.values())
    document = json.loads(report.read_text())
    assert set(document["index"]) == {"super-bowl-50", "water"}
    assert {i["kind"] for i in document["index"].values()} == {"in-memory"}
    # the exported strings reproduce the report's exact match (what the official script computes)
    gold = {"q1": ["24\u201310"], "q2": ["Santa Clara", " Santa Clara."], "q3": [], "w1": ["zero"]}
    em = sum(best_em_f1(predictions[q], g)[0] for q, g in gold.items()) / 4
    assert document["metrics"]["em"] == pytest.approx(em)
    q1 = next(c for c in document["cases"] if c["id"] == "q1")["turns"][0]
    assert q1["gold_sentences"] == [[["super-bowl-50", 2]]]


def test_compare_reports_direction_of_each_change():
    def report(pass_rate, latency, verdicts):
        return {"metrics": {"pass_rate": pass_rate, "latency_p95_ms": latency, "hit@1": 0.5},
                "cases": [{"id": cid, "turns": [{"turn": 1, "passed": ok}]} for cid, ok in verdicts.items()]}

    diff = compare(report(0.5, 100.0, {"a": True, "b": False, "c": True}),
                   report(0.75, 200.0, {"a": False, "b": True, "d": True}))
    changes = {row["metric"]: row["change"] for row in diff["metrics"]}
    assert changes == {"pass_rate": "better", "latency_p95_ms": "worse", "hit@1": "same"}
    assert (diff["fixed"], diff["regressed"], diff["only_old"], diff["only_new"]) == (["b"], ["a"], 1, 1)
