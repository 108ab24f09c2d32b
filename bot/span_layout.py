"""What the span extractor knows about a sentence before it sees a question: its tokens, what role
each plays at a span's edge (pause, preposition, clause word ...), the runs of words that could be an
answer, and each run's question-independent facts (length, capitals, digits, verb-like words).

Why a module of its own, cached per sentence: the cited sentence comes back question after question
(a conversation keeps asking about the same article), and tokenising it, walking its candidate runs and
tabulating their facts was most of the extractor's time (issue 7: everything after the question's
embedding must stay small). What depends on the question (which words it says, its wh-word, the token
similarities) is applied on top of this in bot/extract.py and bot/span_scores.py.
Nothing here names an article's words: only English function words and punctuation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .lexical import STOPWORDS, word_terms

ALNUM = r"[^\W_]"  # a letter or digit of any script: "Amazónica" and "Krasiński" are one word each
WORD = rf"{ALNUM}+(?:[.,'’&-]{ALNUM}+)*"  # with the inner marks of "U.S", "2,000", "Jean-Luc", "O'Neill"
_TOKEN = re.compile(rf"{WORD}\.?|[$€£¥%]|(?:(?!{ALNUM})\S)")
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.)+|[A-Z][a-z]?\.")
MAX_WORDS = 10  # SQuAD answers are short: 9 in 10 have at most this many words

# English function words by role; the span edges and the boundary features use them.
PREPOSITIONS = frozenset("of in on at by for from with to into onto over under about after before during since "
                         "until through across against among between within without toward towards upon near "
                         "via per than as like".split())
DETERMINERS = frozenset("a an the this that these those its his her their our my your some any each every "
                        "no another".split())
CLAUSE = frozenset("which who whom whose that where when while because although though since if unless whereas "
                   "and but or nor so".split())
AUXILIARIES = frozenset("is are was were be been being am has have had do does did will would can could "
                        "should may might must shall".split())
# a clause of its own starts here: "closed in 2015 | because demand fell" is two answers, not one
SUBORDINATE = frozenset("because which whom whose although though whereas while unless".split())
REASON = frozenset("because due since as so to for".split())
PAUSE = frozenset(",;:()[]\"“”‘’—–")
# inside an answer: money and percent signs, hyphens and apostrophes of names
INSIDE = frozenset("$€£¥%&'’-/.")
# what bounds a span on one side; "question_word" is the one role that depends on the question
ROLES = ("edge", "pause", "mark", "question_word", "preposition", "determiner", "clause", "auxiliary", "function",
         "verbish", "word")
QUESTION_WORD = ROLES.index("question_word")
# per-candidate facts that do not depend on the question, in the column order of Layout.facts
FACTS = ("after_reason_word", "capitalised", "all_capitalised", "digit", "inner_function_words", "inner_verbish",
         "first_verbish", "inner_and", "sentence_start")


def verbish(word: str) -> bool:
    """A lower-case word with a verb's ending: a crude part-of-speech cue that needs no tagger."""
    return word.islower() and len(word) > 4 and word.endswith(("ed", "ing", "es", "ize", "ise"))


def role(text: str, is_word: bool) -> str:
    """What a token bounds a span with when the question does not say it: a pause, a function word
    by kind, or an ordinary word (then the span probably cuts a phrase in two)."""
    if not is_word:
        return "pause" if text in PAUSE else "mark"
    low = text.lower()
    for name, group in (("preposition", PREPOSITIONS), ("determiner", DETERMINERS), ("clause", CLAUSE),
                        ("auxiliary", AUXILIARIES)):
        if low in group:
            return name
    if low in STOPWORDS:
        return "function"
    return "verbish" if verbish(text) else "word"


def edge_ok(text: str, is_word: bool, first: bool) -> bool:
    """Can a span start (``first``) or end with this token, the question aside? Not with a function
    word; a symbol only when it belongs to an amount ("$5", "30%")."""
    if not is_word:
        return text in "$€£¥" if first else text == "%"
    low = text.lower()
    return low not in STOPWORDS and low not in PREPOSITIONS and low not in AUXILIARIES


@dataclass(eq=False)
class Runs:
    """A set of token ranges [I, J) of one sentence with what scoring them needs that does not depend
    on the question: word counts and FACTS, the tokens bounding them, and ``maps``, the matrices
    that turn a per-token column (the question's words, cosines) into per-run sums in one product:
    inside, at the two edges, in the ±6 window, left of the run, the two tokens before / after it, and
    the token right before / after it (MAPS names the blocks; "members" counts the inside once and
    each edge token 100 more times, so one number says whether the question's words sit at an edge)."""

    I: np.ndarray  # noqa: E741
    J: np.ndarray
    words: np.ndarray
    facts: np.ndarray  # runs x FACTS
    start: np.ndarray  # character span of each run
    end: np.ndarray
    before: np.ndarray  # ROLES index of the token before each run (-1: the sentence edge)
    after: np.ndarray  # and of the token after it
    limit: np.ndarray  # question words a run may hold: 1 from three words on, else 0
    maps: np.ndarray  # (runs * len(MAPS)) x tokens, run by run
    distance: np.ndarray  # runs x tokens: log(1 + distance) from the run to the token, inf inside it
    index: dict[tuple[int, int], int]  # (I, J) -> row
    cache: dict = field(default_factory=dict)  # per wh-word static scores; masks for the soft terms

    def __len__(self) -> int:
        return len(self.I)

    def overlap_f1(self) -> np.ndarray:
        """Token F1 of every run against every other (for the expected-F1 choice), kept."""
        if "f1" not in self.cache:
            i, j = self.I[:, None], self.J[:, None]
            same = np.maximum(np.minimum(j, self.J[None, :]) - np.maximum(i, self.I[None, :]), 0)
            self.cache["f1"] = 2.0 * same / ((j - i) + (self.J - self.I)[None, :])
        return self.cache["f1"]


MAPS = ("inside", "members", "window", "left", "near_left", "near_right", "before", "after")


def make_runs(texts: tuple[str, ...], word: np.ndarray, starts: np.ndarray, ends: np.ndarray, roles: np.ndarray,
              spans: list[tuple[int, int]]) -> Runs:
    """:class:`Runs` for the token ranges ``spans`` of a sentence's tokens."""
    n = len(texts)
    I = np.array([i for i, _ in spans], np.int64).reshape(-1)  # noqa: E741
    J = np.array([j for _, j in spans], np.int64).reshape(-1)
    at, i, j = np.arange(n), I[:, None], J[:, None]
    inside = (i <= at) & (at < j)
    blocks = [inside, inside + 100 * ((at == i) | (at == j - 1)), (i - 6 <= at) & (at < j + 6), at < i,
              (i - 2 <= at) & (at < i), (j <= at) & (at < j + 2), at == i - 1, at == j]
    distance = np.where(at < i, np.log1p(np.maximum(i - at, 0)), np.log1p(np.maximum(at - j + 1, 0)))
    distance[inside] = np.inf
    n_words, facts = span_facts(texts, word, starts, I, J)
    return Runs(I, J, n_words, facts, starts[I], ends[J - 1], np.concatenate([[-1], roles])[I], np.append(roles, -1)[J],
                (n_words >= 3).astype(np.int64),
                np.stack(blocks, axis=1).astype(float).reshape(len(I) * len(MAPS), n), distance,
                {(int(a), int(b)): row for row, (a, b) in enumerate(zip(I, J))})


def span_facts(texts: tuple[str, ...], word: np.ndarray, starts: np.ndarray, I: np.ndarray,  # noqa: E741
               J: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Word counts and FACTS of the token ranges [I, J)."""
    n_tok = len(texts)
    low = [t.lower() for t in texts]
    flags = np.array([(w, w and t[0].isupper() and s > 0, w and any(c.isdigit() for c in t),
                       w and lo in STOPWORDS, w and verbish(t), w and lo == "and")
                      for t, lo, w, s in zip(texts, low, word.tolist(), starts.tolist())],
                     dtype=np.int64).reshape(n_tok, 6)
    prefix = np.vstack([np.zeros((1, 6), np.int64), np.cumsum(flags, axis=0)])
    counts = prefix[J] - prefix[I]
    n = counts[:, 0]
    next_word = np.full(n_tok + 1, n_tok)
    for k in range(n_tok - 1, -1, -1):
        next_word[k] = k if word[k] else next_word[k + 1]
    first = next_word[I]
    reason = np.array([k > 0 and bool(word[k - 1]) and low[k - 1] in REASON for k in range(n_tok + 1)])
    caps = counts[:, 1]
    verb = np.append(flags[:, 4], 0)
    with np.errstate(invalid="ignore", divide="ignore"):  # a run without a word is never a candidate
        facts = np.column_stack([reason[I], caps / n, caps == n, counts[:, 2] > 0, counts[:, 3] / n,
                                 prefix[J, 4] - prefix[np.minimum(first + 1, n_tok), 4] > 0, verb[first],
                                 counts[:, 5] > 0, I == 0]).astype(float)
    return n, facts.reshape(len(I), len(FACTS))


@dataclass(eq=False)
class Layout:
    """One sentence's tokens and its candidate runs: at most MAX_WORDS words without pause
    punctuation or a subordinating word inside and with no function word at either edge, in (start,
    end) order. Which of them are candidates for a question also depends on the words it says
    (bot/span_scores.py ``allowed``)."""

    sentence: str
    texts: tuple[str, ...]
    starts: np.ndarray  # character start and end of each token
    ends: np.ndarray
    word: np.ndarray  # bool per token
    keys: tuple[tuple[int, str, frozenset[str]], ...]  # (token, lower case, stems) of each non-stopword word
    plain: np.ndarray  # bool: a word whose lower case is no stopword (a paraphrase of the question may anchor)
    roles: np.ndarray  # ROLES index per token, the question aside
    terms: tuple[frozenset[str], ...]  # stems per token (empty for marks)
    runs: Runs
    cache: dict = field(default_factory=dict)  # the runs plus one more (a typed span); token -> soft word

    def with_run(self, i: int, j: int) -> Runs:
        """The runs with [i, j) appended (the typed path's span, which may hold pauses)."""
        key = ("with", i, j)
        if key not in self.cache:
            spans = list(zip(self.runs.I.tolist(), self.runs.J.tolist())) + [(i, j)]
            self.cache[key] = make_runs(self.texts, self.word, self.starts, self.ends, self.roles, spans)
        return self.cache[key]


@lru_cache(maxsize=256)  # ~100 kB each
def layout(sentence: str) -> Layout:
    """The sentence's :class:`Layout`, kept for the next question about it."""
    texts, starts, words, keys, plain, roles, stems = [], [], [], [], [], [], []
    for m in _TOKEN.finditer(sentence):
        text = m.group(0)
        is_word = text[0].isalnum()
        if is_word and text.endswith(".") and not _ABBREVIATION.fullmatch(text):
            text = text[:-1]  # a sentence's final full stop is not part of its last word
        k = len(texts)
        texts.append(text)
        starts.append(m.start())
        words.append(is_word)
        low = text.lower().replace(",", "")
        if is_word and low not in STOPWORDS:
            keys.append((k, low, word_terms(text)))
        plain.append(is_word and text.lower() not in STOPWORDS)
        roles.append(ROLES.index(role(text, is_word)))
        stems.append(word_terms(text) if is_word else frozenset())
    starts_a = np.array(starts, np.int64)
    ends_a = np.array([s + len(t) for s, t in zip(starts, texts)], np.int64)
    word_a, roles_a = np.array(words, bool), np.array(roles, np.int64)
    runs = make_runs(tuple(texts), word_a, starts_a, ends_a, roles_a, _runs(texts, words))
    return Layout(sentence, tuple(texts), starts_a, ends_a, word_a, tuple(keys), np.array(plain, bool), roles_a,
                  tuple(stems), runs)


def _runs(texts: list[str], words: list[bool]) -> list[tuple[int, int]]:
    """(start, end) of every run that could be an answer, the question's words aside."""
    out = []
    n = len(texts)
    first = [edge_ok(t, w, True) for t, w in zip(texts, words)]
    last = [edge_ok(t, w, False) for t, w in zip(texts, words)]
    for i in range(n):
        if not first[i]:
            continue
        count = 0
        for j in range(i, n):
            if not words[j] and texts[j] not in INSIDE:
                break
            if words[j]:
                if texts[j].lower() in SUBORDINATE:
                    break
                count += 1
                if count > MAX_WORDS:
                    break
            if count and last[j]:  # a span of symbols alone ("$ %") is no answer
                out.append((i, j + 1))
    return out
