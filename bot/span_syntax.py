"""The span extractor's syntax features, from the sentence's dependency parse (bot/syntax.py).

What a candidate span is in the parse: a whole noun chunk, inside one, or cutting one; the coarse
tags of its first and last word and of the words around it; the arc label of its root (the word
whose head lies outside the span) and that head's tag; whether it is a whole subtree (a
constituent) or one less its determiner; and, per question, how far its root is in the tree from
the nearest word the question says, the arcs walked up to get there, and whether its head is such a
word ("the object of the verb the question names"). The weights were fitted with the others on
split A of the SQuAD sample (bench/short_answers.py); docs/quality.md has the held-out effect.

Two ways to the same numbers, as for the other features: ``named`` gives the per-candidate dicts
fitting reads; ``scores`` sums the weighted features for all candidates at once from per-sentence
arrays kept in the runs' cache. tests/test_short_answers.py checks they agree.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from functools import lru_cache
from dataclasses import dataclass, field

import numpy as np

from .span_layout import Layout, Runs
from .syntax import Parse

_NONE = 1 << 30  # "no word of the question outside the run" (beats every tree distance)
_FAR = 20  # tree distance between words of two parse trees (spaCy may split a sentence in two)
_WH, _WH_SHAPE = 1, 2  # a name crossed with the wh-word; with the wh-word and the question's shape


@dataclass(frozen=True, eq=False)
class RunSyntax:
    """One sentence's runs in its parse: the question-independent features (``static``: runs x
    ``names``, crossed per ``crossing``) and what the question-dependent ones need."""

    names: tuple[str, ...]
    crossing: tuple[int, ...]
    static: np.ndarray
    has: np.ndarray  # runs holding at least one parse token
    head: np.ndarray  # per run: its root's head, or the parse's length when that lies inside it (or none)
    reach: np.ndarray  # runs x parse tokens: arcs from the run's root to the token; _NONE inside it
    path: np.ndarray  # runs x parse tokens: ``paths`` index of the arcs from the root up to where the token hangs
    paths: tuple[str, ...]
    token_of: np.ndarray  # per layout token: the parse token holding its first character
    rows: np.ndarray  # 0 .. runs - 1
    kept: dict = field(default_factory=dict)  # per wh-word and shape: see scores()


def run_syntax(lay: Layout, runs: Runs, parse: Parse) -> RunSyntax:
    """:class:`RunSyntax` of ``runs`` (made once per sentence and parse, kept in the runs' cache)."""
    key = ("syntax", parse)
    if key not in runs.cache:
        runs.cache[key] = _build(lay, runs, parse)
    return runs.cache[key]


@lru_cache(maxsize=512)
def _tree(parse: Parse) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], list[int], list[int]]:
    """Per pair of the parse's words (x, y): arcs between them (_FAR across two trees) and the
    ``paths`` index of the walk up from x to where y hangs (at most two arc labels, then how far
    down); and each word's subtree extent (lo, hi). Array operations over the n x n ancestor
    table, one pass per tree depth: a Python walk per pair cost ~4 ms for a 30-word sentence on a
    question's path."""
    n, heads = len(parse), parse.heads
    chain = np.full((50, n), -1, np.int64)  # chain[d, x]: x's ancestor d arcs up (-1 above the root)
    at, alive = np.arange(n), np.ones(n, bool)
    for d in range(50):
        chain[d, alive] = at[alive]
        up = heads[at]
        alive &= up != at
        at = up
        if not alive.any():
            break
    chain = chain[:d + 1]
    steps = np.full((n, n), _NONE, np.int64)  # steps[x, a]: arcs from x up to a, when a is x or above it
    for d, row in enumerate(chain):
        steps[np.flatnonzero(row >= 0), row[row >= 0]] = d
    above = steps < _NONE
    rise = np.full((n, n), _NONE, np.int64)  # x up to the lowest ancestor it shares with y
    for d, row in enumerate(chain):
        ok = np.flatnonzero(row >= 0)
        met = np.zeros((n, n), bool)
        met[ok] = above[:, row[ok]].T
        rise[met & (rise == _NONE)] = d
    word = np.arange(n)
    lowest = chain[np.minimum(rise, len(chain) - 1), word[:, None]]
    fall = steps[word[None, :], np.maximum(lowest, 0)]  # and down from there to y
    meet = rise < _NONE
    distance = np.where(meet, rise + fall, _FAR)
    labels = np.minimum(np.where(meet, rise, above.sum(axis=1)[:, None]), 2)  # arc labels said: 0-2
    down = np.where(meet, np.minimum(fall, 3), 3)
    codes = (np.arange(n)[:, None] * 3 + labels) * 4 + down
    deps = [(parse.dep[x], parse.dep[int(heads[x])]) for x in range(n)]
    found, inverse = np.unique(codes, return_inverse=True)
    paths = tuple(">".join(deps[c // 12][:c // 4 % 3]) + f"|{c % 4}" for c in found.tolist())
    lo = np.where(above, word[:, None], n).min(axis=0).tolist()
    hi = np.where(above, word[:, None], -1).max(axis=0).tolist()
    return distance, inverse.reshape(n, n), paths, lo, hi


def _build(lay: Layout, runs: Runs, parse: Parse) -> RunSyntax:
    n, starts, ends, heads = len(parse), parse.starts.tolist(), parse.ends.tolist(), parse.heads.tolist()
    distance, path, paths, lo, hi = _tree(parse)
    names: dict[tuple[str, int], int] = {}
    cells: list[tuple[int, int, float]] = []

    def put(row: int, name: str, value: float = 1.0, crossing: int = 0) -> None:
        cells.append((row, names.setdefault((name, crossing), len(names)), value))

    R = len(runs)
    has, root, head = np.zeros(R, bool), np.zeros(R, np.int64), np.full(R, n, np.int64)
    inside = np.ones((R, n), bool)
    for row, (s, e) in enumerate(zip(runs.start.tolist(), runs.end.tolist())):
        for a, b in parse.chunks:
            if (a, b) == (s, e):
                put(row, "chunk_exact")
            elif a <= s and e <= b:
                put(row, "in_chunk")
            elif a < e and s < b and not (s <= a and b <= e):
                put(row, "cuts_chunk")
        ks = range(bisect_left(starts, s), bisect_left(starts, e))  # words starting inside the run
        if not ks:
            continue
        has[row], inside[row] = True, False
        inside[row, ks] = True
        put(row, f"first_pos:{parse.pos[ks[0]]}", crossing=_WH)
        put(row, f"last_pos:{parse.pos[ks[-1]]}", crossing=_WH)
        if ks[0] > 0:
            put(row, f"before_pos:{parse.pos[ks[0] - 1]}")
        if ks[-1] + 1 < n:
            put(row, f"after_pos:{parse.pos[ks[-1] + 1]}")
        kset = set(ks)
        roots = [k for k in ks if heads[k] not in kset or heads[k] == k]
        put(row, "dep_roots", float(len(roots)))
        r = roots[0]
        root[row] = r
        if heads[r] not in kset:
            head[row] = heads[r]
        put(row, f"root_dep:{parse.dep[r]}", crossing=_WH_SHAPE)
        if (starts[lo[r]], ends[hi[r]]) == (s, e):
            put(row, "subtree_exact")
        else:
            first = lo[r]
            while first < hi[r] and parse.pos[first] in ("DET", "PUNCT"):
                first += 1
            if (starts[first], ends[hi[r]]) == (s, e):
                put(row, "subtree_nodet")
            put(row, "subtree_cover", len(ks) / (hi[r] - lo[r] + 1))
        put(row, f"root_head_pos:{parse.pos[heads[r]]}", crossing=_WH)
    static = np.zeros((R, len(names)))
    for row, column, value in cells:
        static[row, column] = value
    token_of = np.maximum(np.searchsorted(parse.starts, lay.starts, side="right") - 1, 0)
    return RunSyntax(tuple(name for name, _ in names), tuple(c for _, c in names), static, has, head,
                     np.where(inside, _NONE, distance[root]), path[root], paths, token_of, np.arange(R))


def _weight(weights: dict[str, float], name: str, crossing: int, wh: str, shape: str | None) -> float:
    if crossing == 0:
        return weights.get(name, 0.0)
    w = weights.get(f"{wh}:{name}", 0.0)
    return w + weights.get(f"{shape}:{name}", 0.0) if crossing == _WH_SHAPE and shape else w


def _nearest(syn: RunSyntax, matched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per run, the word the question says that is nearest its root in the tree, outside the run
    (the first such word when none is: then ``reach`` says _NONE there); and which words the
    question says (one more slot, never said, for runs whose head is inside them)."""
    said = np.zeros(syn.reach.shape[1] + 1, bool)
    if not len(matched):
        return np.zeros(len(syn.rows), np.int64), said
    tokens = syn.token_of[matched]  # ascending: ties go to the first word, as in named()
    said[tokens] = True
    return tokens[syn.reach[:, tokens].argmin(axis=1)], said


def named(syn: RunSyntax, matched: np.ndarray, wh: str, shape: str | None) -> list[dict[str, float]]:
    """Every run's syntax features by name (what fitting reads); ``matched``: layout token indexes
    the question says."""
    nearest, said = _nearest(syn, matched)
    far, path, head_said = syn.reach[syn.rows, nearest], syn.path[syn.rows, nearest], said[syn.head]
    some = (far < _NONE) & bool(len(matched))
    out = []
    for row in range(len(syn.has)):
        f: dict[str, float] = {}
        for column in np.flatnonzero(syn.static[row]).tolist():
            name, crossing, value = syn.names[column], syn.crossing[column], float(syn.static[row, column])
            if crossing == 0:
                f[name] = value
            else:
                f[f"{wh}:{name}"] = value
                if crossing == _WH_SHAPE and shape:
                    f[f"{shape}:{name}"] = value
        if syn.has[row]:
            f["root_head_matched"] = float(head_said[row])
            f["dep_log_dist"] = math.log1p(int(far[row])) if some[row] else 3.0
            if some[row]:
                label = syn.paths[int(path[row])]
                f[f"path:{label}"] = 1.0
        out.append(f)
    return out


def scores(syn: RunSyntax, matched: np.ndarray, weights: dict[str, float], wh: str, shape: str | None) -> np.ndarray:
    """Every run's weighted syntax features (the same sums as :func:`named`, all runs at once).

    Per wh-word and shape, kept: the static scores, and for every (run, word) what the distance
    and path terms add when that word is the nearest said one (the default where it is inside the
    run), so a question costs a gather, an argmin and two lookups."""
    kept = syn.kept.get((wh, shape))
    if kept is None:
        w = np.array([_weight(weights, name, c, wh, shape) for name, c in zip(syn.names, syn.crossing)])
        by_path = np.array([weights.get(f"path:{p}", 0.0) for p in syn.paths] or [0.0])
        w_dist = weights.get("dep_log_dist", 0.0)
        default = np.where(syn.has, w_dist * 3.0, 0.0)[:, None]
        near = w_dist * np.log1p(np.minimum(syn.reach, _FAR)) + by_path[syn.path]
        kept = syn.kept[(wh, shape)] = (syn.static @ w if len(w) else np.zeros(len(syn.has)),
                                        np.where(syn.reach < _NONE, near, default), default[:, 0],
                                        weights.get("root_head_matched", 0.0))
    static, near, default, w_head = kept
    if not len(matched):
        return static + default
    nearest, said = _nearest(syn, matched)
    return static + near[syn.rows, nearest] + w_head * said[syn.head]
