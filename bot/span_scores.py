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

from .span_layout import FACTS, MAPS, MAX_WORDS, QUESTION_WORD, ROLES, Layout, Runs



@dataclass(frozen=True, eq=False)
class Plan:
    """The weights arranged for one wh-word: tables the scorer gathers from, and scalars."""

    length: np.ndarray  # by word count
    before: np.ndarray  # by ROLES index of the token before the span (last entry: the sentence edge)
    after: np.ndarray  # by ROLES index of the token after it (last entry: the sentence edge)
    facts: np.ndarray  # by span_layout.FACTS
    w: dict[str, float]  # the other weights, wh-specific ones under their plain name
    soft_max: np.ndarray  # of the question / wh-word / head cosines' maxima inside a run
    soft_mean: np.ndarray  # of the question / wh-word cosines' means inside it
    soft_sides: np.ndarray  # of the best question cosine among the 3 words before / after it


def plan(weights: dict[str, float], wh: str, shape: str | None = None) -> Plan:
    """``weights`` (bot/extract.py WEIGHTS) for questions asking ``wh`` with this ``shape``."""
    g = weights.get
    plain = ("log_distance", "near_left", "near_right", "matched_left_share", "window_matches", "matched_inside",
             "head_inside", "head_after", "typed_exact", "typed_overlap", "typed_inside", "chosen_exact",
             "chosen_overlap", "soft_inside_mean", "soft_inside_max", "soft_left", "soft_right", "soft_log_distance",
             "soft_window", "head_sim_max", "head_sim_after")
    w = {k: g(k, 0.0) for k in plain} | {k: g(f"{wh}:{k}", 0.0) for k in ("wh_sim_max", "wh_sim_mean")}
    if shape:  # the question's shape crossed with the side its words are on (extract.question_shape)
        for k, name in (("near_left", "near_left"), ("near_right", "near_right"), ("matched_left_share", "left_share")):
            w[k] += g(f"{shape}:{name}", 0.0)
    wh_facts = {"after_reason_word", "capitalised", "all_capitalised", "digit", "first_verbish"}
    return Plan(np.array([g(f"len{min(k, 6)}", 0.0) + g(f"{wh}:len{min(k, 4)}", 0.0) for k in range(MAX_WORDS + 3)]),
                np.array([g(f"before:{r}", 0.0) for r in ROLES] + [g("before:edge", 0.0)]),
                np.array([g(f"after:{r}", 0.0) for r in ROLES] + [g("after:edge", 0.0)]),
                np.array([g(f"{wh}:{k}" if k in wh_facts else k, 0.0) for k in FACTS]), w,
                np.array([w["soft_inside_max"], w["wh_sim_max"], w["head_sim_max"]]),
                np.array([w["soft_inside_mean"], w["wh_sim_mean"]]), np.array([w["soft_left"], w["soft_right"]]))


def static_scores(n: np.ndarray, facts: np.ndarray, p: Plan) -> np.ndarray:
    """The part of the scores that depends on the spans' own words and the wh-word only."""
    return p.length[np.minimum(n, len(p.length) - 1)] + facts @ p.facts


COLUMNS = ("matched", "head", "question_cos", "wh_cos", "head_cos", "to_question_before", "to_question_after")


def columns(lay: Layout, matched: np.ndarray, head: list[bool] | None, p: Plan) -> np.ndarray:
    """Per token, the COLUMNS the features count: the question's words (0/1), the head noun (0/1),
    the three cosines (0 here; the caller writes them), and what a question word bounding a run adds
    to its role's weight (before / after)."""
    shift = lay.cache.get(p)
    if shift is None:  # per token: the question-word role's weight minus the token's own role's
        shift = lay.cache[p] = np.column_stack([p.before[QUESTION_WORD] - p.before[lay.roles],
                                                p.after[QUESTION_WORD] - p.after[lay.roles]])
    out = np.zeros((len(lay.texts), len(COLUMNS)))
    out[:, 0] = matched
    if head is not None:
        out[:, 1] = head
    out[:, 5:] = shift * matched[:, None]
    return out


def column_sums(runs: Runs, columns: np.ndarray) -> np.ndarray:
    """``out[r, b, c]``: the sum of per-token ``columns[:, c]`` over block MAPS[b] of run r."""
    return (runs.maps @ columns).reshape(len(runs), len(MAPS), columns.shape[1])


def allowed(runs: Runs, sums: np.ndarray) -> np.ndarray:
    """Which runs are candidates when the question says the tokens of column 0: none at an edge, and
    at most one inside, only in a run of three words or more (not mostly the question)."""
    return sums[:, 1, 0] <= runs.limit  # "members": words inside + 100 per edge word


def scores(runs: Runs, sums: np.ndarray, columns: np.ndarray, has: np.ndarray | None, typed, preferred,
           p: Plan) -> np.ndarray:
    """Every run's score. ``columns``: per token, the COLUMNS (cosines 0 for a token without them,
    where ``has`` is False; ``has`` None: no token vectors); ``sums``: :func:`column_sums` of them;
    ``typed``: the character spans of the asked kind; ``preferred``: the typed path's choice.

    Why it looks like this: an array operation on a few dozen numbers costs ~2 µs whatever it does,
    so the per-run sums of everything the features count come from one matrix product, their
    weighted total from one more (``weights``: blocks x columns, one layer for the terms that are
    not soft, one for the soft ones), and the rest is a few operations however many runs there are."""
    w, n, R = p.w, columns.shape[0], len(runs)
    matched = columns[:, 0].nonzero()[0]
    m = len(matched)
    np.minimum(sums[:, 4:6, 0], 1, out=sums[:, 4:6, 0])  # a question word near: yes or no
    np.minimum(sums[:, 0, 1], 1, out=sums[:, 0, 1])  # the head noun inside: yes or no
    total = max(1.0, float(columns[:, 2].sum())) if has is not None else 1.0
    weights = np.zeros((len(MAPS), len(COLUMNS), 2))
    weights[0, 0, 0], weights[2, 0, 0] = w["matched_inside"], w["window_matches"] / max(1, m)
    weights[3, 0, 0], weights[4, 0, 0], weights[5, 0, 0] = w["matched_left_share"] / max(1, m), w["near_left"], \
        w["near_right"]
    weights[6, 5, 0] = weights[7, 6, 0] = 1.0
    weights[0, 1, 0], weights[7, 1, 0] = w["head_inside"], w["head_after"]
    weights[0, 2, 1], weights[2, 2, 1], weights[7, 4, 1] = -w["soft_window"] / total, w["soft_window"] / total, \
        w["head_sim_after"]
    summed = sums.reshape(R, -1) @ weights.reshape(-1, 2)  # runs x (not soft, soft)
    nearest = np.minimum.reduce(runs.distance[:, matched], axis=1, initial=np.log1p(n))  # np.min, no wrapper
    s = _static(runs, p) + summed[:, 0] + w["log_distance"] * nearest
    if not m:
        s += w["matched_left_share"] * 0.5
    if typed:
        s += _typed_terms(runs, tuple(typed), p)
    if preferred:
        s += _chosen_terms(runs, preferred, p)
    if has is None:
        return s
    cos = columns[:, 2:5]
    count, inverse, flat, offsets = _soft_layout(runs, has)
    maxes = np.maximum.reduceat(np.concatenate((cos, _OFF_ROW))[flat], offsets)  # inside; 3 before; 3 after
    sides = maxes[R:, 0]
    sides[sides < _OFF / 2] = 0.0  # no word with a cosine there
    distance = np.minimum.reduce(runs.distance[:, (has & (cos[:, 0] >= 0.75)).nonzero()[0]], axis=1, initial=np.inf)
    t = (summed[:, 1] + maxes[:R] @ p.soft_max + sums[:, 0, 2:4] @ p.soft_mean * inverse
         + p.soft_sides @ sides.reshape(2, R)
         + w["soft_log_distance"] * np.where(np.isinf(distance), 3.0, distance))
    return s + np.where(count > 0, t, 0.0)  # runs none of whose words has a cosine get no soft terms


def _chosen_terms(runs: Runs, chosen: tuple[int, int], p: Plan) -> np.ndarray:
    """Being or overlapping the typed path's choice (kept per sentence and choice, like the typed spans)."""
    key = ("chosen", chosen, p)
    kept = runs.cache.get(key)
    if kept is None:
        start, end, w = runs.start, runs.end, p.w
        kept = runs.cache[key] = (w["chosen_exact"] * ((start == chosen[0]) & (end == chosen[1]))
                                  + w["chosen_overlap"] * ((chosen[0] < end) & (start < chosen[1])))
    return kept


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
_OFF_ROW = np.full((1, 3), _OFF)
_OFF_ROW.flags.writeable = False


def _static(runs: Runs, p: Plan) -> np.ndarray:
    """Per run: the score of its own words and the tokens bounding it when the question says
    neither (kept per wh-word)."""
    kept = runs.cache.get(p)
    if kept is None:
        kept = runs.cache[p] = static_scores(runs.words, runs.facts, p) + p.before[runs.before] + p.after[runs.after]
    return kept


def _soft_layout(runs: Runs, has: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per run, how many of its words have cosines (``has``) and 1 / max(1, that); and, for
    ``np.maximum.reduceat``, the tokens with cosines inside each run, then among the 3 tokens before
    each run, then the 3 after, each list led by a padding row (index len(has)). The same for every
    question about the sentence."""
    key = has.tobytes()
    kept = runs.cache.get(key)
    if kept is None:
        n = len(has)
        ranges = [*zip(runs.I, runs.J), *((i - 3, i) for i in runs.I), *((j, j + 3) for j in runs.J)]
        lists = [[n, *(k for k in range(max(a, 0), min(b, n)) if has[k])] for a, b in ranges]
        count = np.array([len(x) - 1 for x in lists[:len(runs)]], np.int64)
        kept = runs.cache[key] = (count, 1.0 / np.maximum(count, 1), np.array([k for x in lists for k in x], np.int64),
                                  np.cumsum([0] + [len(x) for x in lists[:-1]]).astype(np.int64))
    return kept
