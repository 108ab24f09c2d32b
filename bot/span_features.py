"""The span extractor's features by name, one dict per candidate: what fitting the weights
(bench/short_answers.py) and reading the model use. Answering sums the same weighted features for
all candidates at once (bot/span_scores.py); tests/test_short_answers.py checks both agree.
"""

from __future__ import annotations

import math

import numpy as np

from .extract import Token, prepare
from .lexical import STOPWORDS, terms
from .soft_anchors import WordSims
from .span_layout import REASON, role, verbish
from .span_syntax import named, run_syntax
from .syntax import Parse


def candidate_features(sentence: str, question: str, question_terms: tuple[str, ...], kind: str | None,
                       preferred: tuple[int, int] | None = None, sims: WordSims | None = None,
                       parse: Parse | None = None
                       ) -> tuple[list[Token], list[tuple[int, int]], list[dict[str, float]]]:
    """The sentence's tokens, its candidate spans (token ranges) and their named features (for
    fitting and reading the model; answering uses :func:`bot.span_scores.scores`); with ``parse``,
    the syntax features too (bot/span_syntax.py), whichever weights are set."""
    got = prepare(sentence, question, question_terms, kind, preferred, sims, parse)
    toks, spans = got.tokens(), got.spans()
    feats = [features(toks, s, got.wh, got.head, got.typed, got.preferred, sims, got.shape) for s in spans]
    if parse is not None:
        syntax = named(run_syntax(got.lay, got.runs, parse), np.flatnonzero(got.matched), got.wh, got.shape)
        for f, row in zip(feats, got.rows.tolist()):
            f.update(syntax[row])
    return toks, spans, feats


def features(toks: list[Token], span: tuple[int, int], wh: str, head: str | None,
             typed: list[tuple[int, int]], preferred: tuple[int, int] | None,
             sims: WordSims | None = None, shape: str | None = None) -> dict[str, float]:
    """What a candidate span looks like and where it sits relative to the question's words;
    ``typed``: character spans of the kind the question asks for (answer_types), when it has one;
    ``preferred``: the one of them that the typed path (answer.short_answer) chose; ``shape``: the
    question's (:func:`question_shape`)."""
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
    if shape:
        f[f"{shape}:near_left"], f[f"{shape}:near_right"] = f["near_left"], f["near_right"]
        f[f"{shape}:left_share"] = f["matched_left_share"]
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
