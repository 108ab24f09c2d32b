"""Scoring primitives for evaluation suites: SQuAD normalisation, exact match, token F1, containment,
ranking and abstention metrics, percentiles. Pure functions on strings and numbers, no model.

Why two normalisations: exact match and F1 must agree to the digit with the official SQuAD
evaluation script (so numbers are comparable with published ones), and that script only strips ASCII
punctuation. Pass/fail checks of hand-written suites use :func:`normalize_text`, which also strips
Unicode punctuation, so a case written with "-" still matches an article that prints "–".
See docs/evaluation.md for every definition.
"""

from __future__ import annotations

import collections
import functools
import math
import re
import string
import unicodedata
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_ASCII_PUNCT = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation: lowercase, drop ASCII punctuation, drop the articles
    a/an/the, collapse white space (identical to ``normalize_answer`` of evaluate-v2.0.py)."""
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


@functools.lru_cache(maxsize=1 << 16)  # sentences are normalised again for every case of a suite
def normalize_text(text: str) -> str:
    """:func:`normalize_answer` after NFKC and with every Unicode punctuation character (dashes,
    curly quotes, ellipses) dropped as well: used for containment checks, never for EM/F1."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return normalize_answer(text)


def contains(haystack: str, needle: str) -> bool:
    """Whether ``needle`` occurs in ``haystack`` as whole words after :func:`normalize_text`.
    A needle that normalises to nothing never matches (an empty gold proves nothing)."""
    n = normalize_text(needle)
    return bool(n) and f" {n} " in f" {normalize_text(haystack)} "


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when both normalise to the same string (official SQuAD ``compute_exact``)."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 of the normalised strings (official SQuAD v2.0 ``compute_f1``: when either side has
    no tokens, 1.0 if both have none, else 0.0)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    same = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_em_f1(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """Max EM and max F1 over the gold answers; no gold answers means the gold is "" (no answer)."""
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(exact_match(prediction, g) for g in golds), max(f1_score(prediction, g) for g in golds)


def first_rank(ranking: Sequence, gold: Iterable) -> int | None:
    """1-based position of the first item of ``gold`` in ``ranking``, None when absent."""
    wanted = set(gold)
    for position, item in enumerate(ranking, start=1):
        if item in wanted:
            return position
    return None


def hit_at(rank: int | None, k: int) -> float:
    return float(rank is not None and rank <= k)


def reciprocal_rank(rank: int | None, k: int = 10) -> float:
    """1/rank when the gold is within the first ``k``, else 0 (MRR@k averages this)."""
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def prf(tp: int, fp: int, fn: int) -> tuple[float | None, float | None, float | None]:
    """Precision, recall, F1; None where the denominator is 0 (nothing to measure).
    F1 = 2tp / (2tp + fp + fn), the harmonic mean wherever both are defined."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else None
    return precision, recall, f1


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least ``q`` percent of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
