"""From scored turns to a suite's metrics, per-tag and per-turn pass rates (docs/evaluation.md).

Why every metric says what it is averaged over: a suite mixes answerable, unanswerable and
context-only turns, and a share is only meaningful over the turns it can be computed on; a metric with
nothing to average over is None (shown as "n/a" and never counted as met by a threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .evaluation import CaseResult, TurnResult
from .metrics import hit_at, mean, percentile, prf, reciprocal_rank


@dataclass(frozen=True)
class Summary:
    metrics: dict
    by_tag: dict
    by_turn: dict


def scored(turn: TurnResult) -> bool:
    """A turn counts in pass rates when it expects something (or crashed)."""
    return bool(turn.checks) or turn.error is not None


def _share(turns: Sequence[TurnResult]) -> float | None:
    return sum(t.passed for t in turns) / len(turns) if turns else None


def _group(turns: Sequence[TurnResult]) -> dict:
    return {"turns": len(turns), "passed": sum(t.passed for t in turns), "pass_rate": _share(turns)}


def citation_scores(turn: TurnResult) -> tuple[float | None, float | None]:
    """(precision, recall) of the cited sentences against the gold groups; None where undefined:
    precision needs citations, recall needs gold groups (an abstention recalls nothing)."""
    if not turn.gold:
        return None, None
    union = frozenset().union(*turn.gold)
    cited = set(turn.cited) if not turn.abstained else set()
    precision = len(cited & union) / len(cited) if cited else None
    recall = sum(bool(group & cited) for group in turn.gold) / len(turn.gold)
    return precision, recall


def summarise(results: Sequence[CaseResult]) -> Summary:
    """All metrics of a run (names are those thresholds use; see bot/gating.py)."""
    turns = [t for c in results for t in c.turns]
    counted = [t for t in turns if scored(t)]
    answerable = [t for t in counted if t.expect.answerable is True]
    unanswerable = [t for t in counted if t.expect.answerable is False]
    ranked = [t for t in turns if t.gold and t.answer is not None]
    ranks = [t.gold_rank for t in ranked]
    containing = [t.answer_rank for t in turns if t.answer_sentences and t.answer is not None]
    citations = [citation_scores(t) for t in ranked]
    em_f1 = [(t, t.em_f1()) for t in turns if t.answer is not None]
    has = [s for t, s in em_f1 if s is not None and t.expect.answers]
    nos = [s for t, s in em_f1 if s is not None and not t.expect.answers]
    labelled = [t for t in turns if t.expect.answerable is not None and t.answer is not None]
    tp = sum(t.abstained and not t.expect.answerable for t in labelled)
    fp = sum(t.abstained and t.expect.answerable for t in labelled)
    fn = sum(not t.abstained and not t.expect.answerable for t in labelled)
    precision, recall, f1 = prf(tp, fp, fn)
    latencies = [t.latency_ms for t in turns if t.answer is not None]
    metrics = {
        "cases": len(results), "turns": len(turns), "scored_turns": len(counted),
        "passed_turns": sum(t.passed for t in counted), "passed_cases": sum(c.passed for c in results),
        "pass_rate": _share(counted),
        "case_pass_rate": sum(c.passed for c in results) / len(results) if results else None,
        "has_ans_pass_rate": _share(answerable), "no_ans_pass_rate": _share(unanswerable),
        "ranked_turns": len(ranked),
        "hit@1": mean(hit_at(r, 1) for r in ranks), "hit@3": mean(hit_at(r, 3) for r in ranks),
        "mrr@10": mean(reciprocal_rank(r, 10) for r in ranks),
        "answer_sentence@1": mean(hit_at(r, 1) for r in containing),
        "answer_sentence@3": mean(hit_at(r, 3) for r in containing),
        "citation_precision": mean(p for p, _ in citations if p is not None),
        "citation_recall": mean(r for _, r in citations if r is not None),
        "em_turns": len(has) + len(nos),
        "em": mean(e for e, _ in has + nos), "f1": mean(f for _, f in has + nos),
        "has_ans_em": mean(e for e, _ in has), "has_ans_f1": mean(f for _, f in has),
        "no_ans_em": mean(e for e, _ in nos),
        "abstain_tp": tp, "abstain_fp": fp, "abstain_fn": fn,
        "abstain_precision": precision, "abstain_recall": recall, "abstain_f1": f1,
        "latency_p50_ms": percentile(latencies, 50), "latency_p95_ms": percentile(latencies, 95),
        "latency_mean_ms": mean(latencies),
        "errors": sum(t.error is not None for t in turns),
    }
    tags = dict.fromkeys(tag for t in counted for tag in t.tags)
    by_tag = {tag: _group([t for t in counted if tag in t.tags]) for tag in sorted(tags)}
    positions = sorted({t.turn for t in counted})
    by_turn = {str(p + 1): _group([t for t in counted if t.turn == p]) for p in positions}
    return Summary(metrics, by_tag, by_turn)
