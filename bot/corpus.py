"""Articles on disk become clean text with sentences that keep their character offsets.

Why offsets: every citation must be a verbatim slice of the article (``text[start:end]``), so the
sentence splitter runs on the cleaned text itself and nothing downstream rewrites sentence text.
Cleaning is generic news hygiene (title/dateline header to metadata, photo credits out of captions),
never rules keyed to one article's words.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import ArticleUnreadable, CorpusError

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".md", ".txt")
MAX_ARTICLE_BYTES = 50 * 1024 * 1024

_CREDIT = re.compile(
    r"\s*[\[(]\s*((?:photos?|image|video|graphic|illustration|photo provided)\b[^\])]{0,100})[\])]\s*$",
    re.IGNORECASE,
)
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE = re.compile(rf"({_MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}\s+{_MONTH}\s+\d{{4}})")
_TIME = re.compile(r"\b(\d{1,2}:\d{2})\b")
_BYLINE = re.compile(r"^(?:by|from)\s+[A-Z][\w.'-]*(?:\s+[\w.'-]+){0,6}$", re.IGNORECASE)


@dataclass(frozen=True)
class Sentence:
    """One citable sentence: ``article.text[start:end] == text``. ``kind`` is ``body`` or ``caption``."""

    index: int
    start: int
    end: int
    text: str
    kind: str = "body"
    paragraph: int = 0
    credit: str | None = None


@dataclass(frozen=True)
class Article:
    """A cleaned article and its sentences; ``id`` is the file stem and names it in citations."""

    id: str
    title: str
    text: str
    sentences: tuple[Sentence, ...]
    source: str | None = None
    published: str | None = None
    byline: str | None = None
    path: str | None = None
    credits: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """Plain JSON-able form; the index stores it so loading needs no re-segmentation."""
        return {
            "id": self.id, "title": self.title, "text": self.text, "source": self.source,
            "published": self.published, "byline": self.byline, "path": self.path,
            "credits": list(self.credits),
            "sentences": [[s.start, s.end, s.kind, s.paragraph, s.credit] for s in self.sentences],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Article:
        """Inverse of :meth:`to_dict`; sentence text is re-sliced from ``text``, never stored twice."""
        text = data["text"]
        sentences = tuple(
            Sentence(i, start, end, text[start:end], kind, paragraph, credit)
            for i, (start, end, kind, paragraph, credit) in enumerate(data["sentences"])
        )
        return cls(
            id=data["id"], title=data["title"], text=text, sentences=sentences, source=data.get("source"),
            published=data.get("published"), byline=data.get("byline"), path=data.get("path"),
            credits=tuple(data.get("credits", ())),
        )


@dataclass(frozen=True)
class Corpus:
    """The articles of one folder plus the warnings met while reading it (skipped files)."""

    articles: tuple[Article, ...]
    warnings: tuple[str, ...] = ()
    content_hash: str = ""

    def article(self, article_id: str) -> Article:
        for article in self.articles:
            if article.id == article_id:
                return article
        raise KeyError(article_id)


# ---------------------------------------------------------------- reading files

def article_files(folder: Path) -> list[Path]:
    """Every visible ``.md``/``.txt`` file directly in ``folder`` (README files are documentation)."""
    if not folder.is_dir():
        raise CorpusError(f"corpus folder {folder} " + ("is a file, not a folder" if folder.exists() else "does not exist"))
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES and not p.name.startswith(".")
        and p.stem.lower() != "readme"
    )


def corpus_hash(files: Iterable[Path]) -> str:
    """Hash of names and bytes: cheap to compute, so a stale index is noticed without parsing."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def load_corpus(folder: Path, warn: Callable[[str], None] = log.warning) -> Corpus:
    """Read every article in ``folder``; unreadable files are skipped with a warning naming them, given
    to ``warn`` once (each face shows warnings its own way) and kept in ``Corpus.warnings``."""
    files = article_files(folder)
    articles, warnings = [], []
    for path in files:
        try:
            articles.append(read_article(path))
        except ArticleUnreadable as exc:
            warnings.append(str(exc))
    if not articles:  # the error names every skipped file itself
        detail = f" ({'; '.join(warnings)})" if warnings else ""
        raise CorpusError(f"no readable articles (.md or .txt) in {folder}{detail}")
    for message in warnings:
        warn(message)
    return Corpus(tuple(articles), tuple(warnings), corpus_hash(files))


def read_article(path: Path) -> Article:
    """Decode one file strictly as UTF-8 text and parse it; binary or undecodable files are refused."""
    try:
        size = path.stat().st_size
        if size > MAX_ARTICLE_BYTES:
            raise ArticleUnreadable(f"skipped {path.name}: larger than {MAX_ARTICLE_BYTES // 2**20} MB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ArticleUnreadable(f"skipped {path.name}: cannot read it ({exc.strerror})") from None
    if b"\0" in raw:
        raise ArticleUnreadable(f"skipped {path.name}: binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleUnreadable(f"skipped {path.name}: not UTF-8 text (byte {exc.start})") from None
    article = parse_article(text, article_id=path.stem, path=path.name)
    if not article.sentences:
        raise ArticleUnreadable(f"skipped {path.name}: no text")
    return article


# ---------------------------------------------------------------- parsing text

def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split ``---`` delimited ``key: value`` front matter from the body (values stay strings)."""
    if not text.startswith("---"):
        return {}, text
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    meta: dict[str, str] = {}
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return meta, "\n".join(lines[i + 1:])
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = value.strip().strip("'\"")
    return {}, text  # no closing fence: treat the whole file as body


def parse_article(text: str, article_id: str, path: str | None = None) -> Article:
    """Front matter and header lines become metadata; the rest is split into citable sentences."""
    meta, body = parse_front_matter(text)
    paragraphs = split_paragraphs(body)
    meta, paragraphs = _take_header(meta, paragraphs)
    title = meta.get("title") or article_id.replace("_", " ").replace("-", " ")
    article = article_from_paragraphs(article_id, title, paragraphs)
    return replace(
        article, source=meta.get("source") or None, published=meta.get("published") or meta.get("date") or None,
        byline=meta.get("byline") or meta.get("author") or None, path=path,
    )


def split_paragraphs(body: str) -> list[str]:
    """Blank lines separate paragraphs; line breaks inside one are soft wraps."""
    blocks = re.split(r"\n\s*\n", body.replace("\r\n", "\n").replace("\r", "\n"))
    return [p for p in (" ".join(block.split()) for block in blocks) if p]


def _take_header(meta: dict[str, str], paragraphs: list[str]) -> tuple[dict[str, str], list[str]]:
    """Move a leading title, dateline and byline out of the body into metadata."""
    meta = dict(meta)
    rest = list(paragraphs)
    for _ in range(3):
        if not rest:
            break
        head = rest[0]
        if meta.get("title") and head.casefold() == meta["title"].casefold():
            rest.pop(0)
        elif (dateline := _parse_dateline(head)) is not None:
            for key, value in dateline.items():
                meta.setdefault(key, value)
            rest.pop(0)
        elif _BYLINE.match(head) and len(head) < 80:
            meta.setdefault("byline", head)
            rest.pop(0)
        elif "title" not in meta and len(head) < 160 and not head.endswith((".", "!", "?", '"', "”")) and len(rest) > 1:
            meta["title"] = head
            rest.pop(0)
        else:
            break
    return meta, rest


def _parse_dateline(line: str) -> dict[str, str] | None:
    """A short line holding a date (and maybe a time and the outlet) is a dateline, not a sentence."""
    date = _DATE.search(line)
    if not date or len(line) > 120 or len(line.split()) > 12:
        return None
    found = {"published": date.group(1)}
    time = _TIME.search(line)
    if time:
        found["published"] = f"{date.group(1)} {time.group(1)}"
    source = line[: min(date.start(), time.start() if time else date.start())]
    source = source.strip(" ()[],-|:").strip()
    if source:
        found["source"] = source
    return found


def article_from_paragraphs(article_id: str, title: str, paragraphs: Sequence[str]) -> Article:
    """Clean each paragraph, join with blank lines, and split sentences with offsets into the result."""
    segmenter = _segmenter()
    text_parts: list[str] = []
    sentences: list[Sentence] = []
    credits: list[str] = []
    offset = 0
    for number, raw in enumerate(paragraphs):
        paragraph, credit = strip_credit(" ".join(raw.split()))
        if not paragraph:
            continue
        if text_parts:
            offset += 2
        kind = "caption" if credit else "body"
        if credit:
            credits.append(credit)
        for start, end in segment_spans(paragraph, segmenter):
            sentences.append(Sentence(len(sentences), offset + start, offset + end,
                                      paragraph[start:end], kind, number, credit))
        text_parts.append(paragraph)
        offset += len(paragraph)
    return Article(article_id, title, "\n\n".join(text_parts), tuple(sentences), credits=tuple(credits))


def strip_credit(paragraph: str) -> tuple[str, str | None]:
    """Remove a trailing photo credit like ``[Photo/Xinhua]``; the paragraph is then a caption."""
    match = _CREDIT.search(paragraph)
    if not match:
        return paragraph, None
    return paragraph[: match.start()].rstrip(), match.group(1).strip()


def segment_spans(paragraph: str, segmenter=None) -> list[tuple[int, int]]:
    """Sentence (start, end) spans in ``paragraph``, whitespace trimmed, found by pysbd."""
    segmenter = segmenter or _segmenter()
    spans, cursor = [], 0
    for piece in segmenter.segment(paragraph):
        piece = piece.strip()
        if not piece:
            continue
        start = paragraph.find(piece, cursor)
        if start < 0:  # the segmenter altered the text: fall back to the remainder as one sentence
            rest = paragraph[cursor:].strip()
            if rest:
                start = paragraph.index(rest, cursor)
                spans.append((start, start + len(rest)))
            return spans
        spans.append((start, start + len(piece)))
        cursor = start + len(piece)
    return spans


_SEGMENTER = None


def _segmenter():
    """pysbd is built once: its rule tables are slow to compile."""
    global _SEGMENTER
    if _SEGMENTER is None:
        import pysbd

        _SEGMENTER = pysbd.Segmenter(language="en", clean=False)
    return _SEGMENTER
