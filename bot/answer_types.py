"""What kind of answer a question wants, and where spans of that kind sit in a sentence.

Plain patterns over English news prose (numbers, money, percentages, dates, capitalised names with
organisation/place cues): no model, no list of this article's words. Used twice: retrieval prefers
sentences holding the wanted kind of span, and the answer highlights that span.
"""

from __future__ import annotations

import re
from functools import lru_cache

AMOUNT, PERCENT, DATE, PLACE, PERSON, ORG, NAME = "amount", "percent", "date", "place", "person", "organisation", "name"
KINDS = (AMOUNT, PERCENT, DATE, PLACE, PERSON, ORG)
NAMED = "named:"  # prefix of a kind asking for a name with a given head noun ("which bridge")
_NOT_HEADS = frozenset("is are was were do does did has have had can could will would should kind type sort "
                       "part way of the a an role reason".split())

_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
                 "sixty|seventy|eighty|ninety|hundred|hundreds|thousand|thousands|dozen|dozens|million|"
                 "millions|billion|billions|half|quarter")
_NUMBER_WORD_SET = frozenset(_NUMBER_WORDS.split("|"))
_SCALE = r"(?:thousand|million|billion|trillion|bn|m|k)"
_NUM = rf"(?:\d+(?:,\d{{3}})*(?:\.\d+)?|(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))*)"
# currency words, each with its plural where it has one; the pattern and its quick check (_MONEY_HINTS) both use them
_CURRENCIES = ("yuan", "renminbi", "rmb", "dollars?", "euros?", "pounds?", "yen", "rupees?", "won", "francs?", "marks?",
               "pesos?", "cents?")
_CURRENCY_WORD = rf"(?:{'|'.join(_CURRENCIES)})"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONEY = re.compile(
    rf"(?:(?:US)?[$€£¥]\s?{_NUM}(?:\s{_SCALE})?|{_NUM}(?:\s{_SCALE})?\s(?:{_CURRENCY_WORD}))"
    rf"(?:\s\((?:US)?[$€£¥]?\s?{_NUM}(?:\s{_SCALE})?(?:\s{_CURRENCY_WORD})?\))?",
    re.IGNORECASE)
_PERCENT_RE = re.compile(rf"(?:about |around |nearly |almost |over |more than )?{_NUM}\s?(?:%|percent\b|per cent\b|percentage points?\b)",
                         re.IGNORECASE)
_NUMBER_GUARD = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})", re.IGNORECASE)
_QUANTITY = re.compile(rf"\b{_NUM}(?:\s{_SCALE})?(?:\s(?:[a-z]+))?", re.IGNORECASE)
_MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
_YEAR_TEXT = r"(?:1[0-9]|20)\d{2}s?"  # a year or a decade ("1990s"), in dates and on its own
_DATE_RE = re.compile(
    rf"(?:{_MONTHS}\s\d{{1,2}}(?:st|nd|rd|th)?,?\s\d{{4}}|\d{{1,2}}\s{_MONTHS},?\s\d{{4}}|{_MONTHS}\s\d{{1,2}}(?:st|nd|rd|th)?"
    rf"|{_MONTHS},?\s\d{{4}}|(?:early |late |mid-?)?{_YEAR_TEXT}|\d{{1,2}}(?:st|nd|rd|th) century"
    rf"|(?:{'|'.join(_WEEKDAYS)}))\b")
# Quick necessary conditions for the costly patterns above, checked as plain substrings of ASCII text
# (``_may_match``): every match of _MONEY holds a currency sign or word, of _PERCENT_RE "%" or "per(
# )cent", of _DATE_RE a digit or a weekday (case-sensitive), of _NUMBER_GUARD a digit or a
# number word. Scanning a sentence with the patterns themselves took 35-90 us each, and at a million
# sentences the answer-kind signal reads hundreds of new sentences a question.
_MONEY_HINTS = ("$", *(word.removesuffix("s?") for word in _CURRENCIES))
_PERCENT_HINTS = ("%", "percent", "per cent")
_DIGITS = tuple("0123456789")
_DATE_HINTS = _DIGITS + _WEEKDAYS  # a month in _DATE_RE always comes with digits
_NUMBER_HINTS = _DIGITS + tuple(_NUMBER_WORDS.split("|"))


def _may_match(text: str, hints: tuple[str, ...], ignore_case: bool = True) -> bool:
    """False only when ASCII ``text`` holds none of ``hints`` (in any case with ``ignore_case``), so
    the pattern they guard cannot match; other text always goes to the pattern (Unicode case rules)."""
    if not text.isascii():
        return True
    text = text.lower() if ignore_case else text
    return any(hint in text for hint in hints)


_CAP = r"(?:[A-Z][\w'’.&-]*|\d+[A-Z]\w*)"
_NAME_RE = re.compile(rf"{_CAP}(?:\s(?:of|de|du|von|van|the|and|for|&)\s{_CAP}|\s{_CAP})*")
_ORG_CUES = re.compile(r"\b(?:Co|Corp|Corporation|Company|Group|Ltd|Inc|LLC|PLC|Bank|University|College|Institute|"
                       r"Center|Centre|Ministry|Department|Agency|Association|Council|Committee|Commission|"
                       r"Party|Organization|Organisation|Foundation|Society|Bureau|Office|Administration|Industries|"
                       r"Holdings|Airlines|Motors|Automotive|Club|Academy|School|Board|Authority|Union|League|"
                       r"Federation|Team|Network|Press|News|Times|Post)\b")
_PLACE_CUES = re.compile(r"\b(?:province|city|county|state|river|mountains?|island|islands|lake|sea|ocean|valley|"
                         r"district|region|street|avenue|square|park|bay|coast|peninsula|desert|forest|country)\b",
                         re.IGNORECASE)
_SENTENCE_START_WORDS = frozenset("The A An This That These Those It In On At For By From With As But And Or If When "
                                  "While After Before During Since Although Its Their His Her Our".split())


# Cues of each asked-for kind, in precedence order for cues at the same place.
_KIND_CUES = (
    (PERCENT, re.compile(r"\b(what|which) (percent|percentage|proportion|share|fraction)\b|\bhow many percent")),
    (AMOUNT, re.compile(r"\bhow (much|many)\b|\bwhat (amount|number|sum|price|cost|size|population|total)\b"
                        r"|\bhow (large|big|long|far|old|tall|high)\b")),
    (DATE, re.compile(r"\bwhen\b|\b(what|which) (year|date|day|month|decade|century|time|period|season)\b"
                      r"|\bwhat time\b")),
    (PLACE, re.compile(r"\bwhere\b|\b(what|which|in which|in what) (\w+ )?(city|country|province|state|region|"
                       r"place|town|county|area|location|continent|district|nation|island|river|street)\b")),
    (ORG, re.compile(r"\b(what|which) (\w+ ){0,2}(company|companies|firm|organi[sz]ation|group|agency|university|"
                     r"bank|team|institution|body|party|subsidiary|manufacturer|business|club|school)\b")),
    (PERSON, re.compile(r"\b(who|whom|whose)\b|\b(what|which) (\w+ )?(person|man|woman|people|scientist|president|"
                        r"leader|king|queen|emperor|player|author|writer|artist|inventor)\b")),
)


def question_type(question: str) -> str | None:
    """The kind of span the question asks for, or None when it asks for something else (why, how, what).

    The first cue in the question decides: a later "where" or "when" usually opens a relative clause
    ("Which company runs the workshop where the robots are tested?" asks for a company, not a place)."""
    q = " " + question.lower().strip() + " "
    found = [(m.start(), order, kind) for order, (kind, cue) in enumerate(_KIND_CUES) if (m := cue.search(q))]
    if found:
        return min(found)[2]
    head = re.search(r"\b(?:which|what) ([a-z]+)\b", q)
    if head and head.group(1) not in _NOT_HEADS:  # "Which bridge ...?": a name ending in "Bridge"
        return f"{NAMED}{head.group(1).rstrip('s') if head.group(1).endswith('s') and len(head.group(1)) > 3 else head.group(1)}"
    return None


def spans(text: str, kind: str) -> list[tuple[int, int]]:
    """Character spans in ``text`` that could answer a question of ``kind`` (one answer asks this of
    its cited sentence several times: typed path, extractor features, retrieval; found once)."""
    return list(_spans_of(text, kind))


@lru_cache(maxsize=4096)
def _spans_of(text: str, kind: str) -> tuple[tuple[int, int], ...]:
    return tuple(_find_spans(text, kind))


def _find_spans(text: str, kind: str) -> list[tuple[int, int]]:
    if kind.startswith(NAMED):  # names whose last word is the asked-for noun: "Kelling Bridge"
        head = kind[len(NAMED):]
        return [(a, b) for a, b in _names(text) if " " in text[a:b]
                and text[a:b].rsplit(" ", 1)[-1].lower().rstrip("s") in (head, head.rstrip("s"))]
    has_date = _may_match(text, _DATE_HINTS, ignore_case=False)
    if kind == DATE:
        return [m.span() for m in _DATE_RE.finditer(text)] if has_date else []
    if kind in (AMOUNT, PERCENT) and not (_may_match(text, _NUMBER_HINTS) and _NUMBER_GUARD.search(text)):
        return []  # every amount pattern needs a digit or a number word: skip the costly regexes
    found = _spans(text, kind)
    if found and has_date:  # spans overlapping a date are not of this kind ("May 2020" is no name)
        dates = [m.span() for m in _DATE_RE.finditer(text)]
        found = [span for span in found if not any(a < span[1] and span[0] < b for a, b in dates)]
    if kind == AMOUNT:  # a bare year is a date, not an amount
        found = [s for s in found if not re.fullmatch(r"(1[0-9]|20)\d{2}", text[s[0]:s[1]])]
    return found


def _spans(text: str, kind: str) -> list[tuple[int, int]]:
    if kind == PERCENT:
        return _percents(text)
    if kind == AMOUNT:
        found = list(sums_and_shares(text))  # money, then percentages; then the bare quantities
        taken = lambda s, e: any(a <= s < b or a < e <= b for a, b in found)  # noqa: E731
        for m in _QUANTITY.finditer(text):
            if not taken(*m.span()):
                found.append(_trim_quantity(text, m))
        return sorted(found)
    if kind == PLACE:
        return _merge_place_chains(text, _name_spans(text, PLACE))
    if kind in (PERSON, ORG, NAME):
        return _name_spans(text, kind)
    return []


@lru_cache(maxsize=4096)
def sums_and_shares(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of money ("$278 million") and percentages in ``text``: the figures no date question is
    answered by (unlike AMOUNT spans, no bare quantities: "10 July" counts as one of those)."""
    money = [m.span() for m in _MONEY.finditer(text)] if _may_match(text, _MONEY_HINTS) else []
    return tuple(money + _percents(text))


def _percents(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _PERCENT_RE.finditer(text)] if _may_match(text, _PERCENT_HINTS) else []


def _merge_place_chains(text: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """"Harbin, Heilongjiang province" is one place: join places separated by a comma, with a trailing
    place word kept."""
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and re.fullmatch(r",\s*", text[merged[-1][1]:start]):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    out = []
    for start, end in merged:
        tail = re.match(r"\s(?:province|state|county|city|region|district)\b", text[end:])
        out.append((start, end + tail.end()) if tail else (start, end))
    return out


def _name_spans(text: str, kind: str) -> list[tuple[int, int]]:
    """Capitalised names classified as organisation, place or person by cue words around them."""
    if kind in (PLACE, PERSON, ORG, NAME):
        out = []
        for start, end in _names(text):
            name = text[start:end]
            is_org = bool(_ORG_CUES.search(name))
            before = text[max(0, start - 4):start].lower()
            is_place = bool(_PLACE_CUES.search(text[start:min(len(text), end + 12)])) or before.endswith(("in ", "at ", "to "))
            # "who" is answered by people and by organisations ("Who owns it?"), never by places
            if kind == NAME or (kind == ORG and is_org) or (kind == PLACE and is_place and not is_org) \
                    or (kind == PERSON and (is_org or not is_place)):
                out.append((start, end))
        return out
    return []


def _names(text: str) -> list[tuple[int, int]]:
    """Capitalised word runs, minus a sentence-initial function word and dates."""
    out = []
    for m in _NAME_RE.finditer(text):
        start, end = m.span()
        word = text[start:end].split(" ")[0]
        if word in _SENTENCE_START_WORDS:
            rest = text[start + len(word):end].lstrip()
            if not rest:
                continue
            start = end - len(rest)
        if _DATE_RE.fullmatch(text[start:end]):
            continue
        out.append((start, end))
    return out


def _trim_quantity(text: str, match: re.Match) -> tuple[int, int]:
    """Keep a number with its scale and the noun it counts ("2,000 workers"), not a trailing verb."""
    start, end = match.span()
    piece = match.group(0)
    last = piece.split(" ")[-1]
    if len(piece.split(" ")) > 1 and not re.fullmatch(rf"{_NUM}|{_SCALE}", last, re.IGNORECASE) and \
            last.lower() in {"is", "was", "are", "were", "and", "or", "to", "in", "of", "the", "a", "from", "by"}:
        end = start + piece.rfind(" ")
    return start, end


def span_words(text: str, span: tuple[int, int], kind: str) -> tuple[str, ...]:
    """The words of a span that would have to be new to the question for it to be an answer: the
    numbers of a quantity or date ("300" in "300 residents"), every word of a name."""
    own = [w.lower().replace(",", "") for w in re.findall(r"[A-Za-z0-9]+(?:[.,][0-9]+)*", text[span[0]:span[1]])]
    if kind in (AMOUNT, PERCENT, DATE):  # "two" in "two astronauts" is the number as much as "2" is
        own = [w for w in own if any(ch.isdigit() for ch in w) or w in _NUMBER_WORD_SET] or own
    elif kind.startswith(NAMED):  # "Bridge" in "Kelling Bridge" is what the question asked for
        own = own[:-1] or own
    return tuple(own)


def is_new(own: tuple[str, ...], question_words: set[str]) -> bool:
    """A span mostly made of the question's own words is what the question is about, not its answer."""
    return bool(own) and sum(w in question_words for w in own) * 2 < len(own)


_ANY_NUMBER = re.compile(rf"\d|\b(?:{_NUM}|several|many|few|numerous|multiple|countless)\b", re.IGNORECASE)
_HOW_MANY = r"\bhow many\b"
_COUNT_QUESTION = re.compile(rf"{_HOW_MANY}|\b(?:what|which) (?:percent|percentage|proportion|share)\b", re.IGNORECASE)


_YEAR_QUESTION = re.compile(r"\b(?:what|which) year\b", re.IGNORECASE)
_YEAR = re.compile(rf"\b{_YEAR_TEXT}\b")


def asks_year(question: str) -> bool:
    """"In what year …?" / "Which year …?": a year answers it, not the whole date around it."""
    return bool(_YEAR_QUESTION.search(question))


def year_only(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The year inside a date span ("1856" of "10 July 1856"); the span itself when it holds none or
    several."""
    found = list(_YEAR.finditer(text, span[0], span[1]))
    return (found[0].start(), found[0].end()) if len(found) == 1 else span


_HOW_MANY_RE = re.compile(_HOW_MANY, re.IGNORECASE)
_LEADING_NUMBER = re.compile(rf"{_NUM}(?:\s{_SCALE})?(?![\w-])", re.IGNORECASE)


def asks_how_many(question: str) -> bool:
    """"How many …?" (not "what percentage", which :func:`asks_count` also covers): the question names
    what is counted, so the number alone answers it."""
    return bool(_HOW_MANY_RE.search(question))


def number_only(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The number a quantity span starts with ("seven" of "seven turnovers", "43" of "43 previous"): a
    "how many" question already names what is counted. The span itself when it does not start with one."""
    found = _LEADING_NUMBER.match(text, span[0], span[1])
    return (span[0], found.end()) if found else span


def asks_count(question: str) -> bool:
    """"How many …?" or "What percentage …?": questions only a stated quantity answers ("how much" and
    "how long" are left out: "how much support", "for almost a month")."""
    return bool(_COUNT_QUESTION.search(question))


def has_number(text: str) -> bool:
    """Whether ``text`` states any quantity at all ("several" counts; a calendar date does not): a
    "how many" question is not answered by a sentence without one, however well its words match."""
    for start, end in sorted(spans(text, DATE), reverse=True):  # "Aug 5, 2024" counts nothing; "1990" may
        if re.search(r"[A-Za-z]", text[start:end]):
            text = text[:start] + text[end:]
    return bool(_ANY_NUMBER.search(text))
