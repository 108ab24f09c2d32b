"""The answer-kind signal: does a sentence hold a span of the kind the question asks for (an amount, a
date, a place...) that the question does not already say, and how close to the question's words?

Kept apart from the retriever because it has its own per-sentence caches (the spans of each kind,
the offsets of each term) and is the one lexical signal that reads the sentence text again.
"""

from __future__ import annotations

import numpy as np

from . import answer_types
from .lexical import LazyRows, starts_by_term, words

MAX_KINDS = 16  # kinds whose spans are kept ("named:<noun>" kinds are open-ended)


class KindSignal:
    """Per-sentence spans of each asked kind, found on a sentence's first use and kept."""

    def __init__(self, texts: list[str], keep: int) -> None:
        """``keep``: rows each per-sentence cache holds (0: all; see ``LazyRows``)."""
        self._texts = texts
        self._keep = keep
        self.rows: dict[str, LazyRows] = {}  # kind -> per sentence, [(span words, span)]
        self._holders: dict[str, list[tuple[int, int, list]]] = {}  # every-sentence route: those with spans
        self._term_starts = LazyRows(len(texts), lambda g: starts_by_term(texts[g]), keep)  # term -> offsets

    def signal(self, query, candidates: np.ndarray, every: bool = False) -> np.ndarray:
        """0 for a candidate without a new span of ``query.kind``, from 0.5 (far from the question's
        words) to 1.0 (right beside them, "40,000 plant species"); ``every``: ``candidates`` is every
        sentence in order, so only the sentences holding a span of the kind are visited."""
        if not query.kind:
            return np.zeros(len(candidates))
        if query.kind not in self.rows:
            if len(self.rows) >= MAX_KINDS:  # keep the cache bounded
                self.rows.clear()
                self._holders.clear()
            self.rows[query.kind] = LazyRows(len(self._texts), lambda g, kind=query.kind, texts=self._texts: [
                (answer_types.span_words(texts[g], span, kind), span) for span in answer_types.spans(texts[g], kind)],
                self._keep)
        per_sentence = self.rows[query.kind]
        asked = set(words(query.text))
        wanted = frozenset(query.terms)
        out = np.zeros(len(candidates), dtype=np.float32)
        if every:
            if query.kind not in self._holders:
                self._holders[query.kind] = [(g, g, rows) for g in range(len(per_sentence)) if (rows := per_sentence[g])]
            held = self._holders[query.kind]
        else:
            held = ((i, int(g), per_sentence[g]) for i, g in enumerate(candidates))
        for i, g, rows in held:
            if not (spans := [span for own, span in rows if answer_types.is_new(own, asked)]):
                continue
            starts = self._term_starts[g]
            anchors = [a for term in wanted & starts.keys() for a in starts[term]]
            if not anchors:
                out[i] = 0.5
                continue
            gap = min(min(abs(a - span[0]), abs(a - span[1])) for span in spans for a in anchors)
            out[i] = 0.5 + 0.5 * float(np.exp(-gap / 30.0))  # characters: about five words
        return out
