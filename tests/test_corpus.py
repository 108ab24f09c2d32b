"""Corpus reading and cleaning: metadata, captions, credits, offsets, bad files."""

from __future__ import annotations

import pytest

from bot.corpus import load_corpus, parse_article, read_article
from bot.errors import ArticleUnreadable, CorpusError
from conftest import BUNDLED_CORPUS, SHARED, write_article


def test_bundled_article_metadata_and_cleaning():
    corpus = load_corpus(BUNDLED_CORPUS)
    (article,) = corpus.articles
    assert article.title == "Northeast China driving digital transformation"
    assert article.source == "Chinadaily.com.cn"
    assert article.published.startswith("2024-08-08")
    # the header lines are metadata, not sentences
    assert not any("Chinadaily.com.cn" in s.text for s in article.sentences)
    assert not any(s.text == article.title for s in article.sentences)
    # credits are out of the text and kept; captions are citable and marked
    assert "[Photo/Xinhua]" not in article.text
    captions = [s for s in article.sentences if s.kind == "caption"]
    assert len(captions) == 8 and all(s.credit == "Photo/Xinhua" for s in captions)
    assert [s.kind for s in article.sentences[1:5]] == ["body"] * 4


def test_offsets_slice_the_cleaned_text():
    article = load_corpus(BUNDLED_CORPUS).articles[0]
    for sentence in article.sentences:
        assert article.text[sentence.start:sentence.end] == sentence.text
    assert any(s.text.startswith("Liaoning province has invested 2 billion yuan") for s in article.sentences)


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="shared seeds not beside the checkout")
def test_raw_seed_without_front_matter_gets_header_as_metadata():
    raw = (SHARED / "seeds" / "000_a257b176da2bf1ae.txt").read_text(encoding="utf-8")
    article = parse_article(raw, "seed")
    assert article.title == "Northeast China driving digital transformation"
    assert article.source == "Chinadaily.com.cn"
    assert "August 08, 2024" in article.published and "09:15" in article.published
    assert len(article.sentences) == 12


def test_sentence_splitting_keeps_abbreviations_together():
    article = parse_article("Mr. Smith paid $3.5 million on Aug. 5 to Acme Inc. in Washington. He left.", "a")
    assert [s.text for s in article.sentences] == [
        "Mr. Smith paid $3.5 million on Aug. 5 to Acme Inc. in Washington.", "He left."]


def test_article_without_sentence_punctuation_is_one_sentence_per_paragraph():
    text = "---\ntitle: Notes\n---\nno punctuation at all here\n\nand a second paragraph without it either"
    article = parse_article(text, "np")
    assert len(article.sentences) == 2


def test_binary_and_non_utf8_files_are_skipped_with_a_warning(tmp_path):
    write_article(tmp_path, "good.md", "A good article. It has two sentences.")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PNG")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me.".encode("latin-1"))
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["good"]
    assert any("binary.txt" in w for w in corpus.warnings)
    assert any("latin1.txt" in w and "UTF-8" in w for w in corpus.warnings)
    with pytest.raises(ArticleUnreadable):
        read_article(tmp_path / "binary.txt")


def test_empty_or_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="no readable articles"):
        load_corpus(tmp_path)
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_front_matter_and_byline():
    text = "---\ntitle: Rivers rise\nsource: Example Times\npublished: 2024-01-02\n---\nBy Jane Doe\n\nRain fell. Rivers rose."
    article = parse_article(text, "rivers")
    assert (article.title, article.source, article.published, article.byline) == (
        "Rivers rise", "Example Times", "2024-01-02", "By Jane Doe")
    assert [s.text for s in article.sentences] == ["Rain fell.", "Rivers rose."]
