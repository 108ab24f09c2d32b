"""Evaluation outputs: the JSON report, predictions JSONL, SQuAD predictions, JUnit XML and the
comparison of two reports. Console rendering lives in bot/eval_console.py.

Why a versioned JSON report with per-turn rows: ``--compare`` and people reading a CI artefact need
the expected and actual answer of every turn and the exact configuration it was produced with.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from .evaluation import CaseResult, TurnResult
from .gating import GATEABLE, LATENCIES, Verdict
from .scoring import Summary, citation_scores
from .suites import Suite, SuiteError

REPORT_FORMAT = "articlebot-eval/1"


def turn_row(turn: TurnResult) -> dict:
    """Expected vs actual for one turn, with the rank of the gold sentence."""
    answer = turn.answer or {}
    scores = turn.em_f1()
    precision, recall = citation_scores(turn)
    return {
        "turn": turn.turn + 1, "question": turn.question,
        "resolved_question": answer.get("resolved_question"),
        "expected": turn.expect.to_json(),
        "actual": {
            "answer": answer.get("answer"), "short_answer": answer.get("short_answer"),
            "abstained": answer.get("abstained"), "confidence": answer.get("confidence"),
            "citations": [{"article_id": c["article_id"], "sentence": c["sentence"], "text": c["text"]}
                          for c in answer.get("citations", [])],
        },
        "checks": turn.checks, "passed": turn.passed, "error": turn.error,
        "gold_sentences": [sorted([aid, idx + 1] for aid, idx in group) for group in turn.gold],
        "gold_rank": turn.gold_rank, "answer_rank": turn.answer_rank, "citation_precision": precision, "citation_recall": recall,
        "em": scores[0] if scores else None, "f1": scores[1] if scores else None,
        "latency_ms": round(turn.latency_ms, 3),
    }


def build_report(suite: Suite, results: Sequence[CaseResult], summary: Summary, verdicts: Sequence[Verdict],
                 status: int, meta: dict) -> dict:
    """The ``--report`` document: suite, configuration, model, index hashes, metrics and every turn."""
    return {
        "format": REPORT_FORMAT,
        "suite": {"name": suite.name, "path": suite.path, "kind": suite.kind, "sha256": suite.sha256,
                  "cases": len(suite.cases)},
        **meta,
        "metrics": summary.metrics, "by_tag": summary.by_tag, "by_turn": summary.by_turn,
        "thresholds": [{"metric": v.metric, "op": v.op, "bound": v.bound, "value": v.value, "met": v.met}
                       for v in verdicts],
        "exit_status": status,
        "cases": [{"id": r.case.id, "tags": list(r.case.tags), "line": r.case.line, "corpus": r.case.corpus,
                   "passed": r.passed, "turns": [turn_row(t) for t in r.turns]} for r in results],
    }


def write_json(path: Path, document: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_predictions(path: Path, results: Sequence[CaseResult]) -> None:
    """One JSON line per turn: what was asked and what the bot said."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for result in results:
            for turn in result.turns:
                answer = turn.answer or {}
                out.write(json.dumps({
                    "id": turn.case_id, "turn": turn.turn + 1, "question": turn.question,
                    "resolved_question": answer.get("resolved_question"), "answer": answer.get("answer"),
                    "short_answer": answer.get("short_answer"),
                    "citations": [c["text"] for c in answer.get("citations", [])],
                    "abstained": turn.abstained, "error": turn.error,
                }, ensure_ascii=False) + "\n")


def squad_predictions(results: Sequence[CaseResult]) -> dict[str, str]:
    """``{question id: short answer or ""}``, the input of the official SQuAD evaluation script."""
    return {r.case.id: r.turns[0].prediction for r in results if len(r.turns) == 1}


def write_junit(path: Path, suite: Suite, results: Sequence[CaseResult], verdicts: Sequence[Verdict]) -> None:
    """JUnit XML: one testcase per case (failure lists the failing turns), one per threshold."""
    root = ET.Element("testsuites")
    cases = ET.SubElement(root, "testsuite", name=suite.name, tests=str(len(results)),
                          failures=str(sum(not r.passed and not _errored(r) for r in results)),
                          errors=str(sum(_errored(r) for r in results)),
                          time=f"{sum(t.latency_ms for r in results for t in r.turns) / 1000:.3f}")
    for result in results:
        element = ET.SubElement(cases, "testcase", classname=suite.name, name=result.case.id,
                                time=f"{sum(t.latency_ms for t in result.turns) / 1000:.3f}")
        bad = [t for t in result.turns if not t.passed]
        if bad:
            kind = "error" if _errored(result) else "failure"
            first = bad[0]
            message = first.error or f"turn {first.turn + 1}: failed {', '.join(k for k, v in first.checks.items() if not v)}"
            detail = ET.SubElement(element, kind, message=message)
            detail.text = "\n\n".join(_explain(t) for t in bad)
    gate = ET.SubElement(root, "testsuite", name=f"{suite.name} thresholds", tests=str(len(verdicts)),
                         failures=str(sum(not v.met for v in verdicts)), errors="0", time="0")
    for verdict in verdicts:
        element = ET.SubElement(gate, "testcase", classname=f"{suite.name} thresholds",
                                name=f"{verdict.metric} {verdict.op} {verdict.bound:g}", time="0")
        if not verdict.met:
            ET.SubElement(element, "failure", message=f"{verdict.metric} = {_fmt(verdict.value)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _errored(result: CaseResult) -> bool:
    return any(t.error for t in result.turns)


def _explain(turn: TurnResult) -> str:
    row = turn_row(turn)
    actual = row["actual"]
    said = "abstained" if actual["abstained"] else (actual["short_answer"] or (actual["citations"] or [{}])[0].get("text"))
    return (f"turn {row['turn']}: {turn.question}\n  expected: {json.dumps(row['expected'], ensure_ascii=False)}\n"
            f"  got: {said}\n  failed: {', '.join(k for k, v in turn.checks.items() if not v) or turn.error}")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


# ---------------------------------------------------------------- comparing runs

def load_report(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SuiteError(f"cannot read report {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != REPORT_FORMAT:
        raise SuiteError(f"{path} is not an articlebot eval report ({REPORT_FORMAT})")
    return document


def compare(old: dict, new: dict) -> dict:
    """Metric deltas (better / worse / same, knowing latency is better lower) and the turns whose
    verdict flipped: ``fixed`` failed before and pass now, ``regressed`` the reverse."""
    rows = []
    for name in GATEABLE:
        before, after = old["metrics"].get(name), new["metrics"].get(name)
        if before is None and after is None:
            continue
        if before is None or after is None:
            change = "new" if before is None else "gone"
            rows.append({"metric": name, "old": before, "new": after, "delta": None, "change": change})
            continue
        delta = after - before
        sign = -1 if name in LATENCIES or name == "errors" else 1
        threshold = 0.05 * abs(before) if name in LATENCIES else 1e-9  # latency jitters; ignore under 5%
        change = "same" if abs(delta) <= threshold else ("better" if sign * delta > 0 else "worse")
        rows.append({"metric": name, "old": before, "new": after, "delta": delta, "change": change})
    before, after = _verdicts(old), _verdicts(new)
    flipped = {"fixed": [], "regressed": []}
    for key in after.keys() & before.keys():
        if before[key] != after[key]:
            flipped["fixed" if after[key] else "regressed"].append(f"{key[0]} turn {key[1]}" if key[1] > 1 else key[0])
    return {"metrics": rows, "fixed": sorted(flipped["fixed"]), "regressed": sorted(flipped["regressed"]),
            "only_old": len(before.keys() - after.keys()), "only_new": len(after.keys() - before.keys())}


def _verdicts(report: dict) -> dict[tuple[str, int], bool]:
    return {(case["id"], turn["turn"]): turn["passed"] for case in report.get("cases", []) for turn in case["turns"]}
