"""Console rendering of an evaluation: metric tables, per-tag and per-turn pass rates, failures,
thresholds and the comparison with an earlier report. Formatting only; the numbers come from
bot/scoring.py and bot/eval_report.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .evaluation import CaseResult
from .gating import Verdict
from .scoring import Summary

SECTIONS = (
    ("Pass", (("pass_rate", "pass rate (turns)"), ("case_pass_rate", "pass rate (cases)"),
              ("has_ans_pass_rate", "pass rate, answerable"), ("no_ans_pass_rate", "pass rate, unanswerable"))),
    ("Answer sentence", (("hit@1", "hit@1"), ("hit@3", "hit@3"), ("mrr@10", "MRR@10"),
                         ("answer_sentence@1", "holds an answer @1"), ("answer_sentence@3", "holds an answer @3"),
                         ("citation_precision", "citation precision"), ("citation_recall", "citation recall"))),
    ("Short answer", (("em", "exact match"), ("f1", "token F1"), ("has_ans_em", "HasAns exact match"),
                      ("has_ans_f1", "HasAns F1"), ("no_ans_em", "NoAns exact match"))),
    ("Abstention", (("abstain_precision", "precision"), ("abstain_recall", "recall"), ("abstain_f1", "F1"))),
    ("Latency per question", (("latency_p50_ms", "p50 (ms)"), ("latency_p95_ms", "p95 (ms)"))),
)


def fmt(value: float | None, name: str = "") -> str:
    if value is None:
        return "n/a"
    if name.startswith("latency"):
        return f"{value:.1f}"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def metrics_table(title: str, summary: Summary) -> Table:
    """The headline numbers, grouped, with how many turns each was computed over."""
    m = summary.metrics
    basis = {"Pass": f"{m['scored_turns']} turns, {m['cases']} cases",
             "Answer sentence": f"{m['ranked_turns']} turns with a gold sentence",
             "Short answer": f"{m['em_turns']} turns with gold answers or abstention",
             "Abstention": f"tp {m['abstain_tp']}, fp {m['abstain_fp']}, fn {m['abstain_fn']}",
             "Latency per question": f"{m['turns']} questions, {m['errors']} errors"}
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("name (--min/--max) / computed over", style="dim")
    for section, rows in SECTIONS:
        table.add_row(Text(section, style="bold cyan"), "", basis[section])
        for name, label in rows:
            table.add_row(f"  {label}", fmt(m.get(name), name), name)
    return table


def groups_table(title: str, groups: dict, key: str, limit: int = 40) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(key)
    table.add_column("turns", justify="right")
    table.add_column("passed", justify="right")
    table.add_column("pass rate", justify="right")
    for name, group in list(groups.items())[:limit]:
        table.add_row(name, str(group["turns"]), str(group["passed"]), fmt(group["pass_rate"]))
    if len(groups) > limit:
        table.add_row(f"... {len(groups) - limit} more", "", "", "")
    return table


def failures(results: Sequence[CaseResult], limit: int) -> Text:
    """The first ``limit`` failing turns: question, resolved question, expected, what the bot said."""
    out = Text()
    bad = [(t, len(r.turns) > 1) for r in results for t in r.turns if not t.passed]
    for turn, conversation in bad[:limit]:
        answer = turn.answer or {}
        label = turn.case_id + (f" turn {turn.turn + 1}" if conversation else "")
        out.append("FAIL ", style="bold red")
        out.append(f"{label}: {turn.question}\n", style="bold")
        if answer.get("resolved_question") and answer["resolved_question"] != turn.question:
            out.append(f"     searched for: {answer['resolved_question']}\n", style="dim")
        out.append(f"     expected: {json.dumps(turn.expect.to_json(), ensure_ascii=False)}\n")
        if turn.error:
            out.append(f"     error: {turn.error}\n", style="red")
        elif answer.get("abstained"):
            out.append("     got: abstained\n", style="yellow")
        else:
            first = (answer.get("citations") or [{}])[0].get("text", "")
            out.append(f"     got: {answer.get('short_answer')!r} from \u201c{first}\u201d\n")
        failed = [k for k, v in turn.checks.items() if not v]
        if failed:
            out.append(f"     failed: {', '.join(failed)}; gold rank {turn.gold_rank}\n", style="dim")
    if len(bad) > limit:
        out.append(f"... and {len(bad) - limit} more failing turns (see --report)\n", style="dim")
    return out


def thresholds(verdicts: Sequence[Verdict], errors: int) -> Text:
    out = Text()
    for v in verdicts:
        mark, style = ("\u2713", "green") if v.met else ("\u2717", "bold red")
        out.append(f"{mark} {v.metric} {v.op} {v.bound:g}: {fmt(v.value, v.metric)}\n", style=style)
    if errors:
        out.append(f"\u2717 {errors} question(s) raised an error\n", style="bold red")
    return out


def comparison(diff: dict, old_name: str) -> Group:
    table = Table(title=f"Compared with {old_name}", title_justify="left", header_style="bold")
    for column in ("metric", "old", "new", "delta", "change"):
        table.add_column(column, justify="left" if column in ("metric", "change") else "right")
    styles = {"better": "green", "worse": "bold red", "same": "dim"}
    for row in diff["metrics"]:
        delta = "" if row["delta"] is None else f"{row['delta']:+.3f}"
        table.add_row(row["metric"], fmt(row["old"], row["metric"]), fmt(row["new"], row["metric"]), delta,
                      Text(row["change"], style=styles.get(row["change"], "")))
    text = Text()
    for label, style in (("regressed", "bold red"), ("fixed", "green")):
        items = diff[label]
        if items:
            text.append(f"{label} ({len(items)}): ", style=style)
            text.append(", ".join(items[:30]) + (" ..." if len(items) > 30 else "") + "\n")
    if diff["only_old"] or diff["only_new"]:
        text.append(f"{diff['only_old']} turn(s) only in the old report, {diff['only_new']} only in the new\n",
                    style="dim")
    return Group(table, text)
