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

from .span_layout import FACTS, MAPS, MAX_WORDS, QUESTION_WORD, ROLES, Runs



@dataclass(frozen=True, eq=False)
class Plan:
    """The weights arranged for one wh-word: tables the scorer gathers from, and scalars."""

    length: np.ndarray  # by word count
    before: np.ndarray  # by ROLES index of the token before the span (last entry: the sentence edge)
    after: np.ndarray  # by ROLES index of the token after it (last entry: the sentence edge)
    facts: np.ndarray  # by span_layout.FACTS
    near: np.ndarray  # a question word within two tokens before / after
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
                np.array([g(f"{wh}:{k}" if k in wh_facts else k, 0.0) for k in FACTS]),
                np.array([g("near_left", 0.0), g("near_right", 0.0)]), w)


def static_scores(n: np.ndarray, facts: np.ndarray, p: Plan) -> np.ndarray:
    """The part of the scores that depends on the spans' own words and the wh-word only."""
    return p.length[np.minimum(n, len(p.length) - 1)] + facts @ p.facts


def column_sums(runs: Runs, columns: np.ndarray) -> np.ndarray:
    """``out[b, r, c]``: the sum of per-token ``columns[:, c]`` over block MAPS[b] of run r."""
    return (runs.maps @ columns).reshape(len(MAPS), len(runs), columns.shape[1])


def allowed(runs: Runs, sums: np.ndarray) -> np.ndarray:
    """Which runs are candidates when the question says the tokens of column 0: none at an edge, and
    at most one inside, only in a run of three words or more (not mostly the question)."""
    inside, edges = sums[0, :, 0], sums[1, :, 0]
    return (edges == 0) & ((inside == 0) | ((inside == 1) & (runs.words >= 3)))


def scores(runs: Runs, sums: np.ndarray, columns: np.ndarray, has_head: bool, has: np.ndarray | None,
           typed, preferred, p: Plan) -> np.ndarray:
    """Every run's score. ``columns``: per token, the question's words (0/1), the head noun (0/1),
    and the question / wh-word / head cosines (0 for a token without one, where ``has`` is False;
    ``has`` None: no token vectors); ``sums``: :func:`column_sums` of them; ``typed``: the character
    spans of the asked kind; ``preferred``: the typed path's choice.

    Why it looks like this: an array operation on a few dozen numbers costs ~2 µs whatever it does,
    so the per-run sums of everything the features count come from one matrix product, and the rest
    is a few dozen operations however many runs there are."""
    w, n = p.w, columns.shape[0]
    inside, _, window, left, near_left, near_right, before, after = sums
    matched = columns[:, 0] > 0
    m = int(matched.sum())
    static, to_question_before, to_question_after = _static(runs, p)
    counted = np.array([w["matched_inside"], 0.0, w["window_matches"] / max(1, m), w["matched_left_share"] / max(1, m),
                        0.0, 0.0, 0.0, 0.0]) @ sums[:, :, 0]  # inside, in the window, left of the run
    s = static + counted + to_question_before * before[:, 0] + to_question_after * after[:, 0]
    s += p.near @ (sums[4:6, :, 0] > 0) + w["log_distance"] * np.min(runs.distance[:, matched], axis=1,
                                                                     initial=np.log1p(n))
    if not m:
        s += w["matched_left_share"] * 0.5
    if has_head:
        s += w["head_inside"] * (inside[:, 1] > 0) + w["head_after"] * after[:, 1]
    start, end = runs.start, runs.end
    if typed:
        s += _typed_terms(runs, tuple(typed), p)
    if preferred:
        s += w["chosen_exact"] * ((start == preferred[0]) & (end == preferred[1]))
        s += w["chosen_overlap"] * ((preferred[0] < end) & (start < preferred[1]))
    if has is None:
        return s
    cos = columns[:, 2:]
    count, inverse, queries = _soft_layout(runs, has)
    maxes = _range_max(np.where(has[:, None], cos, _OFF), queries)  # 3 runs x 3: inside; 3 words before; after
    R = len(runs)
    sides = maxes[R:, 0]
    sides[sides < _OFF / 2] = 0.0  # no word with a cosine there
    distance = np.min(runs.distance[:, has & (cos[:, 0] >= 0.75)], axis=1, initial=np.inf)  # strong anchors
    t = (maxes[:R] @ np.array([w["soft_inside_max"], w["wh_sim_max"], w["head_sim_max"]])
         + inside[:, 2:4] @ np.array([w["soft_inside_mean"], w["wh_sim_mean"]]) * inverse
         + w["soft_left"] * sides[:R] + w["soft_right"] * sides[R:] + w["head_sim_after"] * after[:, 4]
         + w["soft_log_distance"] * np.where(np.isinf(distance), 3.0, distance)
         + w["soft_window"] * (window[:, 2] - inside[:, 2]) / max(1.0, float(cos[:, 0].sum())))
    return s + np.where(count > 0, t, 0.0)  # runs none of whose words has a cosine get no soft terms


def _typed_terms(runs: Runs, typed: tuple[tuple[int, int], ...], p: Plan) -> np.ndarray:
    """Being, overlapping or lying inside a span of the asked kind (the same for every question of
    that kind about the sentence, so kept)."""
    key = (typed, p)
    kept = runs.cache.get(key)
    if kept is None:
        (a, b), start, end, w = np.array(typed).T[:, :, None], runs.start, runs.end, p.w
        kept = runs.cache[key] = (w["typed_exact"] * ((start == a) & (end == b)).any(axis=0)
                                  + w["typed_overlap"] * ((a < end) & (start < b)).any(axis=0)
                                  + w["typed_inside"] * ((a <= start) & (end <= b)).any(axis=0))
    return kept


_OFF = -1e9  # added to a cosine outside the positions a maximum is taken over


def _static(runs: Runs, p: Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per run: the score of its own words and the tokens bounding it when the question says
    neither, and what each bounding token adds when the question says it (kept per wh-word)."""
    kept = runs.cache.get(p)
    if kept is None:
        before, after = p.before[runs.before], p.after[runs.after]
        kept = runs.cache[p] = (static_scores(runs.words, runs.facts, p) + before + after,
                                p.before[QUESTION_WORD] - before, p.after[QUESTION_WORD] - after)
    return kept


def _soft_layout(runs: Runs, has: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Per run, how many of its words have a cosine (``has``) and 1 / max(1, that); and the
    :func:`_range_max` queries for the maxima inside each run and over the 3 tokens before and after
    it (positions shifted by 3 to leave room for padding). The same for every question."""
    key = has.tobytes()
    kept = runs.cache.get(key)
    if kept is None:
        at, i, j = np.arange(len(has)), runs.I, runs.J
        count = (((i[:, None] <= at) & (at < j[:, None])) & has).sum(axis=1)
        first = np.concatenate([i + 3, i, j + 3])
        length = np.concatenate([j - i, np.full(2 * len(i), 3)])
        level = np.log2(np.maximum(length, 1)).astype(np.int64)  # exact for small integers
        kept = runs.cache[key] = (count, 1.0 / np.maximum(count, 1),
                                  (level, first, first + length - (1 << level), int(level.max(initial=0)) + 1))
    return kept


def _range_max(values: np.ndarray, queries: tuple) -> np.ndarray:
    """Maxima of ``values`` rows over ranges (with 3 rows of _OFF padding either side), by a sparse
    table: the max of two overlapping blocks of 2**level rows, one at ``first``, one at ``back``."""
    level, first, back, levels = queries
    n = len(values) + 6
    table = np.full((levels, n, values.shape[1]), _OFF)
    table[0, 3:-3] = values
    for lv in range(1, levels):
        half = 1 << (lv - 1)
        table[lv, :n - half] = np.maximum(table[lv - 1, :-half], table[lv - 1, half:])
    return np.maximum(table[level, first], table[level, back])
