"""Hybrid sentence retrieval: dense (FAISS, sentences and chunks) and lexical (BM25) evidence fused
into one score per sentence. Knows nothing of answers or chats.

One search path: :meth:`Retriever.search` is ``batch_search([q])[0]``, so a caller that has many
questions at once (the Telegram adapter) embeds them in one batch with no second code path.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from . import answer_types
from .arrays import max_by_owner, max_of_rows, padded_rows, scores_of
from .embedding import Encoder
from .kind_signal import KindSignal
from .lexical import LazyRows, LexicalIndex, entity_terms, term_pairs, terms
from .overlap import shared_worker
from .store import CorpusIndex
from .term_signals import TermArrays, candidate_signals
from .token_match import TokenMatrix
from .vector_file import codes_for

EXACT_LIMIT = 20_000  # sentences; below it every sentence is scored, above it candidates come from the indexes
LAZY_ROWS = 1 << 13  # per-sentence rows kept above EXACT_LIMIT (candidates change with every question)
DENSE_CANDIDATES, CHUNK_CANDIDATES, LEXICAL_CANDIDATES = 200, 50, 200  # per query, above EXACT_LIMIT
RESCORED = 64, 16  # sentence / chunk windows read exactly from disk per query; the rest scored from FAISS's codes
SIGNALS = ("dense", "context", "bm25", "coverage", "window", "paragraph", "type", "entity", "bigram", "maxsim")
_LEXICAL = np.array([SIGNALS.index(name) for name in ("coverage", "window", "paragraph", "entity", "bigram")])


@dataclass(frozen=True)
class Weights:
    """Linear fusion of the normalised signals (see docs/quality.md for how they were chosen)."""

    dense: float = 1.0
    context: float = 0.6
    bm25: float = 0.45
    coverage: float = 0.6
    window: float = 0.15
    paragraph: float = 0.1
    type: float = 0.45
    entity: float = 0.1
    bigram: float = 0.0
    maxsim: float = 6.0

    def vector(self) -> np.ndarray:
        return self._vector

    @cached_property
    def _vector(self) -> np.ndarray:
        """The weights in ``SIGNALS`` order, made once (they are frozen) and read-only."""
        made = np.array([getattr(self, name) for name in SIGNALS], dtype=np.float32)
        made.flags.writeable = False
        return made


@dataclass(frozen=True)
class Hit:
    """A scored sentence: ``sentence`` is the global id; ``signals`` the raw evidence behind ``score``."""

    sentence: int
    article_id: str
    index: int
    score: float
    signals: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Query:
    """What retrieval needs to know about a question, computed once and shared by all signals."""

    text: str
    terms: tuple[str, ...]
    kind: str | None
    entities: tuple[str, ...]
    vector: np.ndarray = field(repr=False, compare=False)
    tokens: np.ndarray | None = field(default=None, repr=False, compare=False)
    token_ids: np.ndarray | None = field(default=None, repr=False, compare=False)
    pairs: frozenset[tuple[str, str]] | None = field(default=None, repr=False, compare=False)  # consecutive terms
    # up to EXACT_LIMIT: every sentence's lexical SIGNALS (the rest 0), found while the model encoded it
    lexical: np.ndarray | None = field(default=None, repr=False, compare=False)


class Retriever:
    """Scores sentences of a :class:`CorpusIndex` for questions."""

    def __init__(self, index: CorpusIndex, encoder: Encoder, weights: Weights | None = None,
                 tokens: TokenMatrix | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.tokens = tokens  # token vectors of every sentence, for MaxSim; None turns the signal off
        self.weights = weights or Weights()
        texts = [s.text for a in index.articles for s in a.sentences]
        # a caption's credit ("Photo/Xinhua") is searchable, so "the photo of ..." finds captions
        lexical_texts = [f"{s.text} {s.credit}" if s.credit else s.text for a in index.articles for s in a.sentences]
        self.lexical = LexicalIndex(lexical_texts)
        # per-sentence structures are computed for the sentences a query scores, not all at start-up
        # (a million sentences' sets would take minutes and gigabytes); see LazyRows
        n, lex = index.n_sentences, self.lexical
        keep = self._keep = 0 if n <= EXACT_LIMIT else LAZY_ROWS  # every question scores every sentence: keep all
        self.sentence_terms = LazyRows(n, lambda g: frozenset(lex.terms_of(g)), keep)
        self.sentence_bigrams = LazyRows(n, lambda g: frozenset(itertools.pairwise(lex.terms_of(g))), keep)
        self.kinds = KindSignal(texts, keep)
        self.paragraph_key = LazyRows(n, lambda g: (int(index.sentence_article[g]), index.sentence(g)[1].paragraph),
                                      keep)
        self.paragraph_terms = _ParagraphTerms(self)
        self._term_arrays: TermArrays | None = None  # small corpora: see _small_signals

    # ------------------------------------------------------------ public
    def prepare(self, questions: Sequence[str]) -> list[Query]:
        """Embed all questions in one batch and analyse their terms and answer kind; the analysis (and,
        up to ``EXACT_LIMIT``, every lexical signal) runs on the other core while the model encodes
        (``bot.overlap``), or here after it when no worker took it."""
        texts = list(questions)
        job = shared_worker.job(lambda: [self._lexical_query(q) for q in texts])
        if self.tokens is not None:
            vectors, token_mats, token_ids = self.encoder.encode_with_tokens(texts, started=job.release)
        else:
            vectors, token_mats, token_ids = self.encoder.encode(texts, started=job.release), [None] * len(texts), \
                [None] * len(texts)
        return [replace(query, vector=v, tokens=t, token_ids=i)
                for query, v, t, i in zip(job.result(), vectors, token_mats, token_ids)]

    def _lexical_query(self, question: str) -> Query:
        """The question's terms, kind, names and term pairs, with (up to ``EXACT_LIMIT``) its lexical
        signals for every sentence: everything that does not need the embedding (above it the
        candidates, and so the sentences to score, come from FAISS)."""
        found = terms(question)
        query = Query(question, tuple(dict.fromkeys(found)), answer_types.question_type(question),
                      tuple(entity_terms(question)), None, pairs=term_pairs(found))
        if self.index.n_sentences > EXACT_LIMIT:
            return query
        return replace(query, lexical=self._lexical_features(query, self._every))

    def batch_search(self, questions: Sequence[str], k: int = 10) -> list[list[Hit]]:
        return [self.rank(query, k) for query in self.prepare(questions)]

    def search(self, question: str, k: int = 10) -> list[Hit]:
        return self.batch_search([question], k)[0]

    def rank(self, query: Query, k: int = 10) -> list[Hit]:
        """The ``k`` best sentences for a prepared query, best first."""
        return self.rank_fused([(query, 1.0)], k)

    def rank_fused(self, queries: Sequence[tuple[Query, float]], k: int = 10) -> list[Hit]:
        """Rank by the weighted mean score of several phrasings of one question (a follow-up as
        typed and as resolved); signals reported are the first query's."""
        exact = self.index.n_sentences <= EXACT_LIMIT
        candidates = (self._every if exact  # all of them
                      else np.unique(np.concatenate([self._candidates(q) for q, _ in queries])))
        if len(candidates) == 0:
            return []
        prune = not exact and len(candidates) > k  # large corpora: see _pruned_kinds
        rows = [self.features(query, candidates, with_kind=not prune) for query, _ in queries]
        if prune:
            self._pruned_kinds(queries, candidates, rows, k)
        first, vector = rows[0], self.weights.vector()
        scores = sum(weight * (row @ vector) for row, (_, weight) in zip(rows, queries)) / sum(w for _, w in queries)
        order = (-scores).argsort(kind="stable")[:k]
        ids = order.tolist() if exact else candidates[order].tolist()  # exact: candidate i is sentence i
        place = self._hit_places.__getitem__ if exact else self._place
        return [Hit(g, *place(g), score, dict(zip(SIGNALS, signals)))
                for g, score, signals in zip(ids, scores[order].tolist(), first[order].tolist())]

    def features(self, query: Query, candidates: np.ndarray, with_kind: bool = True) -> np.ndarray:
        """One row of ``SIGNALS`` per candidate sentence, each roughly in [0, 1] (``type`` left 0 without
        ``with_kind``), written column by column into one float32 array (each float64 value rounded once,
        as ``column_stack(...).astype`` did); given ``_every`` the columns skip the identity gathers."""
        ix = self.index
        pick = slice(None) if candidates is self._every else candidates
        if candidates is self._every and query.lexical is not None:
            out = query.lexical.copy()  # found while the model ran (prepare)
        else:
            out = self._lexical_features(query, candidates, with_kind)
        out[:, 0] = self._dense_scores(query, candidates)[pick]
        chunk = self._chunk_scores(query, candidates)
        if ix.n_sentences <= EXACT_LIMIT:  # a sentence's best chunk (the 0 slot only if a sentence has none)
            every_chunk, chunks_of_each = self._chunks_of_each
            scores = chunk if every_chunk else np.append(chunk, np.float32(0.0))
            np.maximum.reduce(scores[chunks_of_each[pick]], axis=1, out=out[:, 1])  # np.max, no wrapper
        else:
            out[:, 1] = max_of_rows(ix.sentence_chunks.offsets, ix.sentence_chunks.values, candidates, chunk)
        if self.tokens is not None and query.tokens is not None:
            out[:, 9] = self.tokens.maxsim(query.tokens, None if isinstance(pick, slice) else candidates, query.token_ids)
        return out

    def _lexical_features(self, query: Query, candidates: np.ndarray, with_kind: bool = True) -> np.ndarray:
        """:meth:`features` with only the signals that need no embedding filled in (the rest 0)."""
        pick = slice(None) if candidates is self._every else candidates
        out = np.zeros((len(candidates), len(SIGNALS)), dtype=np.float32)
        bm25_all = self.lexical.scores(query.terms)
        top = float(bm25_all.max()) if len(bm25_all) else 0.0
        if top > 0:  # float32 / float, written straight into the column (else it stays 0)
            np.divide(bm25_all[pick], top, out=out[:, 2])
        idf = {t: self.lexical.idf(t) for t in query.terms}
        total = sum(idf.values()) or 1.0
        pairs = query.pairs if query.pairs is not None else term_pairs(terms(query.text))
        found = self._small_signals(query, pick, idf, total, pairs)
        found = self._large_signals(query, candidates, idf, total, pairs) if found is None else found
        if found is None:  # large corpora whose paragraphs are not runs
            found = np.array([self._signals_of(query, int(g), idf, total, pairs) for g in candidates]).reshape(-1, 5).T
        out[:, _LEXICAL] = found.T  # coverage, window, paragraph, entity, bigram: (5, candidates) from every path
        if with_kind and query.kind:
            out[:, 6] = self._kind_signal(query, candidates)
        return out

    def _signals_of(self, query: Query, g: int, idf: dict[str, float], total: float,
                    pairs: frozenset[tuple[str, str]]) -> list[float]:
        """Coverage, window, paragraph, entity and bigram of sentence ``g`` as defined (``term_signals``)."""
        own = self.sentence_terms[g]
        near = own | self._neighbour_terms(g)
        para = self.paragraph_terms[self.paragraph_key[g]]
        return [sum(w for t, w in idf.items() if t in found) / total for found in (own, near, para)] + [
            # names and numbers of the question in the sentence itself (1 when it names none)
            sum(t in own for t in query.entities) / len(query.entities) if query.entities else 1.0,
            # consecutive question terms found consecutive in the sentence ("mostly inland", "16 yard")
            len(pairs & self.sentence_bigrams[g]) / len(pairs) if pairs else 0.0]

    def neighbour(self, gid: int, step: int) -> Hit | None:
        """The sentence ``step`` places from ``gid`` in the same article, as an unscored hit."""
        other = gid + step
        if not 0 <= other < self.index.n_sentences or \
                self.index.sentence_article[other] != self.index.sentence_article[gid]:
            return None
        return Hit(other, *self._place(other), 0.0, dict.fromkeys(SIGNALS, 0.0))

    # ------------------------------------------------------------ internals
    def _candidates(self, query: Query) -> np.ndarray:
        """Every sentence up to ``EXACT_LIMIT``; above it the union of the dense sentence and chunk
        neighbours (FAISS) and the BM25 top (argpartition: a full sort of a million scores costs ~80 ms)."""
        ix = self.index
        if ix.n_sentences <= EXACT_LIMIT:
            return np.arange(ix.n_sentences)
        _, rows = ix.sentence_faiss.search(query.vector[None, :], DENSE_CANDIDATES)
        found = [ix.sentence_owner[rows[0][rows[0] >= 0]]]
        _, rows = ix.chunk_faiss.search(query.vector[None, :], CHUNK_CANDIDATES)
        for r in rows[0][rows[0] >= 0]:
            chunk = ix.chunks[int(ix.chunk_owner[r])]
            found.append(ix.article_offset[ix._article_index(chunk.article_id)] + np.asarray(chunk.sentence_ids))
        bm25 = self.lexical.scores(query.terms)
        matching = np.flatnonzero(bm25 > 0)  # usually a small part of a large corpus
        if len(matching) > LEXICAL_CANDIDATES:
            matching = matching[np.argpartition(-bm25[matching], LEXICAL_CANDIDATES)[:LEXICAL_CANDIDATES]]
        found.append(matching)
        return np.unique(np.concatenate(found).astype(np.int64))

    def _dense_scores(self, query: Query, candidates: np.ndarray) -> np.ndarray:
        """Best window similarity per sentence (indexed by global id). Exact for every sentence up to
        ``EXACT_LIMIT``; above it only the candidates' vectors are read (a full matrix product over a
        million vectors is ~50 ms and keeps them all resident); other entries stay 0."""
        ix = self.index
        if ix.n_sentences <= EXACT_LIMIT:
            return max_by_owner(ix.sentence_vectors @ query.vector, ix.sentence_owner, ix.n_sentences,
                                 self._one_vector_each[0])
        return scores_of(ix.sentence_vectors, ix.sentence_owner, candidates, query.vector, ix.n_sentences,
                         codes_for(ix.sentence_faiss, ix.sentence_vectors), RESCORED[0])

    def _chunk_scores(self, query: Query, candidates: np.ndarray) -> np.ndarray:
        """Best window similarity per chunk; above ``EXACT_LIMIT`` only chunks holding a candidate."""
        ix = self.index
        if ix.n_sentences <= EXACT_LIMIT:
            return max_by_owner(ix.chunk_vectors @ query.vector, ix.chunk_owner, len(ix.chunks),
                                 self._one_vector_each[1])
        wanted = np.unique(ix.sentence_chunks.rows(candidates))
        return scores_of(ix.chunk_vectors, ix.chunk_owner, wanted, query.vector, len(ix.chunks),
                         codes_for(ix.chunk_faiss, ix.chunk_vectors), RESCORED[1])

    def _small_signals(self, query: Query, candidates: np.ndarray | slice, idf: dict[str, float], total: float,
                       pairs: set[tuple[str, str]]) -> np.ndarray | None:
        """Up to ``EXACT_LIMIT``: coverage, window, paragraph, entity and bigram from per-term arrays
        over every sentence (``bot.term_signals``), the numbers of :meth:`_signals_of` (``candidates`` a
        slice: every sentence, in order)."""
        if self.index.n_sentences > EXACT_LIMIT:
            return None
        if self._term_arrays is None:
            self._term_arrays = TermArrays(self.lexical, [self.paragraph_key[g] for g in range(self.index.n_sentences)])
        rows = candidates if isinstance(candidates, slice) else np.asarray(candidates, dtype=np.int64)
        return self._term_arrays.signals(idf, total, query.entities, pairs, rows)

    @cached_property
    def _chunks_of_each(self) -> tuple[bool, np.ndarray]:
        """Up to ``EXACT_LIMIT``: the chunks holding each sentence as padded rows (``arrays.padded_rows``),
        so a sentence's best chunk score is one gather and one row maximum (same numbers as ``max_of_rows``);
        and whether every sentence is in a chunk (then no row points at the default slot past the end)."""
        ragged, chunks = self.index.sentence_chunks, len(self.index.chunks)
        padded = padded_rows(ragged.offsets, ragged.values, self.index.n_sentences, chunks)
        return not bool((padded == chunks).any()), padded

    @cached_property
    def _every(self) -> np.ndarray:
        """Every sentence id in order, read-only: the exact route's candidates, known by identity."""
        every = np.arange(self.index.n_sentences)
        every.flags.writeable = False
        return every

    @cached_property
    def _hit_places(self) -> list[tuple[str, int]]:
        """(article id, index in it) of every sentence up to ``EXACT_LIMIT``, for building hits."""
        return [(a.id, s.index) for a in self.index.articles for s in a.sentences]

    @cached_property
    def _one_vector_each(self) -> tuple[bool, bool]:
        """Whether every sentence, and every chunk, has exactly one vector, in order (no text over the
        model's window): then the best window score is the score itself."""
        ix = self.index
        return (bool(np.array_equal(ix.sentence_owner, np.arange(ix.n_sentences))),
                bool(np.array_equal(ix.chunk_owner, np.arange(len(ix.chunks)))))

    def _large_signals(self, query: Query, candidates: np.ndarray, idf: dict[str, float], total: float,
                       pairs: set[tuple[str, str]]) -> np.ndarray | None:
        """Above ``EXACT_LIMIT``: coverage, window, paragraph, entity and bigram exactly as
        :meth:`_signals_of` defines them, for all candidates at once (``term_signals.candidate_signals``);
        None when the paragraphs are not runs of sentences."""
        ix = self.index
        runs = ix.paragraph_runs if ix.n_sentences > EXACT_LIMIT and len(candidates) else None
        if runs is None:
            return None
        return candidate_signals(self.lexical, runs, candidates, idf, total, query.entities, pairs)

    def _pruned_kinds(self, queries: Sequence[tuple[Query, float]], candidates: np.ndarray,
                      rows: list[np.ndarray], k: int) -> None:
        """Fill the answer-kind column of ``rows`` only for the candidates that can still reach the top
        ``k`` with it. Above ``EXACT_LIMIT`` candidates are new sentences each query, and finding their
        spans (a regex pass per sentence) took most of a query's time. The signal is in [0, 1], so it
        adds at most ``gain`` to a score. Candidates are filled best-first (by the score without it) in
        blocks; ``bar``, the k-th best score known so far (final where filled, else without the signal),
        only rises, and the first candidate that cannot reach it even with the full gain ends the work:
        no candidate after it can enter the top k. The top k, their scores and signals are exactly
        those of filling every candidate."""
        column, weights = SIGNALS.index("type"), self.weights.vector()
        total = sum(w for _, w in queries)
        gain = float(weights[column]) * sum(w for q, w in queries if q.kind) / total

        def fill(block: np.ndarray) -> None:
            for row, (query, _) in zip(rows, queries):
                if query.kind:
                    row[block, column] = self._kind_signal(query, candidates[block])

        if gain <= 0:
            fill(np.arange(len(candidates)))
            return
        partial = sum(w * (row @ weights) for row, (_, w) in zip(rows, queries)) / total
        known = partial.copy()
        order = np.argsort(-partial, kind="stable")
        done = 0
        while done < len(order):
            bar = np.partition(known, len(known) - k)[len(known) - k]
            if partial[order[done]] + gain < bar - 1e-4:  # margin: float32 sums in another order
                break
            block = order[done:done + (k if done == 0 else 8)]  # small blocks: little filled past the end
            fill(block)
            known[block] = sum(w * (row[block] @ weights) for row, (_, w) in zip(rows, queries)) / total
            done += len(block)

    def _neighbour_terms(self, g: int) -> frozenset[str]:
        return frozenset().union(*(self.sentence_terms[o] for o in (g - 1, g + 1) if 0 <= o < len(self.sentence_terms)
                                   and self.paragraph_key[o] == self.paragraph_key[g]))

    def _kind_signal(self, query: Query, candidates: np.ndarray) -> np.ndarray:
        """The answer-kind signal of the candidates (bot/kind_signal.py)."""
        return self.kinds.signal(query, candidates, every=candidates is self._every)

    def _place(self, gid: int) -> tuple[str, int]:
        """(article id, index in it) of sentence ``gid``: the kept list's entry up to ``EXACT_LIMIT``."""
        if self.index.n_sentences <= EXACT_LIMIT:
            return self._hit_places[gid]
        article, sentence = self.index.sentence(gid)
        return article.id, sentence.index


class _ParagraphTerms:
    """``paragraph_terms[(article, paragraph)]``: the union of its sentences' terms, found on first use."""

    def __init__(self, retriever: Retriever) -> None:
        self._retriever = retriever
        self._found: dict[tuple[int, int], frozenset[str]] = {}

    def __getitem__(self, key: tuple[int, int]) -> frozenset[str]:
        found = self._found.get(key)
        if found is None:
            r, (a, paragraph) = self._retriever, key
            start = int(r.index.article_offset[a])
            own = [start + i for i, s in enumerate(r.index.articles[a].sentences) if s.paragraph == paragraph]
            found = self._found[key] = frozenset().union(*(r.sentence_terms[g] for g in own))
            if len(self._found) > 1 << 13:
                self._found = {key: found}
        return found
