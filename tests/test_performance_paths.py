"""Large-corpus code paths, exercised on small data: the candidate route of retrieval must rank like
the exact route when every sentence is a candidate, and the FAISS type follows the corpus size."""

from __future__ import annotations

import numpy as np
import pytest

from bot import arrays, retrieval, store
from bot.retrieval import Retriever

QUESTIONS = ["How much did Liaoning invest?", "Which provinces are driving digital transformation?",
             "Where is the integrated AMT workshop?", "What does the article say about football?"]


def test_candidate_route_ranks_like_the_exact_route(pipeline, monkeypatch):
    exact = Retriever(pipeline.index, pipeline.retriever.encoder)
    expected = [[(h.sentence, round(h.score, 5)) for h in exact.search(q, 10)] for q in QUESTIONS]
    monkeypatch.setattr(retrieval, "EXACT_LIMIT", 0)  # the route taken above 20,000 sentences
    queries = exact.prepare(QUESTIONS)
    for query in queries:  # a 12-sentence article: FAISS and BM25 together propose every sentence
        assert set(exact._candidates(query).tolist()) == set(range(pipeline.index.n_sentences))
    got = [[(h.sentence, round(h.score, 5)) for h in exact.search(q, 10)] for q in QUESTIONS]
    assert got == expected


def test_dense_scores_of_candidates_equal_the_full_product(pipeline, monkeypatch):
    ix = pipeline.index
    query = pipeline.retriever.prepare(["How much did Liaoning invest?"])[0]
    full = arrays.max_by_owner(ix.sentence_vectors @ query.vector, ix.sentence_owner, ix.n_sentences)
    # one vector per sentence here: the shortcut must give the same maxima as np.maximum.at
    assert pipeline.retriever._one_vector_each[0]
    assert np.array_equal(full, arrays.max_by_owner(ix.sentence_vectors @ query.vector, ix.sentence_owner,
                                                    ix.n_sentences, one_each=True))
    some = np.array([0, 3, ix.n_sentences - 1])
    part = arrays.scores_of(ix.sentence_vectors, ix.sentence_owner, some, query.vector, ix.n_sentences)
    assert np.allclose(part[some], full[some]) and np.count_nonzero(np.delete(part, some)) == 0


@pytest.mark.parametrize("size, kind", [(300, "IndexFlatIP"), (3000, "IndexHNSWSQ")])
def test_faiss_type_follows_size_and_search_settings_survive_a_reload(tmp_path, monkeypatch, size, kind):
    import faiss

    monkeypatch.setattr(store, "HNSW_THRESHOLD", 1000)
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(40, 384)).astype(np.float32)
    vectors = centres[rng.integers(0, 40, size)] + 0.6 * rng.normal(size=(size, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = store.make_faiss(vectors)
    assert type(index).__name__ == kind and index.ntotal == size
    faiss.write_index(index, str(tmp_path / "x.faiss"))
    loaded = faiss.read_index(str(tmp_path / "x.faiss"))
    store.tune_faiss(loaded)
    if kind == "IndexHNSWSQ":
        assert loaded.hnsw.efSearch == store.HNSW_EF_SEARCH
    queries = vectors[:50] + 0.1 * rng.normal(size=(50, 384)).astype(np.float32)
    _, truth = _exact(vectors, queries)
    _, found = loaded.search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found)])
    assert recall >= 0.95


def _exact(vectors, queries):
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    return flat.search(queries, 10)


def test_large_index_loads_without_float_vectors_and_answers(make_settings, encoder, monkeypatch):
    """Above HNSW_THRESHOLD the index is HNSW over 8-bit codes and the float32 vectors stay on disk:
    retrieval reads only its candidates' rows. Shrunk thresholds run that path on one article."""
    from conftest import BUNDLED_CORPUS
    from bot.store import VectorFile, open_index

    monkeypatch.setattr(store, "HNSW_THRESHOLD", 5)
    monkeypatch.setattr(retrieval, "EXACT_LIMIT", 5)
    settings = make_settings()
    for path in BUNDLED_CORPUS.glob("*.md"):
        (settings.corpus_dir / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    built = open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens, settings.chunk_overlap)
    assert built.manifest["index_type"] == "IndexHNSWSQ"
    loaded = open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens, settings.chunk_overlap)
    assert isinstance(loaded.sentence_vectors, VectorFile) and isinstance(loaded.chunk_vectors, VectorFile)
    assert np.array_equal(loaded.sentence_vectors[np.arange(loaded.n_sentences)], built.sentence_vectors)
    assert np.array_equal(loaded.chunk_vectors[[2, 0]], built.chunk_vectors[[2, 0]])
    hits = Retriever(loaded, encoder).search("How much did Liaoning invest?", 3)
    assert "2 billion yuan" in loaded.sentence(hits[0].sentence)[1].text


def test_an_open_pipeline_keeps_blas_to_one_thread_and_leaves_torch_alone(pipeline):
    from threadpoolctl import threadpool_info

    import faiss  # noqa: F401  (its BLAS, when it has one, is loaded by now)

    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert any("numpy" in lib["filepath"] for lib in blas)  # numpy's own wheel, as installed here
    assert all(lib["num_threads"] == 1 for lib in blas if "torch" not in lib["filepath"])


def test_large_index_scores_rows_from_its_codes_and_reads_only_the_best_exactly(tmp_path, monkeypatch):
    """Above HNSW_THRESHOLD a question's candidate rows are scored from FAISS's in-memory 8-bit codes and
    only the ``rescore`` best are read from the vector file: those exact, the rest within the codes'
    error, and the file asked for no other row."""
    from bot.vector_file import VectorFile, codes_for

    monkeypatch.setattr(store, "HNSW_THRESHOLD", 1000)
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(3000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.save(tmp_path / "v.npy", vectors)
    on_disk, index = VectorFile(tmp_path / "v.npy"), store.make_faiss(vectors)
    assert codes_for(index, on_disk) is index and codes_for(index, vectors) is None  # in memory: read exactly
    asked: list[int] = []
    real = VectorFile.__getitem__
    monkeypatch.setattr(VectorFile, "__getitem__", lambda self, rows: (asked.extend(np.atleast_1d(rows).tolist()),
                                                                          real(self, rows))[1])
    query = vectors[7] * 0.6 + vectors[8] * 0.4
    query /= np.linalg.norm(query)
    ids = rng.choice(3000, 500, replace=False)
    owner = np.arange(3000)
    got = arrays.scores_of(on_disk, owner, ids, query, 3000, coded=index, rescore=16)
    exact = vectors @ query
    assert len(asked) == 16 and set(asked) <= set(ids.tolist())
    assert np.abs(got[asked] - exact[asked]).max() < 1e-6  # the rows read are scored exactly
    best = ids[np.argsort(-exact[ids])[:10]]
    assert set(best.tolist()) <= set(asked)  # the true top 10 among the candidates are among them
    assert np.abs(got[ids] - exact[ids]).max() < 0.01 and np.count_nonzero(np.delete(got, ids)) == 0
