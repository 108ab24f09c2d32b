"""Thresholds that turn an evaluation into a CI verdict: exit 0 all met, 1 one missed, 2 invalid.

Why a closed list of metric names: a misspelt threshold ("hit1=0.8") that silently gated nothing
would let CI pass forever, so an unknown name is an invalid suite (exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RATIOS = ("pass_rate", "case_pass_rate", "has_ans_pass_rate", "no_ans_pass_rate", "hit@1", "hit@3", "mrr@10",
          "answer_sentence@1", "answer_sentence@3", "citation_precision", "citation_recall", "em", "f1", "has_ans_em",
          "has_ans_f1", "no_ans_em", "abstain_precision", "abstain_recall", "abstain_f1")
LATENCIES = ("latency_p50_ms", "latency_p95_ms", "latency_mean_ms")
COUNTS = ("errors",)
GATEABLE = RATIOS + LATENCIES + COUNTS
DEFAULT_MINIMUM = {"pass_rate": 1.0}  # no thresholds given: every turn must pass


@dataclass(frozen=True)
class Verdict:
    """One threshold checked: ``value`` None means the metric was undefined (counts as missed)."""

    metric: str
    op: str  # ">=" or "<="
    bound: float
    value: float | None

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.bound - 1e-12 if self.op == ">=" else self.value <= self.bound + 1e-12


def parse_bounds(value: Mapping | Sequence[str], where: str) -> dict[str, float]:
    """``{"hit@1": 0.8}`` (suite header) or ``["hit@1=0.8", ...]`` (CLI) into a checked dict;
    raises ValueError naming the bad entry."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)):
        pairs = []
        for item in value:
            name, sep, number = str(item).partition("=")
            if not sep:
                raise ValueError(f"{where}: {item!r} is not NAME=VALUE (e.g. hit@1=0.8)")
            pairs.append((name.strip(), number.strip()))
    else:
        raise ValueError(f"{where} must map metric names to numbers, e.g. {{\"pass_rate\": 0.95}}")
    out: dict[str, float] = {}
    for name, number in pairs:
        if name not in GATEABLE:
            raise ValueError(f"{where}: unknown metric {name!r}; known: {', '.join(GATEABLE)}")
        try:
            bound = float(number)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {name} needs a number, got {number!r}") from None
        if isinstance(number, bool) or bound != bound:
            raise ValueError(f"{where}: {name} needs a number, got {number!r}")
        if name in RATIOS and not 0.0 <= bound <= 1.0:
            raise ValueError(f"{where}: {name} is a share between 0 and 1, got {bound}")
        if bound < 0:
            raise ValueError(f"{where}: {name} cannot be negative")
        out[name] = bound
    return out


def check(metrics: Mapping[str, float | None], minimum: Mapping[str, float],
          maximum: Mapping[str, float]) -> list[Verdict]:
    """Every threshold against the metrics; with no thresholds at all, :data:`DEFAULT_MINIMUM`."""
    if not minimum and not maximum:
        minimum = DEFAULT_MINIMUM
    return ([Verdict(name, ">=", bound, metrics.get(name)) for name, bound in minimum.items()]
            + [Verdict(name, "<=", bound, metrics.get(name)) for name, bound in maximum.items()])


def exit_status(verdicts: Sequence[Verdict], errors: int) -> int:
    """0 only when every threshold is met and no question raised an error."""
    return 0 if errors == 0 and all(v.met for v in verdicts) else 1
