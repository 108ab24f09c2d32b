"""Embedding cache and model-hash cache: a rebuild embeds only what is new, nothing when nothing is."""

from __future__ import annotations

import hashlib
import os

import numpy as np

from bot import embedding
from bot.chunking import chunk_article
from bot.corpus import load_corpus
from bot.embedding import model_sha256
from bot.embedding_cache import EmbeddingCache
from bot.store import open_index
from conftest import write_article

RIVER = "The river rose ten metres overnight. Boats were moved to higher ground. Schools closed on Monday."
BRIDGE = ("A second article is about bridges. Two of them were closed for repairs. "
          "Engineers found cracks in the older one. It reopens in May.")


def _open(settings, encoder, **kw):
    return open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens,
                      settings.chunk_overlap, warn=print, **kw)


def _new_texts(settings, article_id: str) -> set[str]:
    article = next(a for a in load_corpus(settings.corpus_dir).articles if a.id == article_id)
    chunks = chunk_article(article, settings.chunk_tokens, settings.chunk_overlap)
    return {s.text for s in article.sentences} | {c.text for c in chunks}


def test_first_build_embeds_every_distinct_text_once(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "river.md", RIVER)
    before = encoder.reference_texts
    index = _open(settings, encoder)
    expected = _new_texts(settings, "river")
    assert encoder.reference_texts - before == len(expected)
    assert index.manifest["embedding"] == {"encoded": len(expected), "reused": index.n_sentences
                                           + len(index.chunks) - len(expected)}


def test_unchanged_corpus_rebuilt_embeds_nothing_and_gives_the_same_vectors(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "river.md", RIVER)
    first = _open(settings, encoder)
    before = encoder.reference_texts
    forced = _open(settings, encoder, force=True)
    assert encoder.reference_texts == before
    assert forced.manifest["data"] != first.manifest["data"] and forced.manifest["embedding"]["encoded"] == 0
    assert np.array_equal(forced.sentence_vectors, first.sentence_vectors)
    assert np.array_equal(forced.chunk_owner, first.chunk_owner)


def test_adding_an_article_embeds_only_its_texts(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "river.md", RIVER)
    _open(settings, encoder)
    write_article(settings.corpus_dir, "bridge.md", BRIDGE)
    before = encoder.reference_texts
    index = _open(settings, encoder)
    new = _new_texts(settings, "bridge") - _new_texts(settings, "river")
    assert encoder.reference_texts - before == len(new) > 0
    # cached and fresh vectors agree with embedding everything from scratch
    texts = [s.text for a in index.articles for s in a.sentences]
    assert np.allclose(index.sentence_vectors, encoder.encode_reference(texts), atol=1e-5)


def test_changed_chunking_reuses_sentence_vectors(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "bridge.md", BRIDGE)
    _open(settings, encoder)
    before = encoder.reference_texts
    index = open_index(settings.corpus_dir, settings.index_dir, encoder, 12, 0, warn=print)
    sentences = {s.text for s in index.articles[0].sentences}
    fresh_chunks = {c.text for c in index.chunks} - sentences - {c.text for c in chunk_article(
        index.articles[0], settings.chunk_tokens, settings.chunk_overlap)}
    assert encoder.reference_texts - before == len(fresh_chunks)


def test_damaged_cache_is_ignored_and_replaced(make_settings, encoder, caplog):
    settings = make_settings()
    write_article(settings.corpus_dir, "river.md", RIVER)
    _open(settings, encoder)
    cache = EmbeddingCache(settings.index_dir, model_sha256(encoder.path))
    assert len(cache) > 0
    cache.path.write_bytes(b"PK\x03\x04 garbage")
    before = encoder.reference_texts
    index = _open(settings, encoder, force=True)
    assert encoder.reference_texts - before == index.manifest["embedding"]["encoded"] > 0
    assert len(EmbeddingCache(settings.index_dir, model_sha256(encoder.path))) == \
        index.manifest["embedding"]["encoded"]


def test_model_hash_is_cached_on_disk_by_path_size_and_mtime(tmp_path, monkeypatch):
    monkeypatch.setattr(embedding, "_HASHES", {})
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights v1")
    cache = tmp_path / "hash.json"
    assert model_sha256(model, cache) == hashlib.sha256(b"weights v1").hexdigest()
    assert cache.is_file()
    # a later process trusts the cache while the file's path, size and mtime are unchanged...
    monkeypatch.setattr(embedding, "_HASHES", {})
    cache.write_text(cache.read_text().replace(hashlib.sha256(b"weights v1").hexdigest(), "a" * 64))
    assert model_sha256(model, cache) == "a" * 64
    # ...and hashes again once any of them changes
    monkeypatch.setattr(embedding, "_HASHES", {})
    (model / "model.safetensors").write_bytes(b"weights v2")
    os.utime(model / "model.safetensors", ns=(1, 1))
    assert model_sha256(model, cache) == hashlib.sha256(b"weights v2").hexdigest()
