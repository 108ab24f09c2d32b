"""Lexical side of retrieval: stemmed BM25 over sentences (bm25s) and the shared term analyser.

The same ``terms()`` feeds BM25, query-term coverage and entity checks, so "invested" in a question
matches "investing" in the article everywhere or nowhere.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Callable, Sequence

import numpy as np

from .arrays import flat_ranges

_WORD = re.compile(r"[A-Za-z0-9]+(?:[.,][0-9]+)*|[$€£%]")
# symbols read as the words people type for them: "in US dollars" finds "$278 million"
_SYMBOLS = {"$": "dollar", "€": "euro", "£": "pound", "%": "percent"}

# Function words and question words: they say what kind of answer is wanted, not what it is about.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom whose why will with would you your yours yourself
yourselves s t ve ll d re m according called name named kind type many much did does whats
""".split())


# Irregular English verb forms the Snowball stemmer cannot join to their base ("paid" -> "pay"), so a
# question in the present finds a sentence in the past. General English, not any article's words.
_IRREGULAR = {form: base for base, forms in {
    "be": "was were been", "begin": "began begun", "bring": "brought", "build": "built", "buy": "bought",
    "catch": "caught", "choose": "chose chosen", "come": "came", "cost": "cost", "cut": "cut", "do": "did done",
    "draw": "drew drawn", "drive": "drove driven", "eat": "ate eaten", "fall": "fell fallen", "feel": "felt",
    "fight": "fought", "find": "found", "fly": "flew flown", "forget": "forgot forgotten", "freeze": "froze frozen",
    "get": "got gotten", "give": "gave given", "go": "went gone", "grow": "grew grown", "have": "had has",
    "hear": "heard", "hold": "held", "keep": "kept", "know": "knew known", "lay": "laid", "lead": "led",
    "leave": "left", "lend": "lent", "lose": "lost", "make": "made", "mean": "meant", "meet": "met",
    "pay": "paid", "ride": "rode ridden", "rise": "risen", "run": "ran", "say": "said", "see": "saw seen",
    "sell": "sold", "send": "sent", "shake": "shook shaken", "shoot": "shot", "sing": "sang sung", "sit": "sat",
    "speak": "spoke spoken", "spend": "spent", "stand": "stood", "steal": "stole stolen", "strike": "struck",
    "swim": "swam swum", "take": "took taken", "teach": "taught", "tell": "told", "think": "thought",
    "throw": "threw thrown", "understand": "understood", "wear": "wore worn", "win": "won", "write": "wrote written",
    "withdraw": "withdrew withdrawn", "overcome": "overcame", "undertake": "undertook undertaken",
    "seek": "sought", "sink": "sank sunk", "split": "split", "spread": "spread", "sweep": "swept",
    "bear": "bore born borne", "beat": "beaten", "bend": "bent", "bite": "bit bitten",
    "blow": "blew blown", "break": "broke broken", "breed": "bred", "burn": "burnt", "dig": "dug",
    "dream": "dreamt", "feed": "fed", "flee": "fled", "forbid": "forbade forbidden", "hang": "hung",
    "hide": "hid hidden", "light": "lit", "ring": "rang rung", "shine": "shone", "slide": "slid",
    "stick": "stuck", "sting": "stung", "swing": "swung", "tear": "tore torn", "wake": "woke woken",
    "weave": "wove woven",
}.items() for form in forms.split()}


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens (``2,000`` and ``3.5`` stay one token; "$" is "dollar")."""
    return [_SYMBOLS.get(w) or w.lower().replace(",", "") for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content terms: stopwords out, every remaining word stemmed."""
    kept = [_IRREGULAR.get(w, w) for w in words(text) if w not in STOPWORDS]
    return _stemmer().stemWords(kept) if kept else []


def term_pairs(ordered: Sequence[str]) -> frozenset[tuple[str, str]]:
    """Consecutive terms of a question: the bigram signal looks for them consecutive in a sentence."""
    return frozenset(zip(ordered, ordered[1:]))


@functools.lru_cache(maxsize=16384)
def word_terms(word: str) -> frozenset[str]:
    """The stemmed terms of one word, kept: the same words come back in every sentence and question."""
    return frozenset(terms(word))


@functools.lru_cache(maxsize=8192)
def term_positions(text: str) -> tuple[tuple[int, str], ...]:
    """(offset, stemmed term) for each content word of ``text``, for proximity measures. Kept per text
    (a tuple, so no caller can change the kept copy): the cited sentence's positions are asked for by
    ranking, the rival check and the list check of the same question, and sentences recur."""
    found = [(m.start(), _SYMBOLS.get(m.group(0)) or m.group(0).lower().replace(",", "")) for m in _WORD.finditer(text)]
    found = [(start, _IRREGULAR.get(w, w)) for start, w in found if w not in STOPWORDS]
    stems = _stemmer().stemWords([w for _, w in found]) if found else []
    return tuple((start, stem) for (start, _), stem in zip(found, stems))


def starts_by_term(text: str) -> dict[str, tuple[int, ...]]:
    """The offsets of each term's words in ``text`` (:func:`term_positions` grouped by term): the
    answer-kind signal looks up the question's few terms instead of scanning every word."""
    found: dict[str, list[int]] = {}
    for start, term in term_positions(text):
        found.setdefault(term, []).append(start)
    return {term: tuple(starts) for term, starts in found.items()}


_ENTITY = re.compile(r"\b(?:[A-Z][A-Za-z0-9'-]*|\d[\d,.]*)")
# capitalised only because they open the question: "Besides going digital, what ..."
_IMPERATIVES = frozenset("tell describe explain name list give show say summarise summarize compare define besides "
                         "apart aside except regarding concerning overall finally also now so please ok okay well "
                         "additionally moreover however meanwhile beyond unlike compared excluding including "
                         "considering based given".split())


# "US dollars", "Hong Kong dollars", "Swiss francs": the capitalised words name the unit of the answer,
# as "kilometres" would; an article writing "$278 million" need not name the country
_CURRENCY_QUALIFIER = re.compile(r"\b(?:[A-Z][A-Za-z.]*\s){1,3}(?=(?:dollars?|yuan|renminbi|euros?|pounds?|yen|"
                                 r"rupees?|francs?|pesos?|ro?ubles?)\b)")


def entity_terms(text: str) -> list[str]:
    """Stemmed terms of the names and numbers in ``text`` (capitalised words and digits, stopwords out;
    not a currency's country, see ``_CURRENCY_QUALIFIER``)."""
    units = [m.span() for m in _CURRENCY_QUALIFIER.finditer(text)]
    found = [m.group(0) for m in _ENTITY.finditer(text) if m.group(0).lower() not in _IMPERATIVES
             and not any(a <= m.start() < b for a, b in units)]
    return [t for t in dict.fromkeys(terms(" ".join(found)))]


class LexicalIndex:
    """BM25 (Lucene variant, k1=1.2, b=0.75) over sentence texts, built in memory at load time.

    Each sentence's analysed terms are kept as one flat ``int32`` array of term ids (``terms_of``), not
    as a million Python lists or sets: the retriever derives term sets and bigrams from it per candidate."""

    EMPTY = "\u2205"  # bm25s needs a token in every document; ``terms()`` never yields this one

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s
        from bm25s.tokenization import Tokenized

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import: every build logs
        self.size = len(texts)
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in (terms(text) or [self.EMPTY])] for text in texts]
        self._bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self._bm25.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
        self._vocab = self._bm25.vocab_dict  # ``vocab`` plus bm25s' own empty token
        self._words = list(vocab)  # id -> term
        lengths = np.fromiter((len(doc) for doc in ids), dtype=np.int64, count=len(ids))
        self._offsets = np.concatenate([[0], np.cumsum(lengths)])
        self._offsets = self._offsets.astype(np.int32 if self._offsets[-1] < 2**31 else np.int64)
        self._ids = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32, count=int(self._offsets[-1]))
        del ids
        self._empty = vocab.get(self.EMPTY, -1)
        scores = self._bm25.scores  # CSC: one column per term, one entry per sentence holding it
        self._data, self._indices, self._indptr = scores["data"], scores["indices"], scores["indptr"]
        self._df = np.diff(self._indptr)  # sentences holding each term
        self._last: tuple[tuple[str, ...], np.ndarray] | None = None
        self._known: dict[str, tuple[float, np.ndarray, np.ndarray]] = {}  # see _term

    def idf(self, term: str) -> float:
        """Robertson IDF, floored at zero; unseen terms get the rarest value (they are informative)."""
        return self._term(term)[0]

    def _term(self, term: str) -> tuple[float, np.ndarray, np.ndarray]:
        """A term's IDF and its BM25 column (sentence rows, scores), kept once asked for: a question's
        terms come back in other questions, and the numpy scalar reads of ``_df`` and ``_indptr`` were
        most of the cost of scoring a small corpus. Bounded like ``LazyRows``: full, it starts afresh."""
        found = self._known.get(term)
        if found is None:
            i = self._vocab.get(term)
            n = int(self._df[i]) if i is not None and i < len(self._df) else 0
            begin, end = (int(self._indptr[i]), int(self._indptr[i + 1])) if n else (0, 0)
            if len(self._known) >= 1 << 14:
                self._known.clear()
            found = self._known[term] = (float(np.log(1 + (self.size - n + 0.5) / (n + 0.5))),
                                         self._indices[begin:end], self._data[begin:end])
        return found

    def terms_of(self, i: int) -> list[str]:
        """The analysed terms of sentence ``i`` in order (``terms()`` of its text, as indexed)."""
        found = self._ids[self._offsets[i]:self._offsets[i + 1]].tolist()
        return [] if found == [self._empty] else [self._words[t] for t in found]

    def terms_in(self, start: int, end: int) -> frozenset[str]:
        """Every term of sentences ``start`` to ``end - 1`` (an article's vocabulary)."""
        found = np.unique(self._ids[self._offsets[start]:self._offsets[end]]).tolist()
        return frozenset(self._words[t] for t in found if t != self._empty)

    def _row_terms(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``rows``, term id) of every term of the sentences ``rows``, in order."""
        begin, end = self._offsets[rows], self._offsets[rows + 1]
        return np.repeat(np.arange(len(rows)), end - begin), self._ids[flat_ranges(begin, end)]

    def presence(self, rows: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """``out[i, j]``: sentence ``rows[i]`` has the term ``names[j]`` (``names[j] in terms_of(rows[i])``
        for many sentences at once)."""
        out = np.zeros((len(rows), len(names)), dtype=bool)
        if len(rows) and len(names):
            owner, flat = self._row_terms(np.asarray(rows, dtype=np.int64))
            for j, name in enumerate(names):
                if name in self._vocab and name != self.EMPTY:
                    out[owner[flat == self._vocab[name]], j] = True
        return out

    def pair_counts(self, rows: np.ndarray, pairs: set[tuple[str, str]]) -> np.ndarray:
        """How many of the term pairs ``pairs`` occur as consecutive terms of each sentence in ``rows``
        (``len(pairs & set(pairwise(terms_of(row))))`` for many sentences at once)."""
        out = np.zeros(len(rows), dtype=np.int64)
        size = len(self._vocab) + 1
        wanted = [self._vocab[a] * size + self._vocab[b] for a, b in pairs if a in self._vocab and b in self._vocab]
        if not wanted or not len(rows):
            return out
        owner, flat = self._row_terms(np.asarray(rows, dtype=np.int64))
        codes = flat[:-1].astype(np.int64) * size + flat[1:]
        hit = (owner[1:] == owner[:-1]) & np.isin(codes, wanted)
        found = np.unique(np.stack([owner[:-1][hit], codes[hit]]), axis=1)  # each pair once per sentence
        return np.bincount(found[0], minlength=len(rows)).astype(np.int64)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every sentence for the query terms (zeros when none is in the vocabulary)."""
        known = tuple(t for t in query_terms if t in self._vocab)
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        last = self._last  # one entry: candidate generation and the features ask for the same query
        if last is not None and last[0] == known:
            return last[1]
        # one term's column at a time, each holding a sentence at most once: every sentence gets the same
        # float32 additions in the same order as bm25s' get_scores (numpy 2's np.add.at fast path is ~2x
        # a fancy-indexed +=, which reads, adds and writes back in three operations)
        scores = np.zeros(self.size, dtype=np.float32)
        for term in known:
            _, rows, values = self._term(term)
            np.add.at(scores, rows, values)
        scores.setflags(write=False)
        self._last = (known, scores)
        return scores


class LazyRows(Sequence):
    """``rows[i]`` is ``make(i)``, computed on first use and kept: per-sentence structures (term sets,
    bigrams, answer spans) cost nothing at start-up and only their candidates' rows at query time. At most
    ``limit`` rows are kept; past that the cache starts afresh (a million sentences would otherwise end up
    all resident). Below ``limit`` rows it is a list computed on demand."""

    def __init__(self, size: int, make: Callable[[int], object], limit: int = 1 << 13) -> None:
        self.size, self._make, self._limit = size, make, limit
        self._rows: dict[int, object] = {}

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i):
        i = int(i)
        if not -self.size <= i < self.size:
            raise IndexError(i)
        i %= self.size
        row = self._rows.get(i, _MISSING)
        if row is _MISSING:
            if len(self._rows) >= self._limit > 0 and self.size > self._limit:
                self._rows.clear()
            row = self._rows[i] = self._make(i)
        return row


_MISSING = object()
