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
        self._terms: dict[str, np.ndarray] = {}  # (3, n) booleans: own, near, paragraph
        self._pairs: dict[tuple[str, str], np.ndarray] = {}

    def signals(self, idf: dict[str, float], total: float, entities: Sequence[str],
                pairs: set[tuple[str, str]], rows: np.ndarray | slice) -> tuple[np.ndarray, ...]:
        """coverage, window, paragraph (idf share of the question's terms in the sentence, its
        paragraph neighbours, its paragraph), entity (share of the question's names and numbers in the
        sentence; 1 when it names none) and bigram (share of the question's consecutive term pairs
        found consecutive), for the sentences ``rows`` (``slice(None)``: every sentence, no gather)."""
        self._learn([*idf, *entities])
        every = isinstance(rows, slice)
        size = len(range(self._n)[rows]) if every else len(rows)
        if idf:  # summed over axis 0: term after term in the question's order, as the definition adds
            found = np.stack([self._terms[t] for t in idf])
            found = found if every else found[:, :, rows]
            share = np.where(found, np.fromiter(idf.values(), np.float64, len(idf))[:, None, None], 0.0).sum(axis=0)
        else:
            share = np.zeros((3, size))
        coverage, window, paragraph = share / total
        if entities:
            entity = np.stack([self._terms[t][0, rows] for t in entities]).sum(axis=0) / len(entities)
        else:
            entity = np.ones(size)
        if pairs:
            self._learn_pairs(pairs)
            bigram = np.stack([self._pairs[p][rows] for p in pairs]).sum(axis=0) / len(pairs)
        else:
            bigram = np.zeros(size)
        return coverage, window, paragraph, np.asarray(entity, dtype=np.float64), np.asarray(bigram, dtype=np.float64)

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
            own = present[:, j]
            near = own.copy()
            near[1:] |= own[:-1] & self._same_as_previous[1:]
            near[:-1] |= own[1:] & self._same_as_previous[1:]
            counts[:] = 0
            np.add.at(counts, self._paragraph[own], 1)
            self._terms[term] = np.stack([own, near, counts[self._paragraph] > 0])

    def _learn_pairs(self, pairs: set[tuple[str, str]]) -> None:
        missing = [p for p in pairs if p not in self._pairs]
        if len(self._pairs) + len(missing) > KEPT_TERMS:
            self._pairs.clear()
            missing = list(pairs)
        everything = np.arange(self._n)
        for pair in missing:
            self._pairs[pair] = self._lexical.pair_counts(everything, {pair}) > 0


def candidate_signals(lexical: LexicalIndex, runs: tuple[np.ndarray, np.ndarray, np.ndarray], candidates: np.ndarray,
                      idf: dict[str, float], total: float, entities: Sequence[str],
                      pairs: set[tuple[str, str]]) -> tuple[np.ndarray, ...]:
    """Above ``retrieval.EXACT_LIMIT``: coverage, window, paragraph, entity and bigram of the candidate
    sentences, exactly as the per-sentence loop in ``Retriever.features`` computes them, from the lexical
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
    return share(own), share(near), share(para), entity, bigram
