"""The span extractor's linear scores for all candidates of a sentence at once (numpy).

Why: ``bot.extract.features`` spells every feature out as a named dict entry, which is what fitting
and reading the model need, but a sentence has ~50 candidates and building those dicts made span
extraction cost as much as embedding the question (issue 7 wants everything after the embedding to be
small). Here the question-independent part of every score comes from the sentence's cached
:class:`~bot.span_layout.Layout` (one matrix product per wh-word, kept), and the rest is a few array
operations over the candidates. ``tests/test_short_answers.py`` checks that both give the same scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .span_layout import FACTS, MAX_WORDS, QUESTION_WORD, ROLES, Layout

_FAR = 10 ** 9  # beyond any sentence: no marked token on that side
_NONE = 1e300  # no strong soft anchor on that side (finite: differences of table rows stay 0, not NaN)


@dataclass(frozen=True)
class Plan:
    """The weights arranged for one wh-word: tables the scorer gathers from, and scalars."""

    length: np.ndarray  # by word count
    before: np.ndarray  # by ROLES index of the token before the span (last entry: the sentence edge)
    after: np.ndarray  # by ROLES index of the token after it (last entry: the sentence edge)
    facts: np.ndarray  # by span_layout.FACTS
    w: dict[str, float]  # the other weights, wh-specific ones under their plain name


def plan(weights: dict[str, float], wh: str) -> Plan:
    """``weights`` (bot/extract.py WEIGHTS) for questions asking ``wh``."""
    g = weights.get
    plain = ("log_distance", "near_left", "near_right", "matched_left_share", "window_matches", "matched_inside",
             "head_inside", "head_after", "typed_exact", "typed_overlap", "typed_inside", "chosen_exact",
             "chosen_overlap", "soft_inside_mean", "soft_inside_max", "soft_left", "soft_right", "soft_log_distance",
             "soft_window", "head_sim_max", "head_sim_after")
    w = {k: g(k, 0.0) for k in plain} | {k: g(f"{wh}:{k}", 0.0) for k in ("wh_sim_max", "wh_sim_mean")}
    wh_facts = {"after_reason_word", "capitalised", "all_capitalised", "digit", "first_verbish"}
    return Plan(np.array([g(f"len{min(k, 6)}", 0.0) + g(f"{wh}:len{min(k, 4)}", 0.0) for k in range(MAX_WORDS + 3)]),
                np.array([g(f"before:{r}", 0.0) for r in ROLES] + [g("before:edge", 0.0)]),
                np.array([g(f"after:{r}", 0.0) for r in ROLES] + [g("after:edge", 0.0)]),
                np.array([g(f"{wh}:{k}" if k in wh_facts else k, 0.0) for k in FACTS]), w)


def static_scores(n: np.ndarray, facts: np.ndarray, p: Plan) -> np.ndarray:
    """The part of the scores that depends on the spans' own words and the wh-word only."""
    return p.length[np.minimum(n, len(p.length) - 1)] + facts @ p.facts


def scores(lay: Layout, runs: np.ndarray, static: np.ndarray, matched: np.ndarray, head: np.ndarray | None,
           typed, preferred, soft: np.ndarray | None, p: Plan) -> np.ndarray:
    """Every span's score: ``static`` plus the features that depend on the question: its words in
    the sentence (``matched``, bool per token), the head noun (``head``: bool per token, None when the
    question has none), the typed spans and the typed choice (character spans), and the token
    similarities (``soft``: tokens x 3, question / wh-word / head, NaN for a word without one).
    ``runs``: the spans' :func:`bot.span_layout.run_index` rows.

    Why it looks like this: an array operation on a few dozen numbers costs ~2 µs whatever it does,
    so the features are first folded into one table by token position (:func:`_token_table`, ~40
    operations on arrays of n tokens) and then read at every span's start, end and window ends with a
    handful of gathers."""
    I, J, lo, hi, level, back = runs.T  # noqa: E741
    w, n = p.w, len(lay.texts)
    table = _token_table(lay.roles, matched, head, soft, p)
    at_i, at_j = table[I], table[J]
    inner, window = at_j - at_i, table[hi] - table[lo]
    s = static + at_i[:, 0] + at_j[:, 1] + inner[:, 2] + window[:, 3] + w["log_distance"] * np.minimum(at_i[:, 4],
                                                                                                        at_j[:, 5])
    if head is not None:
        s += w["head_inside"] * (inner[:, 6] > 0)
    start, end = lay.starts[I], lay.ends[J - 1]
    if typed:
        a, b = np.array(typed).T[:, :, None]
        s += w["typed_exact"] * ((start == a) & (end == b)).any(axis=0)
        s += w["typed_overlap"] * ((a < end) & (start < b)).any(axis=0)
        s += w["typed_inside"] * ((a <= start) & (end <= b)).any(axis=0)
    if preferred:
        s += w["chosen_exact"] * ((start == preferred[0]) & (end == preferred[1]))
        s += w["chosen_overlap"] * ((preferred[0] < end) & (start < preferred[1]))
    if soft is None:
        return s
    count = inner[:, 11]
    some = count > 0  # spans none of whose words has a similarity get no soft terms
    maxes = _range_max(np.where(np.isnan(soft[:, :1]), -np.inf, soft), I, level, back)
    maxes[~some] = 0.0
    distance = np.minimum(at_i[:, 12], at_j[:, 13])
    t = (at_i[:, 7] + at_j[:, 8] + (w["soft_inside_mean"] * inner[:, 9] + w["wh_sim_mean"] * inner[:, 10])
         / np.maximum(count, 1) + maxes @ np.array([w["soft_inside_max"], w["wh_sim_max"], w["head_sim_max"]])
         + w["soft_log_distance"] * np.where(distance == _NONE, 3.0, distance)
         + w["soft_window"] * (window[:, 9] - inner[:, 9]) / max(1.0, table[n, 9]))
    return s + np.where(some, t, 0.0)


def _token_table(roles: np.ndarray, matched: np.ndarray, head: np.ndarray | None, soft: np.ndarray | None,
                 p: Plan) -> np.ndarray:
    """Per position k = 0..n (a span starting at k reads row k, one ending before k reads row k):

    0  what a span starting at k scores for the token before it (role, a question word within two)
       and for the share of the question's words left of it;
    1  the same for the token at k after a span ending there (role, a question word within two, the
       head noun right after);
    2, 3  running sums of the question's words (weighted as inside a span, and as in its ±6 window);
    4, 5  log(1 + distance) to the nearest question word left of k / from k on (log(1 + n) if none);
    6  running count of head-noun words;
    7, 8  soft: best question cosine among the 3 words before k / from k on (and the head cosine at k);
    9, 10, 11  soft: running sums of question and wh-word cosines, and of words that have them;
    12, 13  soft: log(1 + distance) to the nearest strong soft anchor (cosine ≥ 0.75), _NONE if none."""
    w, n = p.w, len(matched)
    table = np.zeros((n + 1, 14))
    k = np.arange(n + 1)
    seen, left, right = _nearest(matched, k)
    m = int(seen[-1])
    roles = np.where(matched, QUESTION_WORD, roles)
    table[:, 0] = p.before[np.concatenate([[-1], roles])] + w["near_left"] * (left <= 2) + \
        (w["matched_left_share"] * seen / m if m else w["matched_left_share"] * 0.5)
    table[:, 1] = p.after[np.append(roles, -1)] + w["near_right"] * (right <= 2)
    table[:, 2] = w["matched_inside"] * seen
    table[:, 3] = w["window_matches"] / max(1, m) * seen
    table[:, 4] = np.log1p(np.minimum(left, n))  # no question word on that side: log(1 + n)
    table[:, 5] = np.log1p(np.minimum(right, n))
    if head is not None:
        table[:n, 1] += w["head_after"] * head
        np.cumsum(head, out=table[1:, 6])
    if soft is None:
        return table
    has = ~np.isnan(soft[:, 0])
    cos = np.where(has[:, None], soft, 0.0)
    np.cumsum(cos[:, :2], axis=0, out=table[1:, 9:11])
    np.cumsum(has, out=table[1:, 11])
    near = np.full(n + 6, -np.inf)  # question cosine by position, 3 positions of padding either side
    near[3:-3] = np.where(has, soft[:, 0], -np.inf)
    before = np.maximum(np.maximum(near[:-5], near[1:-4]), near[2:-3])  # words k-3 .. k-1
    after = np.maximum(np.maximum(near[3:-2], near[4:-1]), near[5:])  # words k .. k+2
    table[:, 7] = w["soft_left"] * np.where(before > -np.inf, before, 0.0)
    table[:, 8] = w["soft_right"] * np.where(after > -np.inf, after, 0.0)
    table[:n, 8] += w["head_sim_after"] * cos[:, 2]
    _, left, right = _nearest(has & (cos[:, 0] >= 0.75), k)
    table[:, 12] = np.where(left > n, _NONE, np.log1p(np.minimum(left, n)))
    table[:, 13] = np.where(right > n, _NONE, np.log1p(np.minimum(right, n)))
    return table


def _nearest(marked: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every position k: how many marked tokens lie before it, the distance k - i to the last
    marked i < k, and i - k + 1 to the first marked i >= k (> len(marked) when there is none)."""
    at = np.flatnonzero(marked)
    seen = np.searchsorted(at, k)
    padded = np.concatenate([[-_FAR], at, [_FAR]])
    return seen, k - padded[seen], padded[seen + 1] - k + 1


def _range_max(values: np.ndarray, I: np.ndarray, level: np.ndarray, back: np.ndarray) -> np.ndarray:  # noqa: E741
    """``values[I[k]:J[k]].max(axis=0)`` for every k, by a sparse table: the max of two overlapping
    blocks of 2**level rows, starting at I and at ``back`` = J - 2**level."""
    levels = int(level.max()) + 1
    table = np.full((levels, len(values), values.shape[1]), -np.inf)
    table[0] = values
    for lv in range(1, levels):
        half = 1 << (lv - 1)
        table[lv, :len(values) - half] = np.maximum(table[lv - 1, :-half], table[lv - 1, half:])
    return np.maximum(table[level, I], table[level, back])
