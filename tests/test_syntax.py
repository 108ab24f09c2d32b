"""Dependency parses for the short answer (bot/syntax.py, bot/span_syntax.py): made with the real
spaCy pipeline, kept in the index folder, read back without parsing, parsed again when damaged or
made by another parser; without spaCy the bot still answers, with the syntax-free weights."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from bot import answer_types, extract, span_features, syntax
from bot.lexical import entity_terms, terms
from bot.retrieval import Query
from conftest import write_article

SENTENCES = ["The museum was established in 1887 by a group of local merchants, who paid $4,000 for it.",
             "Because the river flooded twice, engineers rebuilt the old stone bridge near Kelling in 1998.",
             "Liaoning province has invested 2 billion yuan ($278 million) in its digital manufacturing efforts."]


@pytest.fixture(scope="module")
def parses():
    matrix = syntax.parse_texts(SENTENCES)
    assert matrix is not None, "spaCy and its English model are project dependencies"
    return matrix


def _query(question: str) -> Query:
    return Query(question, tuple(dict.fromkeys(terms(question))), answer_types.question_type(question),
                 tuple(entity_terms(question)), np.zeros(384, np.float32))


def test_parses_line_up_with_the_text(parses):
    assert len(parses) == len(SENTENCES) and parses.intact(len(SENTENCES))
    for i, text in enumerate(SENTENCES):
        p = parses.sentence(i)
        words = [text[a:b] for a, b in zip(p.starts.tolist(), p.ends.tolist())]
        assert "".join(words) == "".join(text.split())  # every character but spaces, in order
        assert all(0 <= h < len(p) for h in p.heads.tolist()) and sum(h == k for k, h in enumerate(p.heads)) >= 1
        assert all(0 <= a < b <= len(text) for a, b in p.chunks)
    museum = parses.sentence(0)
    assert (0, len("The museum")) in museum.chunks
    assert museum.pos[SENTENCES[0].split().index("established")] == "VERB"


def test_answering_scores_equal_the_named_syntax_features(parses):
    """With a parse, answering's sums (span_syntax.scores) equal the weighted named features that
    fitting reads (span_syntax.named via span_features.candidate_features)."""
    assert extract.SYNTAX_WEIGHTS, "syntax weights are fitted (bench/short_answers.py --fit A --write)"
    questions = ["Who founded the museum?", "Why did engineers rebuild the bridge?", "How much did Liaoning invest?",
                 "What did the merchants pay for the museum?", "Which bridge was rebuilt?", "When was the bridge rebuilt?"]
    checked = 0
    for i, sentence in enumerate(SENTENCES):
        parse = parses.sentence(i)
        for question in questions:
            q = _query(question)
            preferred = (sentence.index("2 billion"), sentence.index(" in its")) if "yuan" in sentence else None
            got = extract.prepare(sentence, question, q.terms, q.kind, preferred, None, parse)
            _, _, feats = span_features.candidate_features(sentence, question, q.terms, q.kind, preferred, None, parse)
            named = [sum(extract.SYNTAX_WEIGHTS.get(k, 0.0) * v for k, v in f.items()) for f in feats]
            assert any(k.startswith(("path:", "subtree", "root_dep")) or ":root_dep:" in k for f in feats for k in f)
            assert np.allclose(extract.linear_scores(got), named, rtol=0, atol=1e-9)
            checked += len(named)
    assert checked > 300


@pytest.mark.parametrize("sentence, question, expected", [
    ("Last year the city council built a new public library next to the river.",
     "What did the city council build next to the river?", "new public library"),
    ("The bridge was designed by the architect Maria Lopez and opened in 1998.", "Who designed the bridge?",
     "Maria Lopez"),
    ("The regional government invested 3.5 billion yuan ($490 million) in new rail lines.",
     "How much did the regional government invest?", "3.5 billion yuan ($490 million)"),
])
def test_spans_with_a_parse_answer_the_question(sentence, question, expected):
    """Sentences written here (not from the sample the weights were fitted on), with their parse."""
    from bot.answer import short_answer

    span = short_answer(sentence, _query(question), None, syntax.parse_texts([sentence]).sentence(0))
    assert span and sentence[span[0]:span[1]] == expected


def _index(make_settings, encoder, text: str):
    from bot.store import open_index

    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", text)
    index = open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens, settings.chunk_overlap)
    return index, settings.index_dir / index.manifest["data"]


def test_parses_are_kept_with_the_index_and_read_back(make_settings, encoder, monkeypatch, caplog):
    index, folder = _index(make_settings, encoder, " ".join(SENTENCES))
    first = syntax.sentence_syntax(index, folder)
    assert first is not None and (folder / syntax.SYNTAX_FILE).exists()
    assert len(first) == index.n_sentences

    def no_parsing(texts):
        raise AssertionError("parsed again although the stored parses are intact")

    monkeypatch.setattr(syntax, "parse_texts", no_parsing)
    again = syntax.sentence_syntax(index, folder)
    assert again.model == first.model and np.array_equal(again.heads, first.heads)
    assert again.sentence(0).dep == first.sentence(0).dep
    monkeypatch.undo()

    (folder / syntax.SYNTAX_FILE).write_bytes(b"not a zip file")  # damaged: parsed again, with a warning
    with caplog.at_level(logging.WARNING, logger="bot.syntax"):
        fixed = syntax.sentence_syntax(index, folder)
    assert "damaged" in caplog.text and np.array_equal(fixed.heads, first.heads)

    arrays = first.arrays() | {"model": np.array("another parser 0.1")}
    with open(folder / syntax.SYNTAX_FILE, "wb") as handle:
        np.savez(handle, **arrays)
    assert syntax.sentence_syntax(index, folder).model == first.model  # another parser's file is replaced


def test_without_spacy_the_bot_answers_with_the_syntax_free_weights(make_settings, encoder, monkeypatch):
    from bot.pipeline import Pipeline

    monkeypatch.setattr(syntax, "_nlp", lambda: None)
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", " ".join(SENTENCES))
    pipe = Pipeline.open(settings, encoder=encoder)
    assert pipe.syntax is None
    answer = pipe.answer("How much has Liaoning province invested?")
    assert not answer.abstained and answer.short_answer == "2 billion yuan ($278 million)"


def test_a_very_long_sentence_is_read_without_its_parse():
    """A list or table run together into one "sentence" would cost seconds of word-pair tables."""
    long_text = " ".join(SENTENCES * 30)
    parse = syntax.parse_texts([long_text]).sentence(0)
    assert len(parse) > extract.PARSE_WORDS
    assert extract.weights_for(parse) is extract.WEIGHTS
    assert extract.weights_for(syntax.parse_texts(SENTENCES[:1]).sentence(0)) is extract.SYNTAX_WEIGHTS
