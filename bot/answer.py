"""From ranked sentences to an :class:`Answer`: citations, the short answer span, confidence, abstention.

Why extractive: with no language model at run time, the honest answer is the article's own sentence,
quoted verbatim, with the span that answers the question highlighted when its kind is clear.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from . import answer_types, extract
from .corpus import Article
from .lexical import terms, words
from .retrieval import Hit, Query
from .rivals import rivalled

# Confidence is a logistic function of the best hit's signals; see docs/quality.md for how these
# coefficients and the default threshold were chosen on held-out data.
CONFIDENCE_WEIGHTS = {"dense": 6.0, "window": 4.0, "coverage": 2.0, "maxsim": 2.0, "entity": 2.0, "missing": -4.0,
                      "rival": -4.0, "no_number": -10.0}
CONFIDENCE_BIAS = -7.6
CITATION_MARGIN = 0.08  # further sentences are cited when they score this close to the best
# sentence choice for the answer's sake (answer_first): fitted on split A with bench/joint_span.py, B held out
JOINT_DEPTH, JOINT_MARGIN, JOINT_WEIGHT = 3, 0.5, 1.0


@dataclass(frozen=True)
class Citation:
    """One quoted sentence: ``text == article.text[start:end]``; ``sentence`` is 1-based for people."""

    article: str
    article_id: str
    sentence: int
    text: str
    start: int
    end: int
    score: float | None  # None: not ranked, shown for context (the sentence after the answer, in /more)
    kind: str = "body"


@dataclass(frozen=True)
class Answer:
    """What every face shows. ``highlight`` is the short answer's (start, end) inside citations[0].text."""

    question: str
    resolved_question: str
    text: str
    short_answer: str | None
    abstained: bool
    confidence: float
    citations: tuple[Citation, ...]
    highlight: tuple[int, int] | None = None
    more: bool = False  # next-best evidence for an earlier question, not an answer to a new one

    def to_json(self) -> dict:
        """The ``ask --json`` contract (key order is part of it: people read these lines)."""
        citations = []
        for c in self.citations:
            item = asdict(c)
            item["score"] = None if c.score is None else round(c.score, 4)
            citations.append(item)
        return {
            "question": self.question, "resolved_question": self.resolved_question, "answer": self.text,
            "short_answer": self.short_answer, "abstained": self.abstained,
            "confidence": round(self.confidence, 4), "citations": citations,
            "highlight": list(self.highlight) if self.highlight else None, "more": self.more,
        }


def citation(article: Article, index: int, score: float | None) -> Citation:
    s = article.sentences[index]
    return Citation(article.title, article.id, index + 1, s.text, s.start, s.end, score, s.kind)


def confidence(hit: Hit, query: Query, missing: float, rival: float = 0.0, text: str | None = None) -> float:
    """Probability-like trust in the best hit from its signals (``entity``: the question's names in the
    cited sentence itself) and the share of the question's names and numbers that occur nowhere in
    the article (``missing``), and whether the sentence is about a sibling of the question's name
    (``rival``, bot/rivals.py); a question asking how many is not answered by a sentence ``text``
    without any number (``no_number``). Without token vectors (very large corpora) maxsim
    is approximated by the pooled cosine, which it tracks closely."""
    no_number = text is not None and answer_types.asks_count(query.text) and not answer_types.has_number(text)
    values = dict(hit.signals, missing=missing, rival=rival, no_number=float(no_number))
    if query.tokens is None:
        values["maxsim"] = values.get("dense", 0.0)
    z = CONFIDENCE_BIAS + sum(w * values.get(name, 0.0) for name, w in CONFIDENCE_WEIGHTS.items())
    return 1.0 / (1.0 + math.exp(-z))


_CLAUSE_BREAK = re.compile(r",\s+(?:while|whereas|but|although|though|and)\b|;\s|\s[\u2014\u2013-]\s")
# a clause set against another ("…, while Heilongjiang's …"), not a list's next member (", and Chaffee")
_CONTRAST = re.compile(r"[,;\s\u2014\u2013-]*(?:(?:while|whereas|but|although|though|however)\b"
                       r"|[^,.;]{0,40},\s*(?:by|in) contrast\b)", re.IGNORECASE)


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def short_answer(sentence: str, query: Query, vectors: tuple | None = None, parse=None,
                 ranked: list | None = None, siblings: dict[str, frozenset[str]] | None = None
                 ) -> tuple[int, int] | None:
    """The short answer's (start, end) inside ``sentence``, or None when no span is clearly it.

    The generic extractor (bot/extract.py) ranks the sentence's candidate spans for every question;
    when the question asks for a known kind (amount, date, place, name...), the span of that kind
    chosen below is one of its candidates, with features saying so; when the sentence has spans of
    that kind but none answers, there is no short answer. It abstains when its best span is not
    likely enough. Measured on SQuAD this beats the typed span alone (docs/quality.md). ``vectors``:
    the sentence's token vectors and piece ids (bot/soft_anchors.py), when the index keeps them;
    ``parse``: its dependency parse (bot/syntax.py), likewise; ``ranked``: ``extract.scored`` of the
    sentence for the question without a typed choice, when :func:`answer_first` already computed it;
    ``siblings``: the cited article's sibling names (bot/rivals.py), for :func:`_off_topic`."""
    typed = _typed_span(sentence, query) if query.kind else None
    if typed is None and query.kind in answer_types.KINDS and answer_types.spans(sentence, query.kind):
        # spans of the asked kind are here, yet none answers (each repeats the question, or sits in a
        # clause about something else): the sentence does not say it, so no guess
        return None
    span = extract.best_span(sentence, query, preferred=typed, vectors=vectors, parse=parse,
                             ranked=ranked if typed is None else None)
    return None if span is not None and _off_topic(sentence, span, query, siblings) else span


def _off_topic(sentence: str, span: tuple[int, int], query: Query, siblings: dict[str, frozenset[str]] | None
               ) -> bool:
    """Whether the chosen span plainly answers something else, so no short answer beats a wrong one:

    - it lies in a clause about a sibling of the question's name that does not name it while another
      clause does (a contrast: "while", "but", "whereas", "however", "by contrast"): "Jilin trains
      experts, while Heilongjiang's digital economy makes up 30 percent of its GDP" gives no figure
      for Jilin's GDP;
    - a date question's span overlaps a sum of money or a percentage ("278" of "$278 million",
      "spent 5 million euros");
    - it lies inside a sum or percentage whose number the question states itself ("What is the 2
      billion yuan spent on?" is not answered by "278" of "2 billion yuan ($278 million)")."""
    for a, b in answer_types.sums_and_shares(sentence):
        if query.kind == answer_types.DATE and a < span[1] and span[0] < b:
            return True
        if a <= span[0] and span[1] <= b and not set(_NUMBER.findall(sentence[a:b])).isdisjoint(
                _NUMBER.findall(query.text)):
            return True
    if not siblings or not query.entities:
        return False
    clauses = _sentence_facts(sentence)[1]
    if len(clauses) < 2:  # a whole sentence about a sibling already lowers the confidence (``rival``)
        return False
    start, end = clauses[_clause_of(span[0], clauses)]
    if not any(_CONTRAST.match(sentence, a) for a, _ in clauses[1:]) or \
            not rivalled(query.entities, sentence[start:end], siblings):
        return False
    own, rest = set(terms(sentence[start:end])), set(terms(f"{sentence[:start]} {sentence[end:]}"))
    return any(e in rest for e in query.entities if e not in own and siblings.get(e))


def _typed_span(sentence: str, query: Query) -> tuple[int, int] | None:
    """The span of the wanted kind inside ``sentence`` nearest the question's words, or None.

    When the question names something (a place, a company) and the sentence has several clauses, the
    span must sit in a clause that mentions it: "Jilin trains experts, while Heilongjiang's economy is
    30 percent digital" does not say how much Jilin invested."""
    question_words = set(words(query.text))
    candidates = [span for span in answer_types.spans(sentence, query.kind)
                  if answer_types.is_new(answer_types.span_words(sentence, span, query.kind), question_words)]
    if not candidates:
        return None
    found, clauses, clause_terms, clause_names = _sentence_facts(sentence)
    anchors = [start for start, word in found if word in question_words]
    named = set(query.entities)
    named_clauses = {i for i, own in enumerate(clause_terms) if named & own}
    if named and named_clauses:  # a clause naming something else the question does not name is about that
        candidates = [span for span in candidates if (c := _clause_of(span[0], clauses)) in named_clauses
                      or not clause_names[c] - question_words]
        if not candidates:
            return None

    def rank(span: tuple[int, int]) -> tuple[bool, int]:
        # a lone capitalised first word ("Staff members ...") is more often a common noun than a name
        lone_first = span[0] == 0 and " " not in sentence[span[0]:span[1]]
        return lone_first, min((abs(span[0] - a) for a in anchors), default=0)

    return _asked_part(sentence, min(candidates, key=rank), query)


def _asked_part(sentence: str, span: tuple[int, int], query: Query) -> tuple[int, int]:
    """The part of the typed span the question asks for: a date's year for "what year", a quantity's
    number for "how many" (which names what is counted), else a quantity without the trailing words the
    question already says."""
    if query.kind == answer_types.DATE and answer_types.asks_year(query.text):
        return answer_types.year_only(sentence, span)
    if query.kind != answer_types.AMOUNT:
        return span
    if answer_types.asks_how_many(query.text):
        return answer_types.number_only(sentence, span)
    return _trim_counted_noun(sentence, span, set(query.terms))


@functools.lru_cache(maxsize=1024)
def _sentence_facts(sentence: str) -> tuple[tuple[tuple[int, str], ...], tuple[tuple[int, int], ...],
                                            tuple[frozenset[str], ...], tuple[frozenset[str], ...]]:
    """What ``_typed_span`` needs of a sentence whatever the question: its words of three letters or
    more (offset, lower case), its clauses and each clause's terms. Kept per sentence text: the cited
    sentences recur from question to question, and stemming every clause again was most of the cost."""
    found = tuple((m.start(), m.group(0).lower()) for m in re.finditer(r"[A-Za-z0-9]+", sentence) if len(m.group(0)) > 2)
    clauses = tuple(_clauses(sentence))
    names = tuple(frozenset(m.group(0).lower() for m in re.finditer(r"\b[A-Z][A-Za-z0-9]+", sentence[start:end])
                            if m.start() + start > 0) for start, end in clauses)  # capitalised words, not the first
    return found, clauses, tuple(frozenset(terms(sentence[start:end])) for start, end in clauses), names


def _trim_counted_noun(sentence: str, span: tuple[int, int], asked: set[str]) -> tuple[int, int]:
    """Drop trailing words of a quantity that the question already says: "How many plant
    species…?" is answered by "40,000", not "40,000 plant species"."""
    pieces = [(m.start() + span[0], m.end() + span[0]) for m in re.finditer(r"\S+", sentence[span[0]:span[1]])]

    def asked_word(piece: tuple[int, int]) -> bool:
        word = sentence[piece[0]:piece[1]].strip(".,;:()\"'")
        return word.isalpha() and bool(terms(word)) and set(terms(word)) <= asked

    while len(pieces) > 1 and asked_word(pieces[-1]):
        pieces.pop()
    return pieces[0][0], pieces[-1][1]


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """Clause bounds; a break inside brackets ("Tesla (Serbian: …; 10 July 1856 – 7 January 1943)")
    separates nothing: the bracket belongs to the clause it stands in."""
    depth, inside = 0, []
    for k, ch in enumerate(sentence):
        depth += (ch == "(") - (ch == ")" and depth > 0)
        inside.append(depth > 0)
    cuts = [0, *(m.start() for m in _CLAUSE_BREAK.finditer(sentence) if not inside[m.start()]), len(sentence)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _clause_of(position: int, clauses: list[tuple[int, int]]) -> int:
    return next(i for i, (start, end) in enumerate(clauses) if start <= position < end or end == clauses[-1][1])


def compose(question: str, resolved: str, query: Query, hits: Sequence[Hit], articles: dict[str, Article],
            missing: float, threshold: float, max_citations: int, rival: float = 0.0, tokens=None,
            syntax=None, choose: Callable[[list[Hit]], list[Hit]] | None = None,
            scored: dict[int, list] | None = None,
            siblings: Callable[[str], dict[str, frozenset[str]]] | None = None) -> Answer:
    """Build the answer from ranked hits, abstaining when confidence (of the best hit) is under
    ``threshold``; ``tokens`` / ``syntax``: the index's TokenMatrix and SyntaxMatrix, whose rows for
    the cited sentence help the short answer; ``choose``: reorders the hits of an answer that is
    given (:func:`answer_first`), so a declined question costs no extra extractor run; ``scored``: the
    extractor's candidates per sentence id that ``choose`` found on the way (:func:`answer_first`'s
    ``seen``), so the cited sentence is not read twice; ``siblings(article_id)``: that article's
    sibling names (bot/rivals.py), for the short answer."""
    if not hits:
        return Answer(question, resolved, "The article doesn't say anything about that.", None, True, 0.0, ())
    best = hits[0]
    top = articles[best.article_id]
    conf = confidence(best, query, missing, rival, top.sentences[best.index].text)
    if conf < threshold:
        closest = top.sentences[best.index]
        text = (f"The article doesn't say. The closest it comes is: \u201c{_clipped(closest.text)}\u201d "
                f"({top.title}, sentence {best.index + 1}).")
        return Answer(question, resolved, text, None, True, conf, ())
    if choose is not None:
        hits = choose(list(hits))
        best, top = hits[0], articles[hits[0].article_id]
    chosen = [h for h in hits[:max_citations] if h is best or h.score >= best.score - CITATION_MARGIN]
    citations = tuple(citation(articles[h.article_id], h.index, h.score) for h in chosen)
    span = short_answer(citations[0].text, query, _row(tokens, best), _row(syntax, best),
                        (scored or {}).get(best.sentence),
                        siblings(best.article_id) if siblings is not None and query.entities else None)
    short = citations[0].text[span[0]:span[1]] if span else None
    text = " ".join(c.text for c in citations)
    return Answer(question, resolved, text, short, False, conf, citations, span)


CLOSEST_CHARS = 300  # of the nearest sentence quoted in a refusal: a run-on "sentence" can be pages long


def _clipped(text: str, limit: int = CLOSEST_CHARS) -> str:
    """``text``, or its first ``limit`` characters cut back to a word and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return f"{cut.rstrip(' ,;:')}\u2026"


def answer_first(hits: Sequence[Hit], query: Query, text_of, tokens=None, syntax=None,
                 seen: dict[int, list] | None = None) -> list[Hit]:
    """The hits with the one to cite first in front: among the top JOINT_DEPTH whose fused score is
    within JOINT_MARGIN of the best, the one maximising score + JOINT_WEIGHT x the expected F1 of its
    best span (the extractor's own confidence that the sentence holds an answer to this question),
    as readers such as DrQA weigh passages by their best span. Why: a near tie between two sentences
    is better settled by which of them answers than by a hundredth of a retrieval score; on the
    SQuAD sample it adds 0.4-1.0 F1 held out and leaves answer-sentence@1 as it was (docs/quality.md).
    ``text_of(hit)`` gives a hit's sentence; ``tokens`` / ``syntax`` as for :func:`compose`; ``seen``
    receives each weighed sentence's ``extract.scored`` list by sentence id (for :func:`compose`)."""
    hits = list(hits)
    if len(hits) < 2 or hits[0].score - hits[1].score > JOINT_MARGIN:
        return hits  # no near tie: nothing to weigh, no extra extractor run
    options = [i for i, h in enumerate(hits[:JOINT_DEPTH]) if hits[0].score - h.score <= JOINT_MARGIN]
    seen = {} if seen is None else seen
    values = [hits[i].score + JOINT_WEIGHT * _expected_f1(text_of(hits[i]), hits[i], query, tokens, syntax, seen)
              for i in options]
    pick = options[max(range(len(options)), key=lambda k: (values[k], -k))]
    return hits if pick == 0 else [hits[pick], *hits[:pick], *hits[pick + 1:]]


def _expected_f1(sentence: str, hit: Hit, query: Query, tokens, syntax, seen: dict[int, list]) -> float:
    """The extractor's expected F1 of the sentence's best span for the question (0: no candidate);
    its candidates are kept in ``seen``."""
    ranked = seen[hit.sentence] = extract.scored(sentence, query.text, query.terms, query.kind, None,
                                                 extract.sentence_sims(sentence, _row(tokens, hit), query),
                                                 _row(syntax, hit))
    return ranked[0][0] if ranked else 0.0


def _row(matrix, hit: Hit):
    """The hit's sentence in a per-sentence store of the index (TokenMatrix, SyntaxMatrix), if any."""
    return matrix.sentence(hit.sentence) if matrix is not None and 0 <= hit.sentence < len(matrix) else None


def more_answer(question: str, resolved: str, hits: Sequence[Hit], articles: dict[str, Article],
                unranked: frozenset[int] = frozenset()) -> Answer:
    """Next-best evidence: every hit quoted, no short answer, no verdict about the question. Hits whose
    sentence is in ``unranked`` are context, not ranked evidence: their citations carry no score."""
    if not hits:
        return Answer(question, resolved, "There is no more evidence in the article for that question.",
                      None, True, 0.0, (), more=True)
    citations = tuple(citation(articles[h.article_id], h.index, None if h.sentence in unranked else h.score)
                      for h in hits)
    return Answer(question, resolved, " ".join(c.text for c in citations), None, False,
                  0.0, citations, more=True)
