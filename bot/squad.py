"""SQuAD v1.1 / v2.0 JSON read directly as an evaluation suite, with each article as a corpus.

Why the offset work: the gold sentence is the one holding ``answer_start``, but articlebot cleans each
paragraph (white-space runs become one space, a trailing photo credit is cut) before splitting, so a
raw SQuAD offset is mapped onto the cleaned article text and checked against the answer text there.
"""

from __future__ import annotations

import re
from pathlib import Path

from .corpus import Article, article_from_paragraphs, strip_credit
from .suites import Case, Expect, Suite, SuiteError, TurnSpec

POOL = "pool"


def squad_suite(data: object, path: Path, pool: bool = False, sha256: str = "") -> Suite:
    """Cases and in-memory articles of a SQuAD file; ``pool`` puts every article in one corpus."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list) or not data["data"]:
        raise SuiteError(f"{path}: not SQuAD JSON (expected an object with a non-empty 'data' list); "
                         "hand-written suites are .jsonl or .yaml")
    articles, cases, seen_ids, slugs = [], [], set(), set()
    version = str(data.get("version", "1.1"))
    for number, item in enumerate(data["data"]):
        where = f"{path}: data[{number}]"
        if not isinstance(item, dict) or not isinstance(item.get("paragraphs"), list):
            raise SuiteError(f"{where}: an article needs 'title' and a 'paragraphs' list")
        title = str(item.get("title") or f"article {number + 1}")
        slug = _slug(title, slugs)
        contexts = []
        for p_number, paragraph in enumerate(item["paragraphs"]):
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str):
                raise SuiteError(f"{where}.paragraphs[{p_number}]: a paragraph needs a 'context' string")
            contexts.append(paragraph["context"])
        article = article_from_paragraphs(slug, title.replace("_", " "), contexts)
        articles.append(article)
        for p_number, paragraph in enumerate(item["paragraphs"]):
            for q_number, qa in enumerate(paragraph.get("qas") or []):
                where_q = f"{where}.paragraphs[{p_number}].qas[{q_number}]"
                case = _case(qa, where_q, article, p_number, contexts[p_number], POOL if pool else slug, title)
                if case.id in seen_ids:
                    raise SuiteError(f"{where_q}: duplicate question id {case.id!r}")
                seen_ids.add(case.id)
                cases.append(case)
    if not cases:
        raise SuiteError(f"{path}: the SQuAD file has no questions")
    corpora = {POOL: tuple(articles)} if pool else {a.id: (a,) for a in articles}
    return Suite(f"{path.stem}{' (pooled)' if pool else ''}", str(path), tuple(cases), f"squad-{version}",
                 None, {}, {}, corpora, sha256)


def _case(qa: object, where: str, article: Article, p_number: int, context: str, corpus: str, title: str) -> Case:
    if not isinstance(qa, dict) or not isinstance(qa.get("question"), str) or "id" not in qa:
        raise SuiteError(f"{where}: a question needs 'id' and 'question'")
    answers = qa.get("answers") or []
    if not isinstance(answers, list) or not all(isinstance(a, dict) and isinstance(a.get("text"), str)
                                                and isinstance(a.get("answer_start"), int) for a in answers):
        raise SuiteError(f"{where}: answers must be a list of {{'text', 'answer_start'}}")
    question = " ".join(qa["question"].split()) or "?"
    if qa.get("is_impossible") or not answers:
        expect = Expect(abstain=True)
    else:
        texts = tuple(dict.fromkeys(a["text"] for a in answers if a["text"].strip()))
        spans = tuple(dict.fromkeys((article.id, gold_offset(article, p_number, context, a["answer_start"], a["text"]))
                                    for a in answers if a["text"].strip()))
        expect = Expect(answers=texts, gold_spans=tuple(s for s in spans if s[1] is not None))
    return Case(str(qa["id"]), (TurnSpec(question, expect),), (title,), 0, corpus)


def gold_offset(article: Article, paragraph: int, raw: str, start: int, answer: str) -> int | None:
    """Offset in ``article.text`` of an answer given by its raw offset in paragraph ``paragraph``."""
    lead = len(answer) - len(answer.lstrip())
    start, answer = start + lead, " ".join(answer.split())
    cleaned, _ = strip_credit(" ".join(raw.split()))
    prefix = raw[:start]
    before = prefix.split()
    position = len(" ".join(before)) + (1 if before and prefix[-1:].isspace() else 0)
    if cleaned[position:position + len(answer)] != answer:  # offset off in the data: nearest occurrence
        found = [m.start() for m in re.finditer(re.escape(answer), cleaned)]
        if not found:
            return None
        position = min(found, key=lambda p: abs(p - position))
    base = paragraph_start(article, paragraph, cleaned)
    return None if base is None else base + position


def paragraph_start(article: Article, paragraph: int, cleaned: str) -> int | None:
    """Where input paragraph ``paragraph`` begins in ``article.text`` (from its first sentence)."""
    for sentence in article.sentences:
        if sentence.paragraph == paragraph:
            inside = cleaned.find(sentence.text)
            return None if inside < 0 else sentence.start - inside
    return None


def sentence_at(article: Article, offset: int) -> int | None:
    """Index of the sentence holding ``offset`` (or the next one when it falls between two)."""
    for sentence in article.sentences:
        if offset < sentence.end:
            return sentence.index
    return None


def _slug(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "article"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug
