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

from . import answer_types
from .lexical import STOPWORDS, terms

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.,'’&-][A-Za-z0-9]+)*\.?|[$€£¥%]|[^\sA-Za-z0-9]")
MAX_WORDS = 10  # SQuAD answers are short: 9 in 10 have at most this many words

# English function words by role; the span edges and the boundary features use them.
_PREPOSITIONS = frozenset("of in on at by for from with to into onto over under about after before during since "
                          "until through across against among between within without toward towards upon near "
                          "via per than as like".split())
_DETERMINERS = frozenset("a an the this that these those its his her their our my your some any each every "
                         "no another".split())
_CLAUSE = frozenset("which who whom whose that where when while because although though since if unless whereas "
                    "and but or nor so".split())
_AUXILIARIES = frozenset("is are was were be been being am has have had do does did will would can could "
                         "should may might must shall".split())
# a clause of its own starts here: "closed in 2015 | because demand fell" is two answers, not one
_SUBORDINATE = frozenset("because which whom whose although though whereas while unless".split())
_REASON = frozenset("because due since as so to for".split())
_PAUSE = frozenset(",;:()[]\"“”‘’—–")
# inside an answer: money and percent signs, hyphens and apostrophes of names
_INSIDE = frozenset("$€£¥%&'’-/.")
WH = ("who", "when", "where", "why", "how", "which", "what")

# Fitted by bench/short_answers.py --fit on split A (see the module docstring); names are feature keys.
WEIGHTS: dict[str, float] = {
    'after:auxiliary': 0.402, 'after:clause': -0.35, 'after:determiner': -0.404, 'after:edge': 0.816,
    'after:function': -0.31, 'after:mark': 0.055, 'after:pause': 0.271, 'after:preposition': -0.143,
    'after:question_word': 0.266, 'after:verbish': -0.278, 'after:word': -0.327, 'before:auxiliary': -0.294,
    'before:clause': -0.1, 'before:determiner': -0.065, 'before:edge': 0.37, 'before:function': 0.034,
    'before:mark': 0.326, 'before:pause': -0.026, 'before:preposition': 0.28, 'before:question_word': -0.22,
    'before:verbish': -0.098, 'before:word': -0.208, 'chosen_exact': 0.214, 'chosen_overlap': 0.061,
    'head_after': 1.355, 'head_inside': 1.157, 'how:after_reason_word': -0.028, 'how:all_capitalised': -0.148,
    'how:capitalised': -1.115, 'how:digit': 0.419, 'how:first_verbish': -0.289, 'how:len1': 0.374,
    'how:len2': -0.037, 'how:len3': -0.04, 'how:len4': -0.297, 'inner_and': 0.068,
    'inner_function_words': -0.199, 'inner_verbish': -0.098, 'len1': 0.185, 'len2': 0.163,
    'len3': 0.109, 'len4': 0.092, 'len5': -0.102, 'len6': -0.448,
    'log_distance': -0.708, 'matched_inside': 0.483, 'matched_left_share': -0.009, 'near_left': 0.327,
    'near_right': 0.036, 'sentence_start': 0.37, 'typed_exact': -0.077, 'typed_inside': 0.576,
    'typed_overlap': 2.641, 'what:after_reason_word': -0.336, 'what:all_capitalised': -0.058, 'what:capitalised': 0.994,
    'what:digit': 0.494, 'what:first_verbish': -0.386, 'what:len1': 0.106, 'what:len2': 0.099,
    'what:len3': -0.044, 'what:len4': -0.162, 'when:after_reason_word': -0.419, 'when:all_capitalised': 0.456,
    'when:capitalised': 0.462, 'when:digit': 1.091, 'when:first_verbish': 0.021, 'when:len1': 0.318,
    'when:len2': 0.181, 'when:len3': -0.003, 'when:len4': -0.496, 'where:after_reason_word': 0.088,
    'where:all_capitalised': 0.198, 'where:capitalised': 0.186, 'where:digit': 0.092, 'where:first_verbish': 0.405,
    'where:len1': 0.087, 'where:len2': -0.109, 'where:len3': -0.086, 'where:len4': 0.108,
    'which:after_reason_word': 0.311, 'which:all_capitalised': -0.374, 'which:capitalised': 2.443, 'which:digit': -0.236,
    'which:first_verbish': -0.647, 'which:len1': -0.021, 'which:len2': 0.079, 'which:len3': -0.03,
    'which:len4': -0.028, 'who:after_reason_word': -0.311, 'who:all_capitalised': -0.33, 'who:capitalised': 1.343,
    'who:digit': -0.569, 'who:first_verbish': -0.077, 'who:len1': -0.12, 'who:len2': 0.158,
    'who:len3': 0.046, 'who:len4': -0.084, 'why:after_reason_word': 0.432, 'why:all_capitalised': -0.143,
    'why:capitalised': -0.224, 'why:digit': -0.104, 'why:first_verbish': -0.177, 'why:len1': -0.559,
    'why:len2': -0.207, 'why:len3': 0.266, 'why:len4': 0.501, 'window_matches': 0.83,
}
POOL, SHORTLIST = 60, 15  # spans kept for the expectation; spans it is computed for
THRESHOLD = 0.25  # minimum expected F1 of the best span (chosen on split A, checked on split B)


@dataclass(frozen=True)
class Token:
    """One word or punctuation mark of the sentence with its character span."""

    text: str
    start: int
    end: int
    word: bool
    matched: bool


def tokens(sentence: str, question_terms: frozenset[str], question_words: frozenset[str]) -> list[Token]:
    """The sentence's tokens, each marked when the question says the same word (stemmed, as retrieval
    matches words, or the same spelling for a content word)."""
    out = []
    for m in _TOKEN.finditer(sentence):
        text = m.group(0)
        is_word = text[0].isalnum()
        if is_word and text.endswith(".") and not re.fullmatch(r"(?:[A-Za-z]\.)+|[A-Z][a-z]?\.", text):
            text = text[:-1]  # a sentence's final full stop is not part of its last word
        low = text.lower().replace(",", "")
        matched = is_word and low not in STOPWORDS and (low in question_words or bool(set(terms(text)) & question_terms))
        out.append(Token(text, m.start(), m.start() + len(text), is_word, matched))
    return out


def wh_word(question: str) -> str:
    """The question word that says what is wanted ("what" when none is found: "Name the ...")."""
    found = re.search(r"\b(" + "|".join(WH) + r")\b", question.lower())
    return found.group(1) if found else "what"


def head_noun(question: str) -> str | None:
    """The noun right after "what/which" ("What *company* ..."), stemmed, when there is one."""
    found = re.search(r"\b(?:what|which)\s+(?:kind of |type of |sort of )?([a-z]+)", question.lower())
    if not found or found.group(1) in STOPWORDS or found.group(1) in _AUXILIARIES:
        return None
    stem = terms(found.group(1))
    return stem[0] if stem else None


def candidates(toks: list[Token]) -> list[tuple[int, int]]:
    """Token ranges (i, j) that could be an answer: at most MAX_WORDS words, no pause punctuation
    inside, not mostly the question's own words, and no function word at either edge."""
    out = []
    n = len(toks)
    for i in range(n):
        if not _edge_ok(toks[i], first=True):
            continue
        words = matched = 0
        for j in range(i, n):
            t = toks[j]
            if not t.word and t.text not in _INSIDE:
                break
            if t.word and t.text.lower() in _SUBORDINATE:
                break
            if t.word:
                words += 1
                matched += t.matched
            if words > MAX_WORDS:
                break
            if matched > 1 or (matched and words < 3):
                continue
            if _edge_ok(t, first=False):
                out.append((i, j + 1))
    return out


def _edge_ok(tok: Token, first: bool) -> bool:
    low = tok.text.lower()
    if not tok.word:
        return tok.text in "$€£¥" if first else tok.text == "%"
    return low not in STOPWORDS and low not in _PREPOSITIONS and low not in _AUXILIARIES and not tok.matched


def features(toks: list[Token], span: tuple[int, int], wh: str, head: str | None,
             typed: list[tuple[int, int]], preferred: tuple[int, int] | None) -> dict[str, float]:
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
    f["matched_none"] = float(not matched_at)
    f["matched_left_share"] = len(left) / len(matched_at) if matched_at else 0.5
    f["matched_inside"] = float(sum(t.matched for t in inside))
    f["window_matches"] = sum(1 for k in matched_at if i - 6 <= k < j + 6) / max(1, len(matched_at))
    for side, tok in (("before", before), ("after", after)):
        f[f"{side}:{_role(tok)}"] = 1.0
    if before is not None and before.word and before.text.lower() in _REASON:
        f[f"{wh}:after_reason_word"] = 1.0
    caps = [t for t in inside if t.text[0].isupper() and t.start > 0]
    f[f"{wh}:capitalised"] = len(caps) / n
    f[f"{wh}:all_capitalised"] = float(len(caps) == n)
    f[f"{wh}:digit"] = float(any(ch.isdigit() for t in inside for ch in t.text))
    f["inner_function_words"] = sum(t.text.lower() in STOPWORDS for t in inside) / n
    f["inner_verbish"] = float(any(_verbish(t.text) for t in inside[1:]))
    f[f"{wh}:first_verbish"] = float(_verbish(inside[0].text))
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
    return f


def _role(tok: Token | None) -> str:
    """What bounds a span on one side: the sentence edge, a pause, a function word by kind, a word of
    the question, or an ordinary word (then the span probably cuts a phrase in two)."""
    if tok is None:
        return "edge"
    if not tok.word:
        return "pause" if tok.text in _PAUSE else "mark"
    low = tok.text.lower()
    if tok.matched:
        return "question_word"
    for name, group in (("preposition", _PREPOSITIONS), ("determiner", _DETERMINERS), ("clause", _CLAUSE),
                        ("auxiliary", _AUXILIARIES)):
        if low in group:
            return name
    if low in STOPWORDS:
        return "function"
    return "verbish" if _verbish(tok.text) else "word"


def _verbish(word: str) -> bool:
    """A lower-case word with a verb's ending: a crude part-of-speech cue that needs no tagger."""
    return word.islower() and len(word) > 4 and word.endswith(("ed", "ing", "es", "ize", "ise"))


def candidate_features(sentence: str, question: str, question_terms: tuple[str, ...], kind: str | None,
                       preferred: tuple[int, int] | None = None
                       ) -> tuple[list[Token], list[tuple[int, int]], list[dict[str, float]]]:
    """The sentence's tokens, its candidate spans (token ranges) and their features. The typed path's
    choice is always a candidate, even when it holds pauses ("2 billion yuan ($278 million)")."""
    q_words = frozenset(w.lower() for w in re.findall(r"[A-Za-z0-9]+", question) if w.lower() not in STOPWORDS)
    toks = tokens(sentence, frozenset(question_terms), q_words)
    spans = candidates(toks)
    if preferred:
        inside = [k for k, t in enumerate(toks) if preferred[0] <= t.start and t.end <= preferred[1]]
        if inside and (inside[0], inside[-1] + 1) not in spans:
            spans.append((inside[0], inside[-1] + 1))
        if inside:
            preferred = (toks[inside[0]].start, toks[inside[-1]].end)
    wh, head = wh_word(question), head_noun(question)
    typed = answer_types.spans(sentence, kind) if kind else []
    return toks, spans, [features(toks, s, wh, head, typed, preferred) for s in spans]


def scored(sentence: str, question: str, question_terms: tuple[str, ...], kind: str | None = None,
           preferred: tuple[int, int] | None = None) -> list[tuple[float, float, tuple[int, int]]]:
    """Every candidate's (expected F1, probability, character span), best first.

    The probabilities (softmax of the linear scores) spread over many overlapping spans, so neither
    the top one nor its probability is the best bet: the span chosen is the one with the highest
    token F1 expected against the model's own distribution over spans (minimum-Bayes-risk choice),
    and that expectation is the confidence the threshold applies to."""
    toks, spans, feats = candidate_features(sentence, question, question_terms, kind, preferred)
    if not spans or not any(t.matched for t in toks):  # nothing of the question here: no anchor
        return []
    values = [sum(WEIGHTS.get(k, 0.0) * v for k, v in f.items()) for f in feats]
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    total = sum(weights)
    ranked = sorted(zip((w / total for w in weights), spans), key=lambda pair: -pair[0])[:POOL]
    out = []
    for _, (i, j) in ranked[:SHORTLIST]:
        expected = sum(p * _overlap_f1(i, j, a, b) for p, (a, b) in ranked)
        out.append((expected, (i, j)))
    out.sort(key=lambda pair: -pair[0])
    probability = dict((span, p) for p, span in ranked)
    return [(e, probability[(i, j)], (toks[i].start, toks[j - 1].end)) for e, (i, j) in out]


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


def _overlap_f1(i: int, j: int, a: int, b: int) -> float:
    """Token F1 of two token ranges (punctuation counted as tokens: close enough for ranking)."""
    same = min(j, b) - max(i, a)
    return 0.0 if same <= 0 else 2 * same / ((j - i) + (b - a))


def best_span(sentence: str, query, threshold: float | None = None,
              preferred: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The best answer span of ``sentence`` for ``query`` (a retrieval Query), or None when its
    expected F1 is under ``threshold`` (default: the fitted THRESHOLD). ``preferred``: the typed
    path's span, which becomes a candidate with features of its own."""
    ranked = scored(sentence, query.text, query.terms, query.kind, preferred)
    if not ranked:
        return None
    expected, _, span = ranked[0]
    if expected < (THRESHOLD if threshold is None else threshold):
        return None
    span = _whole_name(sentence, span)
    if preferred and preferred[0] <= span[0] and span[1] <= preferred[1]:
        # the kind's own pattern holds what candidates cannot: "2 billion yuan ($278 million)"
        return preferred
    return span
