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

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import answer_types
from .lexical import STOPWORDS, terms
from .soft_anchors import WordSims, word_sims
from .span_layout import AUXILIARIES, MAX_WORDS, REASON, Layout, Runs, layout, role, verbish
from .span_scores import Plan, allowed, column_sums, plan, scores
from .span_scores import columns as span_columns

WH = ("who", "when", "where", "why", "how", "which", "what")

# Fitted by bench/short_answers.py --fit on split A (see the module docstring); names are feature keys.
WEIGHTS: dict[str, float] = {
    'after:auxiliary': 0.479, 'after:clause': -0.34, 'after:determiner': -0.497, 'after:edge': 0.871,
    'after:function': -0.264, 'after:mark': 0.155, 'after:pause': 0.31, 'after:preposition': -0.195,
    'after:question_word': 0.22, 'after:verbish': -0.381, 'after:word': -0.359, 'before:auxiliary': -0.343,
    'before:clause': -0.071, 'before:determiner': -0.011, 'before:edge': 0.384, 'before:function': 0.005,
    'before:mark': 0.372, 'before:pause': -0.146, 'before:preposition': 0.293, 'before:question_word': -0.163,
    'before:verbish': -0.168, 'before:word': -0.153, 'chosen_exact': 0.244, 'chosen_overlap': -0.017,
    'head_after': 1.113, 'head_inside': 0.334, 'head_sim_after': 0.609, 'head_sim_max': 2.232,
    'how:after_reason_word': 0.006, 'how:all_capitalised': -0.007, 'how:capitalised': -0.906, 'how:digit': 0.075,
    'how:first_verbish': -0.327, 'how:len1': 0.333, 'how:len2': 0.036, 'how:len3': -0.034,
    'how:len4': -0.335, 'how:wh_sim_max': 2.014, 'how:wh_sim_mean': 2.2, 'inner_and': 0.089,
    'inner_function_words': -0.564, 'inner_verbish': -0.124, 'len1': 0.266, 'len2': 0.207,
    'len3': 0.063, 'len4': 0.103, 'len5': -0.113, 'len6': -0.526,
    'log_distance': -0.569, 'matched_inside': 0.406, 'matched_left_share': -0.011, 'near_left': 0.362,
    'near_right': 0.005, 'sentence_start': 0.384, 'soft_inside_max': -0.027, 'soft_inside_mean': -0.344,
    'soft_left': 0.271, 'soft_log_distance': -0.065, 'soft_right': 0.272, 'soft_window': -0.87,
    'typed_exact': -0.065, 'typed_inside': 0.374, 'typed_overlap': 2.357, 'what:after_reason_word': -0.273,
    'what:all_capitalised': -0.004, 'what:capitalised': 1.044, 'what:digit': 0.404, 'what:first_verbish': -0.404,
    'what:len1': 0.158, 'what:len2': 0.118, 'what:len3': -0.005, 'what:len4': -0.27,
    'what:wh_sim_max': 1.025, 'what:wh_sim_mean': 1.379, 'when:after_reason_word': -0.313, 'when:all_capitalised': 0.389,
    'when:capitalised': 0.433, 'when:digit': 1.14, 'when:first_verbish': -0.157, 'when:len1': 0.356,
    'when:len2': 0.05, 'when:len3': -0.03, 'when:len4': -0.376, 'when:wh_sim_max': 0.443,
    'when:wh_sim_mean': 0.512, 'where:after_reason_word': 0.054, 'where:all_capitalised': 0.259, 'where:capitalised': 0.103,
    'where:digit': 0.115, 'where:first_verbish': 0.243, 'where:len1': 0.039, 'where:len2': -0.095,
    'where:len3': -0.143, 'where:len4': 0.199, 'where:wh_sim_max': 0.205, 'where:wh_sim_mean': 0.133,
    'which:after_reason_word': 0.334, 'which:all_capitalised': -0.145, 'which:capitalised': 2.025, 'which:digit': -0.111,
    'which:first_verbish': -0.746, 'which:len1': 0.068, 'which:len2': 0.141, 'which:len3': -0.08,
    'which:len4': -0.13, 'which:wh_sim_max': 0.55, 'which:wh_sim_mean': 0.623, 'who:after_reason_word': -0.312,
    'who:all_capitalised': -0.262, 'who:capitalised': 1.455, 'who:digit': -0.653, 'who:first_verbish': -0.413,
    'who:len1': -0.036, 'who:len2': 0.188, 'who:len3': 0.023, 'who:len4': -0.175,
    'who:wh_sim_max': 0.546, 'who:wh_sim_mean': 0.777, 'why:after_reason_word': 0.545, 'why:all_capitalised': -0.153,
    'why:capitalised': -0.24, 'why:digit': -0.135, 'why:first_verbish': -0.153, 'why:len1': -0.652,
    'why:len2': -0.231, 'why:len3': 0.331, 'why:len4': 0.552, 'why:wh_sim_max': 0.045,
    'why:wh_sim_mean': -0.146, 'window_matches': 1.101,
}
POOL, SHORTLIST = 60, 15  # spans kept for the expectation; spans it is computed for
SOFT_MATCH: float | None = 0.6  # token cosine from which a sentence word anchors like the question's own (on A)
THRESHOLD = 0.20  # minimum expected F1 of the best span: utility is flat over 0.18-0.25 on split A (docs)


_PLANS: dict[str, Plan] = {}  # WEIGHTS arranged per wh-word; set_weights() clears it


def set_weights(weights: dict[str, float]) -> None:
    """Replace WEIGHTS (bench/short_answers.py after fitting) and forget everything derived from them."""
    WEIGHTS.clear()
    WEIGHTS.update(weights)
    _PLANS.clear()
    layout.cache_clear()


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
    head: str | None
    typed: list[tuple[int, int]]
    preferred: tuple[int, int] | None

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


@lru_cache(maxsize=1024)
def _question_words(question: str) -> frozenset[str]:
    return frozenset(w.lower() for w in re.findall(r"[A-Za-z0-9]+", question) if w.lower() not in STOPWORDS)


def features(toks: list[Token], span: tuple[int, int], wh: str, head: str | None,
             typed: list[tuple[int, int]], preferred: tuple[int, int] | None,
             sims: WordSims | None = None) -> dict[str, float]:
    """What a candidate span looks like and where it sits relative to the question's words;
    ``typed``: character spans of the kind the question asks for (answer_types), when it has one;
    ``preferred``: the one of them that the typed path (answer.short_answer) chose."""
    i, j = span
    inside = [t for t in toks[i:j] if t.word]
    n = len(inside)
    matched_at = [k for k, t in enumerate(toks) if t.matched]
    before = toks[i - 1] if i > 0 else None
    after = toks[j] if j < len(toks) else None
    f: dict[str, float] = {}
    f[f"len{min(n, 6)}"] = 1.0
    f[f"{wh}:len{min(n, 4)}"] = 1.0
    left = [k for k in matched_at if k < i]
    right = [k for k in matched_at if k >= j]
    distance = min([i - k for k in left] + [k - j + 1 for k in right], default=len(toks))
    f["log_distance"] = math.log1p(distance)
    f["near_left"] = float(bool(left) and i - left[-1] <= 2)
    f["near_right"] = float(bool(right) and right[0] - j <= 1)
    f["matched_left_share"] = len(left) / len(matched_at) if matched_at else 0.5
    f["matched_inside"] = float(sum(t.matched for t in inside))
    f["window_matches"] = sum(1 for k in matched_at if i - 6 <= k < j + 6) / max(1, len(matched_at))
    for side, tok in (("before", before), ("after", after)):
        f[f"{side}:{_role(tok)}"] = 1.0
    if before is not None and before.word and before.text.lower() in REASON:
        f[f"{wh}:after_reason_word"] = 1.0
    caps = [t for t in inside if t.text[0].isupper() and t.start > 0]
    f[f"{wh}:capitalised"] = len(caps) / n
    f[f"{wh}:all_capitalised"] = float(len(caps) == n)
    f[f"{wh}:digit"] = float(any(ch.isdigit() for t in inside for ch in t.text))
    f["inner_function_words"] = sum(t.text.lower() in STOPWORDS for t in inside) / n
    f["inner_verbish"] = float(any(verbish(t.text) for t in inside[1:]))
    f[f"{wh}:first_verbish"] = float(verbish(inside[0].text))
    f["inner_and"] = float(any(t.text.lower() == "and" for t in inside))
    if head:
        own = set(terms(" ".join(t.text for t in inside)))
        after_terms = set(terms(after.text)) if after is not None and after.word else set()
        f["head_inside"] = float(head in own)
        f["head_after"] = float(head in after_terms)
    f["sentence_start"] = float(i == 0)
    start, end = toks[i].start, toks[j - 1].end
    if typed:
        f["typed_exact"] = float((start, end) in typed)
        f["typed_overlap"] = float(any(a < end and start < b for a, b in typed))
        f["typed_inside"] = float(any(a <= start and end <= b for a, b in typed))
    if preferred:
        f["chosen_exact"] = float((start, end) == preferred)
        f["chosen_overlap"] = float(preferred[0] < end and start < preferred[1])
    if sims is not None:
        _soft_features(f, toks, span, wh, sims)
    return f


def _soft_features(f: dict[str, float], toks: list[Token], span: tuple[int, int], wh: str, sims: WordSims) -> None:
    """Token-vector features (bot/soft_anchors.py): answers are near words that mean what the
    question says (paraphrase included) without meaning it themselves, and look like the wh-word's and
    the head noun's kind."""
    i, j = span
    inside = [t.start for t in toks[i:j] if t.word and t.start in sims.question]
    if not inside:
        return
    q_in = [sims.question[s] for s in inside]
    f["soft_inside_mean"] = sum(q_in) / len(q_in)
    f["soft_inside_max"] = max(q_in)
    words = [(k, sims.question[t.start]) for k, t in enumerate(toks) if t.word and t.start in sims.question]
    left = [q for k, q in words if i - 3 <= k < i]
    right = [q for k, q in words if j <= k < j + 3]
    f["soft_left"] = max(left, default=0.0)
    f["soft_right"] = max(right, default=0.0)
    strong = [k for k, q in words if q >= 0.75 and not i <= k < j]
    f["soft_log_distance"] = math.log1p(min((i - k if k < i else k - j + 1) for k in strong)) if strong else 3.0
    f["soft_window"] = sum(q for k, q in words if i - 6 <= k < j + 6 and not i <= k < j) / max(1.0, sum(q for _, q in words))
    f[f"{wh}:wh_sim_max"] = max(sims.wh[s] for s in inside)
    f[f"{wh}:wh_sim_mean"] = sum(sims.wh[s] for s in inside) / len(inside)
    f["head_sim_max"] = max(sims.head[s] for s in inside)
    after = toks[j] if j < len(toks) else None
    f["head_sim_after"] = sims.head.get(after.start, 0.0) if after is not None and after.word else 0.0


def _role(tok: Token | None) -> str:
    """What bounds a span on one side: the sentence edge, a word of the question, or its role
    (span_layout.role: a pause, a function word by kind, an ordinary word)."""
    if tok is None:
        return "edge"
    return "question_word" if tok.matched else role(tok.text, tok.word)


def prepare(sentence: str, question: str, question_terms: tuple[str, ...], kind: str | None,
            preferred: tuple[int, int] | None = None, sims: WordSims | None = None) -> Prepared:
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
    p = _PLANS.get(wh) or _PLANS.setdefault(wh, plan(WEIGHTS, wh))
    columns = span_columns(lay, matched, [head in stems for stems in lay.terms] if head else None, p)
    columns[:, 2:5] = cos
    runs, extra = lay.runs, None
    if preferred:
        inside = np.flatnonzero((preferred[0] <= lay.starts) & (lay.ends <= preferred[1]))
        if len(inside):
            i, j = int(inside[0]), int(inside[-1]) + 1
            extra = runs.index.get((i, j))
            if extra is None:
                runs, extra = lay.with_run(i, j), len(runs)
            preferred = (int(lay.starts[i]), int(lay.ends[j - 1]))
    sums = column_sums(runs, columns)
    ok = allowed(runs, sums)[:len(lay.runs)]
    rows = np.flatnonzero(ok)
    if extra is not None and (extra == len(ok) or not ok[extra]):
        rows = np.append(rows, extra)
    typed = answer_types.spans(sentence, kind) if kind else []
    return Prepared(lay, matched, sims, has, runs, rows, columns, sums, wh, head, typed, preferred)


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


def candidate_features(sentence: str, question: str, question_terms: tuple[str, ...], kind: str | None,
                       preferred: tuple[int, int] | None = None, sims: WordSims | None = None
                       ) -> tuple[list[Token], list[tuple[int, int]], list[dict[str, float]]]:
    """The sentence's tokens, its candidate spans (token ranges) and their named features (for
    fitting and reading the model; answering uses :func:`bot.span_scores.scores`)."""
    got = prepare(sentence, question, question_terms, kind, preferred, sims)
    toks, spans = got.tokens(), got.spans()
    return toks, spans, [features(toks, s, got.wh, got.head, got.typed, got.preferred, sims) for s in spans]


def linear_scores(got: Prepared) -> np.ndarray:
    """Every candidate's score (bot/span_scores.py) for a prepared sentence."""
    return scores(got.runs, got.sums, got.columns, got.has, got.typed, got.preferred, _PLANS[got.wh])[got.rows]


def scored(sentence: str, question: str, question_terms: tuple[str, ...], kind: str | None = None,
           preferred: tuple[int, int] | None = None, sims: WordSims | None = None
           ) -> list[tuple[float, float, tuple[int, int]]]:
    """Every candidate's (expected F1, probability, character span), best first.

    The probabilities (softmax of the linear scores) spread over many overlapping spans, so neither
    the top one nor its probability is the best bet: the span chosen is the one with the highest
    token F1 expected against the model's own distribution over spans (minimum-Bayes-risk choice),
    and that expectation is the confidence the threshold applies to."""
    got = prepare(sentence, question, question_terms, kind, preferred, sims)
    if not len(got.rows) or not got.matched.any():  # nothing of the question here: no anchor
        return []
    values = linear_scores(got)
    weights = np.exp(values - values.max())
    probs = weights / weights.sum()
    order = np.argsort(-probs, kind="stable")[:POOL]  # equal probabilities keep the candidates' order
    pool, probs = got.rows[order], probs[order]
    expected = got.runs.overlap_f1()[pool[:SHORTLIST, None], pool] @ probs  # shortlisted spans vs the pool
    best = np.argsort(-expected, kind="stable")
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
              vectors: tuple | None = None) -> tuple[int, int] | None:
    """The best answer span of ``sentence`` for ``query`` (a retrieval Query), or None when its
    expected F1 is under ``threshold`` (default: the fitted THRESHOLD). ``preferred``: the typed
    path's span, which becomes a candidate with features of its own; ``vectors``: the sentence's token
    vectors and piece ids (TokenMatrix rows) for the soft-anchor features, when the index has them."""
    sims = word_sims(sentence, vectors[0], vectors[1], query) if vectors is not None else None
    ranked = scored(sentence, query.text, query.terms, query.kind, preferred, sims)
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
    if preferred and preferred[0] <= span[0] and span[1] <= preferred[1]:
        # the kind's own pattern holds what candidates cannot: "2 billion yuan ($278 million)"
        return preferred
    return span
