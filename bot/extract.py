"""Generic short-answer extraction: the span of the cited sentence that answers a what/which/how/why
question, or None when no span is clearly the answer.

Why this shape: without a reader model, the classic "gap" heuristic is what works on news prose. The
words of the sentence that the question also says (stemmed, as retrieval matches them) are what the
question is *about*; the answer is a short run of the *other* words, close to them, that looks like a
phrase (bounded by punctuation, prepositions, verbs or clause words) of the kind the wh-word asks for
(who: a name; how many: a number; why: a reason clause). Each candidate run gets a linear score of
such features; the weights were fitted on half of the SQuAD v1.1 sample's articles and checked on the
other half (bench/short_answers.py, docs/quality.md "Short answers"). The scores of one sentence's
candidates are turned into probabilities; the best span is given only when its probability passes a
threshold chosen on the same data, so an unclear question gets no highlight rather than a wrong one.
Nothing here names an article's words: only English function words and punctuation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import answer_types
from .lexical import STOPWORDS, terms
from .soft_anchors import WordSims, word_sims
from .span_layout import ALNUM, AUXILIARIES, MAX_WORDS, Layout, Runs, layout  # noqa: F401 (MAX_WORDS: kept as extract.MAX_WORDS)
from .span_scores import Plan, allowed, column_sums, plan, scores
from .span_scores import columns as span_columns
from .span_syntax import RunSyntax, run_syntax
from .span_syntax import scores as syntax_scores
from .span_weights import SYNTAX_WEIGHTS, WEIGHTS
from .syntax import Parse

WH = ("who", "when", "where", "why", "how", "which", "what")
POOL, SHORTLIST = 60, 15  # spans kept for the expectation; spans it is computed for
SOFT_MATCH: float | None = 0.6  # token cosine from which a sentence word anchors like the question's own (on A)
THRESHOLD = 0.20  # minimum expected F1 of the best span: utility is flat over 0.18-0.25 on split A (docs)


# the weights per wh-word, question shape and whether the sentence has a parse; set_weights() clears it
_PLANS: dict[tuple[str, str | None, bool], Plan] = {}


def set_weights(weights: dict[str, float], syntax: bool = False) -> None:
    """Replace WEIGHTS, or with ``syntax`` SYNTAX_WEIGHTS (bench/short_answers.py after fitting), and
    forget everything derived from them."""
    target = SYNTAX_WEIGHTS if syntax else WEIGHTS
    target.clear()
    target.update(weights)
    _PLANS.clear()
    layout.cache_clear()


def sentence_sims(sentence: str, vectors: tuple | None, query) -> WordSims | None:
    """The soft-anchor similarities of ``sentence`` for ``query`` (None without token vectors)."""
    return word_sims(sentence, vectors[0], vectors[1], query) if vectors is not None else None


PARSE_WORDS = 150  # longer "sentences" (a table or list run together) are read without their parse:
# its word-pair tables grow with the square of the length (2,000 words: ~5 s); the SQuAD sample's longest is 134


def weights_for(parse: Parse | None) -> dict[str, float]:
    """The weights fitted with the features this sentence has: with its parse, when one was fitted."""
    return SYNTAX_WEIGHTS if parse is not None and SYNTAX_WEIGHTS and len(parse) <= PARSE_WORDS else WEIGHTS


@dataclass(frozen=True)
class Token:
    """One word or punctuation mark of the sentence with its character span."""

    text: str
    start: int
    end: int
    word: bool
    matched: bool


@dataclass(frozen=True, eq=False)
class Prepared:
    """A sentence read for one question: its layout, which tokens the question says (``matched``),
    the candidate spans (``rows`` of ``runs``) and everything question-side the scores need."""

    lay: Layout
    matched: np.ndarray
    sims: WordSims | None
    has: np.ndarray | None  # per token: has cosines (a word of the soft layout); None: no token vectors
    runs: Runs  # the sentence's runs (plus the typed span when it is none of them)
    rows: np.ndarray  # the candidates among them, in order
    columns: np.ndarray  # per token: span_scores.COLUMNS
    sums: np.ndarray  # span_scores.column_sums(runs, columns)
    wh: str
    shape: str | None
    head: str | None
    typed: list[tuple[int, int]]
    preferred: tuple[int, int] | None
    syntax: RunSyntax | None  # the runs in the sentence's parse (bot/span_syntax.py), when it has one
    plan: Plan

    def tokens(self) -> list[Token]:
        """The sentence's tokens with the question's words marked (what the named features read)."""
        return _tokens_of(self.lay, self.matched)

    def spans(self) -> list[tuple[int, int]]:
        return list(zip(self.runs.I[self.rows].tolist(), self.runs.J[self.rows].tolist()))


def tokens(sentence: str, question_terms: frozenset[str], question_words: frozenset[str]) -> list[Token]:
    """The sentence's tokens, each marked when the question says the same word (stemmed, as retrieval
    matches words, or the same spelling for a content word)."""
    lay = layout(sentence)
    return _tokens_of(lay, _matched(lay, question_terms, question_words))


def _tokens_of(lay: Layout, matched: np.ndarray) -> list[Token]:
    return [Token(t, int(a), int(b), bool(w), bool(m)) for t, a, b, w, m in
            zip(lay.texts, lay.starts, lay.ends, lay.word, matched)]


def _matched(lay: Layout, question_terms: frozenset[str], question_words: frozenset[str]) -> np.ndarray:
    out = np.zeros(len(lay.texts), bool)
    out[[k for k, low, stems in lay.keys if low in question_words or not stems.isdisjoint(question_terms)]] = True
    return out


@lru_cache(maxsize=1024)
def wh_word(question: str) -> str:
    """The question word that says what is wanted ("what" when none is found: "Name the ...")."""
    found = re.search(r"\b(" + "|".join(WH) + r")\b", question.lower())
    return found.group(1) if found else "what"


@lru_cache(maxsize=1024)
def head_noun(question: str) -> str | None:
    """The noun right after "what/which" ("What *company* ..."), stemmed, when there is one."""
    found = re.search(r"\b(?:what|which)\s+(?:kind of |type of |sort of )?([a-z]+)", question.lower())
    if not found or found.group(1) in STOPWORDS or found.group(1) in AUXILIARIES:
        return None
    stem = terms(found.group(1))
    return stem[0] if stem else None


_AUX_OBJECT = frozenset("do does did can could will would should may might must shall".split())
_AUX_COPULA = frozenset("is are was were be been am".split())


@lru_cache(maxsize=1024)
def question_shape(question: str) -> str:
    """Where the answer stands to the question's verb: "object" ("What did Kuznets argue?": after
    it), "subject" ("Who won the match?": before it), "copula" ("Who is the mayor?": either side),
    from the first auxiliary within four words after the wh-word (none: a subject question)."""
    words = re.findall(r"[a-z']+", question.lower())
    at = next((k for k, w in enumerate(words) if w in WH), None)
    if at is None:
        return "other"
    for w in words[at + 1:at + 5]:
        if w in _AUX_OBJECT:
            return "object"
        if w in _AUX_COPULA:
            return "copula"
    return "subject"


@lru_cache(maxsize=1024)
def _question_words(question: str) -> frozenset[str]:
    return frozenset(w.lower() for w in re.findall(f"{ALNUM}+", question) if w.lower() not in STOPWORDS)


def prepare(sentence: str, question: str, question_terms: tuple[str, ...], kind: str | None,
            preferred: tuple[int, int] | None = None, sims: WordSims | None = None,
            parse: Parse | None = None) -> Prepared:
    """The sentence read for the question: tokens it says (a paraphrase at token cosine SOFT_MATCH
    anchors too), candidate spans, wh-word, head noun, typed spans and the typed choice. The typed
    path's choice is always a candidate, even when it holds pauses ("2 billion yuan ($278 million)")."""
    lay = layout(sentence)
    matched = _matched(lay, frozenset(question_terms), _question_words(question))
    cos = np.zeros((len(lay.texts), 3))  # question / wh-word / head cosines
    has = _soft_columns(lay, sims, cos) if sims is not None else None
    if has is not None and SOFT_MATCH is not None:
        matched |= lay.plain & (cos[:, 0] >= SOFT_MATCH)
    wh, head = wh_word(question), head_noun(question)
    heads = np.array([head in stems for stems in lay.terms], bool) if head else None
    shape = question_shape(question)
    weights = weights_for(parse)
    key = (wh, shape, weights is SYNTAX_WEIGHTS)
    p = _PLANS.get(key) or _PLANS.setdefault(key, plan(weights, wh, shape))
    columns = span_columns(lay, matched, heads, p)
    columns[:, 2:5] = cos
    runs, extra = lay.runs, None
    if preferred:
        inside = ((preferred[0] <= lay.starts) & (lay.ends <= preferred[1])).nonzero()[0]
        if len(inside):
            i, j = int(inside[0]), int(inside[-1]) + 1
            extra = runs.index.get((i, j))
            if extra is None:
                runs, extra = lay.with_run(i, j), len(runs)
            preferred = (int(lay.starts[i]), int(lay.ends[j - 1]))
    sums = column_sums(runs, columns)
    ok = allowed(runs, sums)[:len(lay.runs)]
    rows = ok.nonzero()[0]
    if extra is not None and (extra == len(ok) or not ok[extra]):
        rows = np.append(rows, extra)
    typed = answer_types.spans(sentence, kind) if kind else []
    syntax = run_syntax(lay, runs, parse) if weights is SYNTAX_WEIGHTS else None
    return Prepared(lay, matched, sims, has, runs, rows, columns, sums, wh, shape, head, typed, preferred, syntax, p)


def _soft_columns(lay: Layout, sims: WordSims, out: np.ndarray) -> np.ndarray:
    """Write ``sims`` per token of the layout into ``out`` (tokens x 3; marks and words without
    cosines stay 0) and return which tokens have them."""
    kept = lay.cache.get("soft")
    if kept is None:
        at = {s: k for k, s in enumerate(sims.starts)}
        pairs = [(k, at[s]) for k, s in enumerate(lay.starts.tolist()) if lay.word[k] and s in at]
        tokens, words = np.array([k for k, _ in pairs], np.int64), np.array([w for _, w in pairs], np.int64)
        has = np.zeros(len(lay.texts), bool)
        has[tokens] = True
        kept = lay.cache["soft"] = (tokens, words, has)
    out[kept[0]] = sims.values[kept[1]]
    return kept[2]


def linear_scores(got: Prepared) -> np.ndarray:
    """Every candidate's score (bot/span_scores.py, bot/span_syntax.py) for a prepared sentence."""
    s = scores(got.runs, got.sums, got.columns, got.has, got.typed, got.preferred, got.plan)
    if got.syntax is not None:
        s = s + syntax_scores(got.syntax, got.matched.nonzero()[0], SYNTAX_WEIGHTS, got.wh, got.shape)
    return s[got.rows]


def scored(sentence: str, question: str, question_terms: tuple[str, ...], kind: str | None = None,
           preferred: tuple[int, int] | None = None, sims: WordSims | None = None, parse: Parse | None = None
           ) -> list[tuple[float, float, tuple[int, int]]]:
    """Every candidate's (expected F1, probability, character span), best first.

    The probabilities (softmax of the linear scores) spread over many overlapping spans, so neither
    the top one nor its probability is the best bet: the span chosen is the one with the highest
    token F1 expected against the model's own distribution over spans (minimum-Bayes-risk choice),
    and that expectation is the confidence the threshold applies to."""
    got = prepare(sentence, question, question_terms, kind, preferred, sims, parse)
    if not len(got.rows) or not got.matched.any():  # nothing of the question here: no anchor
        return []
    values = linear_scores(got)
    weights = np.exp(values - values.max())
    probs = weights / weights.sum()
    order = (-probs).argsort(kind="stable")[:POOL]  # equal probabilities keep the candidates' order
    pool, probs = got.rows[order], probs[order]
    expected = got.runs.overlap_f1()[pool[:SHORTLIST, None], pool] @ probs  # shortlisted spans vs the pool
    best = (-expected).argsort(kind="stable")
    chosen = pool[best]
    return list(zip(expected[best].tolist(), probs[best].tolist(),
                    zip(got.runs.start[chosen].tolist(), got.runs.end[chosen].tolist())))


@lru_cache(maxsize=4096)
def _whole_name(sentence: str, span: tuple[int, int]) -> tuple[int, int]:
    """Never cut a name in half: a span ending inside a run of capitalised words takes the whole run,
    the question's words included ("Electric" -> "Harbin Electric Group" for "Which group does
    Harbin Turbine belong to?")."""
    start, end = span
    if sentence[start:start + 1].isupper():
        before = re.search(r"(?:(?<![.!?] )\b[A-Z][\w'’&-]*\s)+$", sentence[:start])
        if before and before.start() > 0:
            start = before.start()
    if sentence[start:end].split()[-1][:1].isupper():
        after = re.match(r"(?:\s[A-Z][\w'’&-]*)+", sentence[end:])
        if after:
            end += after.end()
    return start, end


def best_span(sentence: str, query, threshold: float | None = None, preferred: tuple[int, int] | None = None,
              vectors: tuple | None = None, parse: Parse | None = None, ranked: list | None = None
              ) -> tuple[int, int] | None:
    """The best answer span of ``sentence`` for ``query`` (a retrieval Query), or None when its
    expected F1 is under ``threshold`` (default: the fitted THRESHOLD). ``preferred``: the typed
    path's span, which becomes a candidate with features of its own; ``vectors``: the sentence's token
    vectors and piece ids (TokenMatrix rows) for the soft-anchor features, when the index has them;
    ``parse``: its dependency parse (bot/syntax.py) for the syntax features, likewise; ``ranked``:
    :func:`scored` of these very arguments when the caller has it already."""
    if ranked is None:
        ranked = scored(sentence, query.text, query.terms, query.kind, preferred,
                        sentence_sims(sentence, vectors, query), parse)
    if not ranked:
        return None
    limit = THRESHOLD if threshold is None else threshold
    asked = set(query.terms)
    for expected, _, span in ranked:
        if expected < limit:
            return None
        whole = _whole_name(sentence, span)
        if whole == span:
            break
        own = terms(sentence[whole[0]:whole[1]])
        if sum(w in asked for w in own) * 2 < len(own):
            span = whole
            break  # taking the whole name must not turn the answer into the question's own name
    else:
        return None
    if preferred and (_within(span, preferred) or _within(preferred, span)):
        # the kind's own pattern holds what candidates cannot ("2 billion yuan ($278 million)"), and the
        # words a candidate adds around the typed answer are not part of it ("de Orellana in 1542")
        return preferred
    return span


def _within(inner: tuple[int, int], outer: tuple[int, int]) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]
