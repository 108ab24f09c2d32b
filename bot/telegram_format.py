"""What the Telegram bot says, as Bot API HTML: answers, greeting, help, sources; split to fit messages.

Why HTML and not Markdown: HTML needs only ``<``, ``>`` and ``&`` escaped, so article and user text
(which may hold ``*``, ``_``, ``[`` or even ``<b>``) can never change the formatting.
Why split before formatting: a message holds at most 4,096 characters. Every reply is built from
units (a bold line, one quoted sentence with its citation) whose tags close inside the unit; units are
packed whole into messages, and a unit too long for one message is cut in its *plain* text, at a
sentence end if possible, then at a space, and each part is formatted on its own. No tag is ever cut.

Pure functions over core objects: no ``telegram`` import, so this is testable without a bot.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from . import answer_types
from .answer import Answer
from .corpus import Article

MAX_MESSAGE = 4096  # telegram.constants.MessageLimit.MAX_TEXT_LENGTH, counted in UTF-16 code units
SEPARATOR = "\n"
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*\s+")
_SPACE = re.compile(r"\s+")

COMMANDS = (("start", "what I can do"), ("help", "how to ask"), ("source", "title, source and date of the articles"),
            ("more", "next-best evidence for the last question"), ("reset", "forget this chat's conversation"))


def esc(text: str) -> str:
    """Escape text for Bot API HTML (quotes need no escaping outside attributes)."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Unit:
    """Plain ``text`` wrapped in one ``tag``, with an optional bold ``span`` inside it; ``prefix`` and
    ``suffix`` are ready-made HTML (the suffix, e.g. a citation line, stays with the last part)."""

    text: str
    tag: str | None = None
    span: tuple[int, int] | None = None
    prefix: str = ""
    suffix: str = ""

    def html(self) -> str:
        body = esc(self.text)
        if self.span:
            start, end = self.span
            body = f"{esc(self.text[:start])}<b>{esc(self.text[start:end])}</b>{esc(self.text[end:])}"
        if self.tag:
            body = f"<{self.tag}>{body}</{self.tag}>"
        return f"{self.prefix}{body}{self.suffix}"

    def part(self, start: int, end: int, first: bool, last: bool) -> Unit:
        """The unit restricted to ``text[start:end]`` (the bold span clipped and shifted with it)."""
        span = None
        if self.span and self.span[0] < end and start < self.span[1]:
            span = (max(self.span[0], start) - start, min(self.span[1], end) - start)
        return replace(self, text=self.text[start:end], span=span, prefix=self.prefix if first else "",
                       suffix=self.suffix if last else "")

    def split(self, limit: int = MAX_MESSAGE) -> list[Unit]:
        """Parts that each format to at most ``limit`` characters (usually just ``[self]``)."""
        if utf16_len(self.html()) <= limit:
            return [self]
        spans = split_spans(self.text, lambda a, b: utf16_len(self.part(a, b, True, True).html()) <= limit)
        return [self.part(a, b, i == 0, i == len(spans) - 1) for i, (a, b) in enumerate(spans)]


def split_spans(text: str, fits: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """Cut ``text`` into (start, end) spans that each ``fits``: at sentence ends where possible, else at
    spaces, else (one enormous word) anywhere. White space at the cuts is dropped."""
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while start < n:
        if fits(start, n):
            spans.append((start, n))
            break
        end = _longest(start, [m.end() for m in _SENTENCE_END.finditer(text, start)], text, fits) \
            or _longest(start, [m.start() for m in _SPACE.finditer(text, start + 1)], text, fits) \
            or _longest(start, list(range(start + 1, n)), text, fits) or start + 1
        stop = end
        while stop > start + 1 and text[stop - 1].isspace():
            stop -= 1
        spans.append((start, stop))
        start = end
        while start < n and text[start].isspace():
            start += 1
    return spans


def _longest(start: int, cuts: Sequence[int], text: str, fits: Callable[[int, int], bool]) -> int | None:
    """The furthest cut whose text (trailing space dropped) fits; ``fits`` is monotonic in length."""
    cuts = [c for c in cuts if c > start and text[start:c].strip()]
    lo, hi, best = 0, len(cuts) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(start, start + len(text[start:cuts[mid]].rstrip())):
            best, lo = cuts[mid], mid + 1
        else:
            hi = mid - 1
    return best


def pack(units: Iterable[Unit], limit: int = MAX_MESSAGE) -> list[str]:
    """Messages of whole units joined by newlines, each at most ``limit`` characters."""
    messages: list[str] = []
    current = ""
    for unit in units:
        for part in unit.split(limit):
            block = part.html()
            candidate = f"{current}{SEPARATOR}{block}" if current else block
            if utf16_len(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = block
    if current:
        messages.append(current)
    return messages


# ---------------------------------------------------------------- what the bot says
def answer_messages(answer: Answer, limit: int = MAX_MESSAGE) -> list[str]:
    """The answer as HTML messages: short answer bold, each cited sentence quoted with its source."""
    units: list[Unit] = []
    if answer.more:
        units.append(Unit(f"More evidence for \u201c{answer.question}\u201d", "b"))
    if answer.resolved_question != answer.question:
        units.append(Unit(f"(searched for: {answer.resolved_question})", "i"))
    if answer.abstained or not answer.citations:
        units.append(Unit(answer.text))
        return pack(units, limit)
    if answer.short_answer:
        units.append(Unit(answer.short_answer, prefix="Answer: ", tag="b"))
    for number, cite in enumerate(answer.citations):
        label = "photo caption, " if cite.kind == "caption" else ""
        units.append(Unit(cite.text, "blockquote", answer.highlight if number == 0 and not answer.more else None,
                          suffix=f"\n<i>\u2014 {esc(cite.article)}, {label}sentence {cite.sentence}</i>"))
    return pack(units, limit)


def sources_messages(articles: Iterable[Article], limit: int = MAX_MESSAGE) -> list[str]:
    """Title, source, date (and byline) of each article."""
    units = [Unit("Articles I answer from:", "b")]
    for article in articles:
        details = ", ".join(d for d in (article.source, article.published, article.byline) if d)
        units.append(Unit(article.title, "b", prefix="\u2022 ",
                          suffix=(f" \u2014 {esc(details)}" if details else "") +
                          f" <i>({len(article.sentences)} sentences)</i>"))
    return pack(units, limit)


def greeting_messages(articles: Sequence[Article], limit: int = MAX_MESSAGE) -> list[str]:
    """/start: what the bot answers about, example questions drawn from the articles, the commands."""
    titles = [a.title for a in articles]
    shown = titles[:5] + ([f"and {len(titles) - 5} more"] if len(titles) > 5 else [])
    units = [Unit("Hello! I answer questions from these news articles alone, quoting the sentences I rely on:")]
    units += [Unit(title, "b", prefix="\u2022 ") for title in shown]
    examples = example_questions(articles)
    if examples:
        units.append(Unit("Try asking:"))
        units += [Unit(q, "i", prefix="\u2022 ") for q in examples]
    units.append(Unit("Follow-up questions keep their context (\u201cAnd in 2023?\u201d). "
                      "When the article doesn't say, I tell you so."))
    units += command_units()
    return pack(units, limit)


def help_messages(limit: int = MAX_MESSAGE) -> list[str]:
    """/help: how to ask and the commands."""
    units = [Unit("Send any question about the article as a message. I answer with the article's own "
                  "sentences (quoted, with their sentence number) and the short answer in bold. "
                  "Use the buttons under an answer for its sources or more evidence.")]
    return pack(units + command_units(), limit)


def command_units() -> list[Unit]:
    return [Unit("Commands:", "b")] + [Unit(f"/{name} \u2014 {what}") for name, what in COMMANDS]


def example_questions(articles: Sequence[Article], limit: int = 3) -> list[str]:
    """Questions about the names the articles' body text mentions most (any article, no fixed list)."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for article in articles[:3]:
        for sentence in article.sentences:
            if sentence.kind != "body":
                continue
            for start, end in answer_types.spans(sentence.text, answer_types.NAME):
                name = re.sub(r"(?:['\u2019]s|[.,;:])$", "", sentence.text[start:end])
                if (start == 0 and " " not in name) or len(name) < 3 or name.isupper() or name == article.title:
                    continue
                counts[name] += 1
                first_seen.setdefault(name, len(first_seen))
    names = sorted(counts, key=lambda n: (-counts[n], first_seen[n]))[:limit]
    return [f"What does the article say about {name}?" for name in names]


def notice(text: str) -> str:
    """A one-line message to the user (errors, refusals) with their own text safely escaped."""
    text = text.strip()
    return esc(text[:1].upper() + text[1:])
