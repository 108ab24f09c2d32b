"""Lexical side of retrieval: stemmed BM25 over sentences (bm25s) and the shared term analyser.

The same ``terms()`` feeds BM25, query-term coverage and entity checks, so "invested" in a question
matches "investing" in the article everywhere or nowhere.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[A-Za-z0-9]+(?:[.,][0-9]+)*")

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
    """Lower-cased word and number tokens (``2,000`` and ``3.5`` stay one token)."""
    return [w.lower().replace(",", "") for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content terms: stopwords out, every remaining word stemmed."""
    kept = [_IRREGULAR.get(w, w) for w in words(text) if w not in STOPWORDS]
    return _stemmer().stemWords(kept) if kept else []


def term_positions(text: str) -> list[tuple[int, str]]:
    """(offset, stemmed term) for each content word of ``text``, for proximity measures."""
    found = [(m.start(), m.group(0).lower().replace(",", "")) for m in _WORD.finditer(text)]
    found = [(start, _IRREGULAR.get(w, w)) for start, w in found if w not in STOPWORDS]
    stems = _stemmer().stemWords([w for _, w in found]) if found else []
    return [(start, stem) for (start, _), stem in zip(found, stems)]


_ENTITY = re.compile(r"\b(?:[A-Z][A-Za-z0-9'-]*|\d[\d,.]*)")
# capitalised only because they open the question: "Besides going digital, what ..."
_IMPERATIVES = frozenset("tell describe explain name list give show say summarise summarize compare define besides "
                         "apart aside except regarding concerning overall finally also now so please ok okay well "
                         "additionally moreover however meanwhile beyond unlike compared excluding including "
                         "considering based given".split())


def entity_terms(text: str) -> list[str]:
    """Stemmed terms of the names and numbers in ``text`` (capitalised words and digits, stopwords out)."""
    found = [m.group(0) for m in _ENTITY.finditer(text) if m.group(0).lower() not in _IMPERATIVES]
    return [t for t in dict.fromkeys(terms(" ".join(found)))]


class LexicalIndex:
    """BM25 (Lucene variant, k1=1.2, b=0.75) over sentence texts, built in memory at load time."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import: every build logs
        self.size = len(texts)
        tokens = [terms(t) or ["\u2205"] for t in texts]  # bm25s needs a token in every document
        self._bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self._bm25.index(tokens, show_progress=False)
        self._vocab = self._bm25.vocab_dict
        df: dict[str, int] = {}
        for doc in tokens:
            for term in set(doc):
                df[term] = df.get(term, 0) + 1
        self.df = df
        self._last: tuple[tuple[str, ...], np.ndarray] | None = None

    def idf(self, term: str) -> float:
        """Robertson IDF, floored at zero; unseen terms get the rarest value (they are informative)."""
        n = self.df.get(term, 0)
        return float(np.log(1 + (self.size - n + 0.5) / (n + 0.5)))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every sentence for the query terms (zeros when none is in the vocabulary)."""
        known = tuple(t for t in query_terms if t in self._vocab)
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        last = self._last  # one entry: candidate generation and the features ask for the same query
        if last is not None and last[0] == known:
            return last[1]
        scores = np.asarray(self._bm25.get_scores(list(known)), dtype=np.float32)
        scores.setflags(write=False)
        self._last = (known, scores)
        return scores
