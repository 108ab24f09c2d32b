"""The lexical signals of many sentences at once: every sentence for corpora small enough that every
question scores every sentence (up to ``retrieval.EXACT_LIMIT``, :class:`TermArrays`), the candidates
above it (:func:`candidate_signals`).

Per question term, three boolean arrays over all sentences are kept once found: the sentence has the
term (``own``), it or a neighbour in its paragraph has it (``near``), its paragraph has it (``para``);
per consecutive term pair, whether the sentence has the pair. A question's coverage, window,
paragraph, entity and bigram signals are then a few array operations per question term, instead of
set lookups per sentence and term: on the bundled 12-sentence article the per-sentence loop was most
of ``Retriever.features``. The sums run in the question's term order with float64, exactly as the
per-sentence definitions do, so the numbers are the same (tests/test_scale_paths.py checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .arrays import flat_ranges
from .lexical import LexicalIndex

KEPT_TERMS = 512  # terms (and pairs) whose arrays are kept; past that the cache starts afresh


class TermArrays:
    """Per-term sentence incidence arrays over a whole (small) corpus, built on a term's first use."""

    def __init__(self, lexical: LexicalIndex, paragraph_keys: Sequence[tuple[int, int]]) -> None:
        """``paragraph_keys[g]``: (article, paragraph) of sentence ``g``; a paragraph's sentences need not
        be consecutive."""
        self._lexical = lexical
        self._n = len(paragraph_keys)
        _, self._paragraph = np.unique(np.array(paragraph_keys, dtype=np.int64).reshape(-1, 2), axis=0,
                                       return_inverse=True)
        self._paragraph = self._paragraph.reshape(-1)
        self._same_as_previous = np.zeros(self._n, dtype=bool)  # sentence g-1 is in g's paragraph
        self._same_as_previous[1:] = self._paragraph[1:] == self._paragraph[:-1]
        self._terms: dict[str, tuple[np.ndarray, ...]] = {}  # n booleans each: own, near, paragraph
        self._pairs: dict[tuple[str, str], np.ndarray] = {}
        self._none = np.zeros(self._n, dtype=bool)  # the padding row of ``signals``

    def signals(self, idf: dict[str, float], total: float, entities: Sequence[str],
                pairs: set[tuple[str, str]], rows: np.ndarray | slice) -> np.ndarray:
        """Rows coverage, window, paragraph (idf share of the question's terms in the sentence, its
        paragraph neighbours, its paragraph), entity (share of the question's names and numbers in the
        sentence; 1 when it names none) and bigram (share of the question's consecutive term pairs
        found consecutive), for the sentences ``rows`` (``slice(None)``: every sentence, no gather).

        All five in one sum: slot ``k`` holds the k-th term's three rows (weight its idf), the k-th
        name's own row and the k-th pair's row (weight 1), slots past a list's end an all-False row.
        Summed over the slots (axis 0: slot after slot, the question's term order, as the definition
        adds; a padding slot adds 0.0, which changes no sum), then divided: the same numbers as
        summing each signal alone (the name and pair sums are exact counts in any order)."""
        self._learn([*idf, *entities])
        if pairs:
            self._learn_pairs(pairs)
        terms, names, found_pairs = [self._terms[t] for t in idf], [self._terms[t][0] for t in entities], \
            [self._pairs[p] for p in pairs]
        none, slots = self._none, max(len(terms), len(names), len(found_pairs), 1)
        stacked = []
        for k in range(slots):
            stacked.extend(terms[k] if k < len(terms) else (none, none, none))
            stacked.append(names[k] if k < len(names) else none)
            stacked.append(found_pairs[k] if k < len(found_pairs) else none)
        found = np.array(stacked).reshape(slots, 5, self._n)
        weights = np.array([[w, w, w, 1.0, 1.0] for w in idf.values()]
                           + [[0.0, 0.0, 0.0, 1.0, 1.0]] * (slots - len(idf)))
        out = np.where(found[:, :, rows], weights[:, :, None], 0.0).sum(axis=0)
        out /= np.array([[total], [total], [total], [len(names) or 1], [len(found_pairs) or 1]], dtype=np.float64)
        if not names:
            out[3] = 1.0
        return out

    def _learn(self, names: Sequence[str]) -> None:
        missing = list(dict.fromkeys(t for t in names if t not in self._terms))
        if not missing:
            return
        if len(self._terms) + len(missing) > KEPT_TERMS:  # start afresh, keeping nothing this question needs
            self._terms.clear()
            missing = list(dict.fromkeys(names))
        present = self._lexical.presence(np.arange(self._n), missing)
        counts = np.zeros(int(self._paragraph.max(initial=-1)) + 1, dtype=np.int64)
        for j, term in enumerate(missing):
            own = np.ascontiguousarray(present[:, j])
            near = own.copy()
            near[1:] |= own[:-1] & self._same_as_previous[1:]
            near[:-1] |= own[1:] & self._same_as_previous[1:]
            counts[:] = 0
            np.add.at(counts, self._paragraph[own], 1)
            self._terms[term] = (own, near, counts[self._paragraph] > 0)

    def _learn_pairs(self, pairs: set[tuple[str, str]]) -> None:
        missing = [p for p in pairs if p not in self._pairs]
        if not missing:
            return
        if len(self._pairs) + len(missing) > KEPT_TERMS:
            self._pairs.clear()
            missing = list(pairs)
        everything = np.arange(self._n)
        for pair in missing:
            self._pairs[pair] = self._lexical.pair_counts(everything, {pair}) > 0


def candidate_signals(lexical: LexicalIndex, runs: tuple[np.ndarray, np.ndarray, np.ndarray], candidates: np.ndarray,
                      idf: dict[str, float], total: float, entities: Sequence[str],
                      pairs: set[tuple[str, str]]) -> np.ndarray:
    """Above ``retrieval.EXACT_LIMIT``: rows coverage, window, paragraph, entity and bigram of the candidate
    sentences, exactly as ``Retriever._signals_of`` defines them, from the lexical
    index's term arrays (candidates are new sentences every query; building their term sets one by one
    took most of a query's time at a million sentences). ``runs``: ``CorpusIndex.paragraph_runs``, each
    paragraph a run of consecutive sentences. Same sums in the same order, so the same numbers."""
    run, starts, ends = runs
    first, last = starts[run[candidates]], ends[run[candidates]]
    counts = last - first
    block = np.cumsum(counts) - counts  # where each candidate's paragraph starts in ``rows``
    rows = flat_ranges(first, last)
    names = list(idf)
    present = lexical.presence(rows, names)
    at = block + candidates - first
    own, near = present[at], present[at].copy()
    for step, inside in ((-1, candidates - 1 >= first), (1, candidates + 1 < last)):
        near[inside] |= present[at[inside] + step]  # the neighbours in the same paragraph
    para = np.logical_or.reduceat(present, block, axis=0)

    def share(found: np.ndarray) -> np.ndarray:
        out = np.zeros(len(candidates))
        for j, name in enumerate(names):
            out = out + np.where(found[:, j], idf[name], 0.0)
        return out / total

    entity = (lexical.presence(candidates, entities).sum(axis=1) / len(entities)
              if entities else np.ones(len(candidates)))
    bigram = lexical.pair_counts(candidates, pairs) / len(pairs) if pairs else np.zeros(len(candidates))
    return np.array([share(own), share(near), share(para), entity, bigram], dtype=np.float64)
