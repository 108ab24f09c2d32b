"""A conversation: the bounded history of one person's questions, and follow-up resolution.

People chat: after "How much did Liaoning invest?" they ask "And Heilongjiang?", "Who owns it?",
"When was that taken?", "Tell me more". With no language model at run time, follow-ups are resolved
from the conversation itself: elliptical questions borrow the previous question's frame, pronouns
borrow an entity of the right kind from earlier turns, "more" continues from the last answer.
A question that stands on its own is left exactly as asked, so it is never dragged to the old topic.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field, replace

from . import answer_types as at
from .retrieval import Hit

# weight of the question as typed when it is searched beside its resolved form. "And Jilin?" is open
# (whatever the article says of Jilin counts), so the name as typed weighs as much as the borrowed frame;
# "And Liaoning's?" elides one thing it owns, which only the resolved question names (``possessive``)
RAW_WEIGHT = {"ellipsis": 1.0, "possessive": 0.3, "pronoun": 0.3, "why": 0.3}

_CONTINUE = re.compile(
    r"^(?:(?:and|so|ok(?:ay)?|please|then)[ ,]+)*(?:(?:tell|show|give) me |say |i want |can you (?:tell|say) )?"
    r"(?:some |a bit |a little |any |much )?(?:more|further|else|go on|continue|keep going|elaborate|details?"
    r"|more details?|what else|anything else)(?: (?:about|on|of) (?:it|that|this|them))?(?: please)?[.!?]*$",
    re.IGNORECASE)
_WH_ONLY = re.compile(r"^(?:(?:and|but|so)[ ,]+)?(?P<wh>why|how come|why so|why is that|for what reason|when|where|who|"
                      r"how much|how many|what year|which year|how long|since when)[.!?]*$", re.IGNORECASE)
_ELLIPSIS = re.compile(
    r"^(?:and|also|what about|how about|and what about|and how about|what of|same for|same question for|"
    r"and for|and in|and at|what about for)\s+(?P<x>.+?)[?.!\s]*$", re.IGNORECASE)
_WH = re.compile(r"^\s*(?:how (?:much|many|long|far|old|big|large)|what|which|who|whom|whose|when|where|why|how)\b"
                 r"(?:\s+(?:percent(?:age)?|share|company|companies|province|city|year|date|kind|type)\b)?\s*",
                 re.IGNORECASE)
_QUESTION_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was",
                   "were", "do", "does", "did", "can", "could", "should", "would", "will", "has", "have", "had"}
# vague references and the kind of antecedent each wants
_REFERENCES = [
    (re.compile(r"(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )\bthere\b(?!\s+(?:is|are|was|were|be|been)\b)",
                re.I), "in-place"),
    (re.compile(r"\b(?:that (?:province|city|region|place|area|country|town)|"
                r"the (?:province|city|region|place|area|country|town))\b", re.I), at.PLACE),
    (re.compile(r"\b(?:then|at that time|that (?:day|year|date|time))\b", re.I), at.DATE),
    (re.compile(r"\b(?:that|this|the) (?:company|firm|group|organi[sz]ation|subsidiary|manufacturer|plant|factory|"
                r"center|centre|business)\b", re.I), at.ORG),
    (re.compile(r"\b(?:the|that|this) (?:money|amount|sum|figure|investment|funding|total)\b", re.I), at.AMOUNT),
    (re.compile(r"\b(?:he|him|his|she|her|hers)\b", re.I), at.PERSON),
    (re.compile(r"\b(?:it|its|they|them|their|theirs)\b", re.I), at.NAME),
]
_DEMONSTRATIVE = re.compile(
    r"\b(?:that|this|those|these)\b(?=\s*(?:[?.!,]|$|\s(?:is|was|were|are|be|been|being|taken|shot|made|mean|means|"
    r"happen|happened|cost|costs|show|shows|about|in|worth)\b))", re.I)


@dataclass
class Turn:
    """One exchange: what was asked, what was searched, the ranking and what the answer said."""

    question: str
    resolved: str
    hits: list[Hit]
    shown: int  # how many hits have been shown so far (for /more)
    short_answer: str | None = None
    kind: str | None = None
    cited: tuple[str, ...] = ()
    at: float = field(default_factory=time.time)
    shown_ids: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Resolution:
    """How a question was understood: ``mode`` is self, ellipsis, pronoun, why (a bare question word)
    or more.
    ``queries`` are (text, weight) pairs to search and fuse; the first is the resolved question."""

    question: str
    resolved: str
    mode: str = "self"
    queries: tuple[tuple[str, float], ...] = ()


class Conversation:
    """History of turns, forgotten after ``idle_seconds`` of silence; picklable for persistence."""

    def __init__(self, max_turns: int = 8, idle_seconds: float = 1800.0) -> None:
        self.max_turns = max_turns
        self.idle_seconds = idle_seconds
        self.turns: deque[Turn] = deque(maxlen=max_turns)

    def reset(self) -> None:
        self.turns.clear()

    def copy(self) -> Conversation:
        """An independent copy, cheap enough to take for every question a chat bot answers.

        What a conversation changes later is copied: the deque of turns and each turn's paging state
        (``shown``, ``shown_ids``). The hits are shared: a :class:`Hit` is frozen and nothing writes
        to its ``signals`` after ranking. ``copy.deepcopy`` (PTB's persistence uses it) comes here too:
        a real deep copy of 8 turns of 20 hits each took several milliseconds of the event loop."""
        twin = Conversation.__new__(Conversation)
        twin.max_turns, twin.idle_seconds = self.max_turns, self.idle_seconds
        twin.turns = deque((replace(t, hits=list(t.hits), shown_ids=set(t.shown_ids)) for t in self.turns),
                           maxlen=self.turns.maxlen)
        return twin

    def __deepcopy__(self, memo: dict) -> Conversation:
        return self.copy()

    def expire(self, now: float | None = None) -> None:
        """Forget everything if the last turn is older than the idle limit."""
        now = time.time() if now is None else now
        if self.turns and now - self.turns[-1].at > self.idle_seconds:
            self.reset()

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def record(self, turn: Turn) -> None:
        self.turns.append(turn)

    # ------------------------------------------------------------ follow-ups
    def resolve(self, question: str) -> Resolution:
        """Understand ``question`` in the light of the previous turns (see the module docstring)."""
        text = question.strip()
        last = self.last
        if last is None:
            return _self(text)
        if _CONTINUE.match(text):
            return Resolution(text, last.resolved, "more", ((last.resolved, 1.0),))
        wh_only = _WH_ONLY.match(text)
        if wh_only:  # "Why?", "When?": the previous question asked again with the new question word
            wh = wh_only.group("wh")
            wh = "Why" if wh.lower().startswith(("why", "how come", "for what")) else wh.capitalize()
            return _fused(text, f"{wh} {_WH.sub('', _frame(last.resolved), count=1)}", "why")
        match = _ELLIPSIS.match(text)
        if match or _is_bare_fragment(text):
            fragment = match.group("x") if match else text.rstrip("?.! ")
            return _fused(text, self._substitute(fragment, last), "ellipsis",
                          "possessive" if _bare_possessive(fragment) else "ellipsis")
        resolved = self._dereference(text)
        if resolved != text:
            return _fused(text, resolved, "pronoun")
        return _self(text)

    def _substitute(self, fragment: str, last: Turn) -> str:
        """The previous question with ``fragment`` in place of the thing it was about."""
        frame = _frame(last.resolved)
        wanted = at.DATE if re.fullmatch(r"(?:in |on )?[\d,.]+s?", fragment) else None
        spans = at.spans(frame, at.DATE) + [s for s in at.spans(frame, at.AMOUNT) if wanted] if wanted else \
            _name_spans(frame)
        if spans:
            start, end = spans[0]
            return frame[:start] + _in_place_of(frame[start:end], fragment) + frame[end:]
        return f"{frame.rstrip('?.! ')} {fragment}?".lstrip()

    def _dereference(self, text: str) -> str:
        """Replace vague references with an antecedent of the kind each wants."""
        out = text
        for pattern, kind in _REFERENCES:
            if pattern.search(out):
                antecedent = self._antecedent(at.PLACE if kind == "in-place" else kind)
                if antecedent:
                    replacement = f"in {antecedent}" if kind == "in-place" else antecedent
                    out = pattern.sub(lambda _m, r=replacement: r, out, count=1)
        if _DEMONSTRATIVE.search(out) and self.last and self.last.cited:  # "When was that taken?"
            out = _DEMONSTRATIVE.sub(lambda _m: _gist(self.last.cited[0]), out, count=1)
        return out

    def _antecedent(self, kind: str) -> str | None:
        """Most recent entity of ``kind``: the last answer, then the last question, then its evidence."""
        for turn in reversed(self.turns):
            if turn.short_answer and (turn.kind == kind or (kind == at.NAME and turn.kind in (at.ORG, at.PERSON))):
                return turn.short_answer
            for source, asked in ((turn.resolved, True), *((c, False) for c in turn.cited[:1])):
                spans = (_topic_spans(source) if asked else _name_spans(source)) if kind == at.NAME \
                    else [(a, b) for a, b in at.spans(source, kind)  # "Which city" is no place
                          if source[a:b].split()[0].lower() not in _QUESTION_WORDS]
                if spans:
                    start, end = spans[0]
                    return source[start:end]
        return None


_POSSESSIVE = re.compile(r"(?P<owner>.+?)(?P<mark>['’]s)\b(?P<owned>.*)", re.DOTALL)


def _in_place_of(name: str, fragment: str) -> str:
    """``fragment`` standing for the earlier question's ``name``. A possessive keeps what it owns:
    after "How much of Heilongjiang's GDP is digital?", "And Liaoning's?" (or "And Liaoning?") asks
    about Liaoning's GDP; dropping "GDP" would let any sentence about Liaoning answer. Only a name
    replaces the owner: "the Eastbrook one" stands for the whole "Marlow's tram line"."""
    held = _POSSESSIVE.fullmatch(name)
    if not held or not fragment[:1].isupper():
        return fragment
    return (_bare_possessive(fragment) or fragment) + held.group("mark") + held.group("owned")


def _bare_possessive(fragment: str) -> str | None:
    """"Liaoning" for "Liaoning's" (a possessive owning nothing named), else None."""
    owner = _POSSESSIVE.fullmatch(fragment)
    return owner.group("owner") if owner and not owner.group("owned").strip() else None


def _frame(resolved: str) -> str:
    """The previous question as a frame to reuse. An ellipsis that had nothing to resolve against ("And
    Heilongjiang?" as the first question) stands for its fragment alone: "Why?" after it asks "Why
    Heilongjiang?", not "Why And Heilongjiang?"."""
    match = _ELLIPSIS.match(resolved)
    if not match:
        return resolved
    fragment = match.group("x").strip()  # "And how much did Jilin invest?" is a question with an "And"
    return f"{fragment[:1].upper()}{fragment[1:]}?" if fragment.strip("?.! ") else resolved


def _self(text: str) -> Resolution:
    return Resolution(text, text, "self", ((text, 1.0),))


def _fused(raw: str, resolved: str, mode: str, weighting: str | None = None) -> Resolution:
    return Resolution(raw, resolved, mode, ((resolved, 1.0), (raw, RAW_WEIGHT[weighting or mode])))


def _name_spans(text: str) -> list[tuple[int, int]]:
    """Names in a question, minus the leading question word ("What", "How")."""
    return [(s, e) for s, e in at.spans(text, at.NAME) if text[s:e].lower() not in _QUESTION_WORDS]


_NOT_NOUN = (r"(?:in|of|at|on|for|to|from|with|by|and|or|is|are|was|were|do|does|did|has|have|had|be|been|get|gets|"
             r"the|a|an|that|this|which|where|who|whom|whose|when|what|why|how)")
_DEFINITE = re.compile(rf"\b(?:the|that|this)(?:\s+(?!{_NOT_NOUN}\b)[a-z][\w-]*){{1,4}}"
                       r"(?:\s+(?:in|of|at)\s+(?:the\s+)?[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)?")


def _topic_spans(question: str) -> list[tuple[int, int]]:
    """What an earlier question was about, first mention first: its names and its definite noun phrases
    ("the research center in Harbin"), so "Who runs it?" asks about the centre, not the city."""
    names = _name_spans(question)
    phrases = [_drop_trailing_verbs(question, m.span()) for m in _DEFINITE.finditer(question)]
    phrases = [p for p in phrases if not any(s <= p[0] < e for s, e in names)]
    kept = [n for n in names if not any(p[0] <= n[0] < p[1] for p in phrases)]
    return sorted(kept + phrases)


def _drop_trailing_verbs(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """"the company doing" -> "the company", "the photo taken" -> "the photo": a phrase ends at its noun."""
    start, end = span
    while True:
        head, _, last = text[start:end].rpartition(" ")
        if " " not in head and head.lower() in ("the", "that", "this") or not head:
            return start, end
        if not (last.endswith(("ing", "ed")) or last in _PARTICIPLES):
            return start, end
        end = start + len(head)


_PARTICIPLES = frozenset("taken made done built given seen shown known held sold paid spent run set put found".split())


def _is_bare_fragment(text: str) -> bool:
    """"Heilongjiang?" or "Jilin province?": a short name or number with no question word or verb."""
    words = text.rstrip("?.! ").split()
    if not 1 <= len(words) <= 4 or words[0].lower() in _QUESTION_WORDS:
        return False
    return bool(re.match(r"[A-Z0-9]", words[0])) and text.rstrip().endswith("?")


def _gist(sentence: str) -> str:
    """The first clause of a sentence without its dates, enough to stand for "that" in a follow-up
    (the date is what "When was that taken?" asks for, so it must not be in the question)."""
    for start, end in reversed(at.spans(sentence, at.DATE)):
        sentence = re.sub(r"\s(?:on|in|at)\s*$", "", sentence[:start]) + sentence[end:]
    clause = re.split(r"[,;:]", sentence, maxsplit=1)[0]
    return " ".join(clause.split()[:14]).rstrip(".")
