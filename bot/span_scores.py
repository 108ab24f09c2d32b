"""The span extractor's linear scores for all candidates of a sentence at once (numpy).

Why: ``bot.extract.features`` spells every feature out as a named dict entry, which is what fitting
and reading the model need, but a sentence has ~50 candidates and building those dicts made span
extraction cost as much as embedding the question (issue 7 wants everything after the embedding to be
small). Here per-token facts become arrays once per sentence and every candidate's score is summed
from them with the same weights. ``tests/test_short_answers.py`` checks that both give the same scores.
"""

from __future__ import annotations

import numpy as np

from .lexical import STOPWORDS, word_terms

MAX_LEN = 12  # longer than any candidate (extract.MAX_WORDS words); the length weights stop at 6 anyway


def linear_scores(toks, spans, wh: str, head: str | None, typed, preferred, sims, weights: dict[str, float],
                  roles: list[str], reason: frozenset[str], verbish) -> np.ndarray:
    """``sum(weights[k] * v for k, v in features(...).items())`` for every span (see bot/extract.py)."""
    w = weights.get
    n_tok = len(toks)
    I = np.array([i for i, _ in spans])  # noqa: E741 - token ranges [I, J)
    J = np.array([j for _, j in spans])
    low = [t.text.lower() for t in toks]
    names = ("word", "matched", "caps", "digit", "stop", "verb", "and", "head")
    rows = [(True, t.matched, t.text[0].isupper() and t.start > 0, any(ch.isdigit() for ch in t.text),
             lo in STOPWORDS, verbish(t.text), lo == "and", bool(head) and head in word_terms(t.text))
            if t.word else (False,) * 8 for t, lo in zip(toks, low)]
    table = np.array(rows, dtype=bool).reshape(n_tok, len(names))
    column = {name: k for k, name in enumerate(names)}
    flags = {name: table[:, k] for name, k in column.items()}
    word = flags["word"]
    prefix = np.vstack([np.zeros((1, len(names)), np.int64), np.cumsum(table, axis=0, dtype=np.int64)])
    counts = prefix[J] - prefix[I]  # spans x flags

    def count(name: str, lo: np.ndarray | None = None) -> np.ndarray:
        k = column[name]
        return counts[:, k] if lo is None else prefix[J, k] - prefix[lo, k]

    n = count("word")
    next_word = np.full(n_tok + 1, n_tok)
    for k in range(n_tok - 1, -1, -1):
        next_word[k] = k if word[k] else next_word[k + 1]
    first = next_word[I]
    length = np.array([w(f"len{min(k, 6)}", 0.0) + w(f"{wh}:len{min(k, 4)}", 0.0) for k in range(MAX_LEN + 1)])
    s = length[np.minimum(n, MAX_LEN)]
    s += _anchor_terms(np.flatnonzero([t.matched for t in toks]), I, J, n_tok, w)
    s += w("matched_inside", 0.0) * count("matched")
    role_before = np.array([w(f"before:{r}", 0.0) for r in ["edge", *roles]])  # index i: the token before i
    role_after = np.array([w(f"after:{r}", 0.0) for r in [*roles, "edge"]])  # index j: the token at j
    s += role_before[I] + role_after[J]
    reason_before = np.array([k > 0 and bool(word[k - 1]) and low[k - 1] in reason for k in range(n_tok + 1)])
    s += w(f"{wh}:after_reason_word", 0.0) * reason_before[I]
    caps = count("caps")
    s += w(f"{wh}:capitalised", 0.0) * caps / n + w(f"{wh}:all_capitalised", 0.0) * (caps == n)
    s += w(f"{wh}:digit", 0.0) * (count("digit") > 0) + w("inner_function_words", 0.0) * count("stop") / n
    s += w("inner_verbish", 0.0) * (count("verb", first + 1) > 0)
    s += w(f"{wh}:first_verbish", 0.0) * flags["verb"][first] + w("inner_and", 0.0) * (count("and") > 0)
    if head:
        head_at = np.append(flags["head"], False)
        s += w("head_inside", 0.0) * (count("head") > 0) + w("head_after", 0.0) * head_at[J]
    s += w("sentence_start", 0.0) * (I == 0)
    start = np.array([t.start for t in toks])[I]
    end = np.array([t.end for t in toks])[J - 1]
    if typed:
        s += w("typed_exact", 0.0) * np.any([(start == a) & (end == b) for a, b in typed], axis=0)
        s += w("typed_overlap", 0.0) * np.any([(a < end) & (start < b) for a, b in typed], axis=0)
        s += w("typed_inside", 0.0) * np.any([(a <= start) & (end <= b) for a, b in typed], axis=0)
    if preferred:
        s += w("chosen_exact", 0.0) * ((start == preferred[0]) & (end == preferred[1]))
        s += w("chosen_overlap", 0.0) * ((preferred[0] < end) & (start < preferred[1]))
    if sims is not None:
        s += _soft_terms(toks, sims, I, J, wh, w)
    return s


def _anchor_terms(matched: np.ndarray, I: np.ndarray, J: np.ndarray, n_tok: int, w) -> np.ndarray:  # noqa: E741
    """Distance to, nearness of, and counts of the question's words around each span."""
    m = len(matched)
    cut, right_at = np.searchsorted(matched, I), np.searchsorted(matched, J)
    padded = np.concatenate([[-(10 ** 9)], matched, [10 ** 9]])  # sentinels: no anchor on that side
    left_gap = I - padded[cut]  # huge when there is no anchor to the left
    right_gap = padded[right_at + 1] - J + 1
    distance = np.minimum(left_gap, right_gap)
    distance = np.where(distance > 10 ** 8, n_tok, distance)
    window = np.searchsorted(matched, J + 6) - np.searchsorted(matched, I - 6)
    return (w("log_distance", 0.0) * np.log1p(distance) + w("near_left", 0.0) * (left_gap <= 2)
            + w("near_right", 0.0) * (right_gap - 1 <= 1)
            + w("matched_left_share", 0.0) * (cut / m if m else np.full(len(I), 0.5))
            + w("window_matches", 0.0) * window / max(1, m))


def _soft_terms(toks, sims, I: np.ndarray, J: np.ndarray, wh: str, w) -> np.ndarray:  # noqa: E741
    """The soft-anchor features of ``extract._soft_features`` for every span (0 for a span none of
    whose words has a similarity)."""
    n_tok = len(toks)
    q = np.array([sims.question.get(t.start, np.nan) if t.word else np.nan for t in toks] + [np.nan])
    has = ~np.isnan(q)
    q0 = np.where(has, q, 0.0)
    wh_s = np.array([sims.wh.get(t.start, 0.0) for t in toks] + [0.0])
    head_s = np.array([sims.head.get(t.start, 0.0) for t in toks] + [0.0])
    head_after = np.array([sims.head.get(t.start, 0.0) if t.word else 0.0 for t in toks] + [0.0])
    width = int((J - I).max())
    at = I[:, None] + np.arange(width)[None, :]
    inside = (at < J[:, None]) & has[np.minimum(at, n_tok)]
    at = np.minimum(at, n_tok)
    k = inside.sum(axis=1)
    some = k > 0
    k1 = np.maximum(k, 1)

    def inside_max(values: np.ndarray) -> np.ndarray:
        return np.where(some, np.where(inside, values[at], -np.inf).max(axis=1), 0.0)

    def near_max(offsets: np.ndarray) -> np.ndarray:  # best similarity among words at these positions
        pos = offsets
        ok = (pos >= 0) & (pos < n_tok)
        found = np.where(ok & has[np.clip(pos, 0, n_tok)], q[np.clip(pos, 0, n_tok)], -np.inf).max(axis=1)
        return np.where(np.isinf(found), 0.0, found)

    s = w("soft_inside_mean", 0.0) * (np.where(inside, q0[at], 0.0).sum(axis=1) / k1)
    s += w("soft_inside_max", 0.0) * inside_max(q0)
    s += w("soft_left", 0.0) * near_max(I[:, None] - 3 + np.arange(3)[None, :])
    s += w("soft_right", 0.0) * near_max(J[:, None] + np.arange(3)[None, :])
    strong = np.flatnonzero(has[:n_tok] & (q0[:n_tok] >= 0.75))
    if len(strong):
        padded = np.concatenate([[-(10 ** 9)], strong, [10 ** 9]])
        gap = np.minimum(I - padded[np.searchsorted(strong, I)], padded[np.searchsorted(strong, J) + 1] - J + 1)
        s += w("soft_log_distance", 0.0) * np.where(gap > 10 ** 8, 3.0, np.log1p(np.minimum(gap, 10 ** 8)))
    else:
        s += w("soft_log_distance", 0.0) * 3.0
    total = max(1.0, float(q0.sum()))
    prefix = np.concatenate([[0.0], np.cumsum(q0[:n_tok])])
    near = prefix[np.minimum(J + 6, n_tok)] - prefix[np.maximum(I - 6, 0)] - (prefix[J] - prefix[I])
    s += w("soft_window", 0.0) * near / total
    s += w(f"{wh}:wh_sim_max", 0.0) * inside_max(wh_s)
    s += w(f"{wh}:wh_sim_mean", 0.0) * np.where(inside, wh_s[at], 0.0).sum(axis=1) / k1
    s += w("head_sim_max", 0.0) * inside_max(head_s) + w("head_sim_after", 0.0) * head_after[J]
    return np.where(some, s, 0.0)
