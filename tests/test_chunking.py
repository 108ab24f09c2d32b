"""Chunks: token budget, overlap, coverage, and long sentences kept searchable."""

from __future__ import annotations

from bot.chunking import chunk_article, count_tokens
from bot.corpus import load_corpus, parse_article
from conftest import BUNDLED_CORPUS


def test_chunks_respect_the_token_budget_and_cover_every_sentence():
    article = load_corpus(BUNDLED_CORPUS).articles[0]
    for budget in (40, 96, 200):
        chunks = chunk_article(article, budget, overlap=1)
        assert all(c.n_tokens <= budget for c in chunks)
        assert all(count_tokens(c.text) == c.n_tokens for c in chunks)
        covered = {i for c in chunks for i in c.sentence_ids}
        assert covered == set(range(len(article.sentences)))


def test_overlap_shares_sentences_between_neighbours():
    article = parse_article(" ".join(f"Sentence number {i} is here." for i in range(20)), "a")
    chunks = chunk_article(article, 30, overlap=1)
    assert len(chunks) > 2
    for left, right in zip(chunks, chunks[1:]):
        assert left.sentence_ids[-1] == right.sentence_ids[0]
    no_overlap = chunk_article(article, 30, overlap=0)
    assert sum(len(c.sentence_ids) for c in no_overlap) == len(article.sentences)


def test_an_over_long_sentence_is_windowed_not_dropped():
    words = " ".join(f"word{i}" for i in range(400))
    article = parse_article(f"Short one. {words} end. Another short one.", "long")
    chunks = chunk_article(article, 64, overlap=0)
    long_chunks = [c for c in chunks if c.sentence_ids == (1,)]
    assert len(long_chunks) > 2 and all(c.n_tokens <= 64 for c in long_chunks)
    assert "word399" in long_chunks[-1].text and "word0" in long_chunks[0].text
