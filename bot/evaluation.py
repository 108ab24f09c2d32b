"""The evaluation runner: asks a suite's questions through the real pipeline and scores each answer.

Why through the pipeline's public API only: the numbers must describe what a person gets, so every
turn is answered by ``Pipeline.answer_many`` (conversations in one ``Conversation``, in order) and the
ranking behind hit@k is the bot's citations followed by the ranking the bot answered from.
Definitions of every metric: docs/evaluation.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .corpus import Article
from .metrics import best_em_f1, contains, first_rank, normalize_text
from .squad import sentence_at
from .suites import Case, Expect, Suite, SuiteError

RANK_DEPTH = 20  # gold ranks beyond this are reported as "not found"
MIN_CONTAINED_TOKENS = 4  # a sentence piece must be this long (or the whole cited text) to match by content

SentenceId = tuple[str, int]  # (article id, 0-based sentence index)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TurnResult:
    """One question asked and scored. ``gold`` holds groups of interchangeable gold sentences;
    ``ranking`` is the bot's order of sentences (citations first); ``prediction`` the SQuAD string."""

    case_id: str
    turn: int  # 0-based position in the conversation
    tags: tuple[str, ...]
    question: str
    expect: Expect
    answer: dict | None  # Answer.to_json(), None when the pipeline raised
    error: str | None
    checks: dict
    gold: tuple[frozenset, ...]
    ranking: tuple[SentenceId, ...]
    latency_ms: float
    # sentences holding a gold answer string, case-insensitive: the answer-sentence definition
    answer_sentences: frozenset = frozenset()

    @property
    def passed(self) -> bool:
        return self.error is None and all(self.checks.values())

    @property
    def abstained(self) -> bool:
        return bool(self.answer is None or self.answer["abstained"])

    @property
    def cited(self) -> tuple[SentenceId, ...]:
        if not self.answer:
            return ()
        return tuple((c["article_id"], c["sentence"] - 1) for c in self.answer["citations"])

    @property
    def prediction(self) -> str:
        """What the official SQuAD script is given: the short answer, "" when there is none."""
        return "" if self.abstained else (self.answer.get("short_answer") or "")

    @property
    def gold_rank(self) -> int | None:
        return first_rank(self.ranking, frozenset().union(*self.gold)) if self.gold else None

    @property
    def answer_rank(self) -> int | None:
        """Rank of the first sentence holding a gold answer string (``answer_sentence@k``)."""
        return first_rank(self.ranking, self.answer_sentences) if self.answer_sentences else None

    def em_f1(self) -> tuple[float, float] | None:
        """Exact match and F1 of the prediction when the case has gold answers or must abstain."""
        if self.expect.answers:
            return best_em_f1(self.prediction, self.expect.answers)
        if self.expect.abstain:
            return best_em_f1(self.prediction, [])
        return None


@dataclass(frozen=True)
class CaseResult:
    case: Case
    turns: tuple[TurnResult, ...]

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.turns)


# ---------------------------------------------------------------- gold sentences

def matches_content(cited: str, sentence: str) -> bool:
    """A sentence is the cited one when, after normalisation, they are equal or one contains the
    other and the contained one is long enough to mean something: re-splitting (two sentences merged
    or one split) keeps old cases valid."""
    a, b = normalize_text(cited), normalize_text(sentence)
    if not a or not b:
        return False
    if a == b:
        return True
    need = min(MIN_CONTAINED_TOKENS, len(a.split()))
    return (f" {a} " in f" {b} ") or (f" {b} " in f" {a} " and len(b.split()) >= need)


def gold_groups(expect: Expect, articles: Sequence[Article]) -> tuple[frozenset, ...]:
    """Gold sentences of a turn as groups (citing any one sentence of a group satisfies it):
    one group per ``cited`` text; else one group of the sentences holding SQuAD answer offsets; else
    one group of the sentences containing a gold answer string. Empty when the case names none."""
    by_id = {a.id: a for a in articles}
    if expect.cited:
        return tuple(frozenset((a.id, s.index) for a in articles for s in a.sentences if matches_content(text, s.text))
                     for text in expect.cited)
    spans = frozenset((aid, idx) for aid, offset in expect.gold_spans if aid in by_id
                      for idx in [sentence_at(by_id[aid], offset)] if idx is not None)
    if spans:
        return (spans,)
    if expect.answers:
        found = frozenset((a.id, s.index) for a in articles for s in a.sentences
                          if any(contains(s.text, g) for g in expect.answers))
        return (found,) if found else ()
    return ()


def validate_against(cases: Iterable[Case], articles: Sequence[Article], path: str) -> None:
    """Refuse cases that can never pass on this corpus: a cited text, gold answer or 'all' string
    that occurs in no sentence. Raises :class:`SuiteError` (exit 2) naming the line."""
    errors = []
    texts = [s.text for a in articles for s in a.sentences]
    for case in cases:
        for number, turn in enumerate(case.turns):
            where = f"line {case.line} ({case.id}" + (f", turn {number + 1})" if len(case.turns) > 1 else ")")
            for text in turn.expect.cited:
                if not any(matches_content(text, t) for t in texts):
                    errors.append(f"{where}: cited text is no sentence of the corpus: {text[:80]!r}")
            for key in ("answers", "all"):
                values = getattr(turn.expect, key)
                if key == "answers" and values and not turn.expect.gold_spans and not any(contains(t, v) for v in values for t in texts):
                    errors.append(f"{where}: no gold answer occurs in the corpus: {list(values)[:3]}")
                if key == "all":
                    errors.extend(f"{where}: 'all' string occurs nowhere in the corpus: {v!r}"
                                  for v in values if not any(contains(t, v) for t in texts))
    if errors:
        raise SuiteError(f"invalid suite {path} for this corpus:\n  " + "\n  ".join(errors[:20]))


# ---------------------------------------------------------------- checks

def check_turn(expect: Expect, answer: dict, gold: Sequence[frozenset]) -> dict[str, bool]:
    """Each expectation of ``expect`` as a named pass/fail (docs/evaluation.md, "Pass rules")."""
    checks: dict[str, bool] = {}
    abstained = answer["abstained"]
    citations = [c["text"] for c in answer["citations"]] if not abstained else []
    short = answer.get("short_answer") or ""
    said = " ".join(citations + [short])
    if expect.answerable is not None:
        checks["abstain" if expect.abstain else "answered"] = abstained == (not expect.answerable)
    if expect.answers:
        first = citations[0] if citations else ""
        checks["answers"] = any(contains(first, g) or contains(short, g) for g in expect.answers)
    if expect.all:
        checks["all"] = all(contains(said, g) for g in expect.all)
    if expect.cited:
        cited = {(c["article_id"], c["sentence"] - 1) for c in answer["citations"]} if not abstained else set()
        checks["cited"] = all(group & cited for group in gold)
    if expect.not_:
        checks["not"] = not any(contains(said, g) for g in expect.not_)
    return checks


# ---------------------------------------------------------------- running

def run_suite(suite: Suite, pipeline_for: Callable[[str | None], object], progress: Progress | None = None,
              batch: int = 1) -> list[CaseResult]:
    """Answer every case, corpus by corpus (each corpus's pipeline is asked for once and released).
    Single-turn cases go through ``answer_many`` in groups of ``batch``; conversations turn by turn."""
    total = sum(len(c.turns) for c in suite.cases)
    done = 0
    results: dict[str, CaseResult] = {}
    for key in dict.fromkeys(c.corpus for c in suite.cases):
        cases = [c for c in suite.cases if c.corpus == key]
        pipeline = pipeline_for(key)
        articles = list(pipeline.articles.values())
        validate_against(cases, articles, suite.path)
        singles = [c for c in cases if len(c.turns) == 1]
        for begin in range(0, len(singles), max(1, batch)):
            group = singles[begin:begin + max(1, batch)]
            for case, turn in zip(group, _ask(pipeline, articles, group, [None] * len(group), 0)):
                results[case.id] = CaseResult(case, (turn,))
            done += len(group)
            if progress:
                progress(done, total)
        for case in (c for c in cases if len(c.turns) > 1):
            conversation = pipeline.new_conversation()
            turns = []
            for number in range(len(case.turns)):
                turns.extend(_ask(pipeline, articles, [case], [conversation], number))
                done += 1
                if progress:
                    progress(done, total)
            results[case.id] = CaseResult(case, tuple(turns))
        del pipeline
    return [results[c.id] for c in suite.cases]


def _ask(pipeline, articles: Sequence[Article], cases: Sequence[Case], conversations: list,
         number: int) -> list[TurnResult]:
    """Turn ``number`` of each case, answered in one batch and timed (latency = batch time / size)."""
    specs = [c.turns[number] for c in cases]
    error = None
    started = time.perf_counter()
    try:
        ranked = pipeline.answer_many_ranked([s.question for s in specs], conversations)
    except Exception as exc:  # noqa: BLE001 - a crash on one question is a failed case, reported, not fatal
        if len(specs) > 1:  # find which question failed: ask them one by one
            return [t for case, conv in zip(cases, conversations)
                    for t in _ask(pipeline, articles, [case], [conv], number)]
        ranked, error = [None], f"{type(exc).__name__}: {exc}"
    latency = (time.perf_counter() - started) * 1000 / len(specs)
    answers = [item[0].to_json() if item else None for item in ranked]
    rankings = [_ranking(answer, item[1]) if item else () for answer, item in zip(answers, ranked)]
    out = []
    for case, spec, answer, ranking in zip(cases, specs, answers, rankings):
        gold = gold_groups(spec.expect, articles)
        checks = check_turn(spec.expect, answer, gold) if answer is not None else {}
        out.append(TurnResult(case.id, number, case.tags, spec.question, spec.expect, answer, error, checks,
                              gold, ranking, latency, answer_sentences(spec.expect, articles)))
    return out


def answer_sentences(expect: Expect, articles: Sequence[Article]) -> frozenset:
    """The sentences that contain one of the turn's gold answers (case-insensitive substring), as
    the SQuAD answer-sentence@k of issue 6 counts them; looser than ``gold_groups``, which takes the
    sentence at the SQuAD answer offset."""
    golds = [g.lower() for g in expect.answers if g.strip()]
    if not golds:
        return frozenset()
    return frozenset((a.id, s.index) for a in articles for s in a.sentences
                     if any(g in s.text.lower() for g in golds))


def _ranking(answer: dict, hits) -> tuple[SentenceId, ...]:
    """The bot's sentence order for one answer: its citations, then the ranking it answered from."""
    order = [] if answer["abstained"] else [(c["article_id"], c["sentence"] - 1) for c in answer["citations"]]
    for hit in hits:
        if (hit.article_id, hit.index) not in order:
            order.append((hit.article_id, hit.index))
    return tuple(order[:RANK_DEPTH])
