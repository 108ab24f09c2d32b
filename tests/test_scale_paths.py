"""The array-based and on-demand structures that let a million sentences start and answer: each must
hold exactly what the eager per-sentence structures they replaced held (computed here the old way)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bot import answer_types
from bot.lexical import LazyRows, LexicalIndex, terms
from bot.store import VectorFile


def _texts(pipeline) -> list[str]:
    return [f"{s.text} {s.credit}" if s.credit else s.text for a in pipeline.index.articles for s in a.sentences]


def test_lexical_scores_equal_bm25s_and_terms_come_back_from_the_arrays(pipeline):
    texts = [*_texts(pipeline), "", "the of and", "Paid 3.5 million yuan, 2,000 robots; paid again."]
    lexical = LexicalIndex(texts)
    for i, text in enumerate(texts):
        assert lexical.terms_of(i) == terms(text)
    assert lexical.terms_in(0, len(texts)) == frozenset(t for text in texts for t in terms(text))
    assert lexical.terms_in(2, 5) == frozenset(t for text in texts[2:5] for t in terms(text))
    df: dict[str, int] = {}
    for text in texts:
        for term in set(terms(text) or ["\u2205"]):
            df[term] = df.get(term, 0) + 1
    vocabulary = sorted(df)
    for term in [*vocabulary, "neverseen"]:  # the IDF the old per-term document counts gave
        assert lexical.idf(term) == float(np.log(1 + (len(texts) - df.get(term, 0) + 0.5) / (df.get(term, 0) + 0.5)))
    rng = np.random.default_rng(5)
    for _ in range(60):
        query = [vocabulary[i] for i in rng.integers(0, len(vocabulary), rng.integers(1, 6))]
        known = list(dict.fromkeys(t for t in query if t in lexical._vocab))
        lexical._last = None
        expected = np.asarray(lexical._bm25.get_scores(known), dtype=np.float32)
        assert np.array_equal(lexical.scores(known), expected)  # bit for bit, not approximately


def test_lazy_retriever_structures_equal_the_eager_ones(pipeline):
    retriever, ix = pipeline.retriever, pipeline.index
    sequences = [terms(t) for t in _texts(pipeline)]
    keys = [(int(ix.sentence_article[g]), ix.sentence(g)[1].paragraph) for g in range(ix.n_sentences)]
    paragraphs: dict = {}
    for key, seq in zip(keys, sequences):
        paragraphs[key] = paragraphs.get(key, frozenset()) | frozenset(seq)
    for g, seq in enumerate(sequences):
        assert retriever.sentence_terms[g] == frozenset(seq)
        assert retriever.sentence_bigrams[g] == frozenset(zip(seq, seq[1:]))
        assert retriever.paragraph_key[g] == keys[g]
        assert retriever.paragraph_terms[keys[g]] == paragraphs[keys[g]]
    texts = [s.text for a in ix.articles for s in a.sentences]
    for kind in answer_types.KINDS:
        query = retriever.prepare(["How much?"])[0]
        retriever._kind_signal(type(query)(query.text, query.terms, kind, query.entities, query.vector),
                               np.arange(ix.n_sentences))
        eager = [[(answer_types.span_words(t, span, kind), span) for span in answer_types.spans(t, kind)] for t in texts]
        assert [retriever.kinds.rows[kind][g] for g in range(len(texts))] == eager
    for a, article in enumerate(ix.articles):  # Pipeline._vocab: each article's terms
        start = int(ix.article_offset[a])
        assert pipeline._vocab[a] == frozenset().union(*(frozenset(s) for s in sequences[start:start + len(article.sentences)]))


def test_sentence_chunks_arrays_equal_the_lists(pipeline):
    ix = pipeline.index
    lists: list[list[int]] = [[] for _ in range(ix.n_sentences)]
    for chunk in ix.chunks:
        base = ix.article_offset[ix._article_index(chunk.article_id)]
        for local in chunk.sentence_ids:
            lists[base + local].append(chunk.id)
    assert [ix.sentence_chunks[g] for g in range(ix.n_sentences)] == lists
    some = np.array([3, 0, ix.n_sentences - 1, 3])
    assert ix.sentence_chunks.rows(some).tolist() == [c for g in some for c in lists[g]]
    with pytest.raises(IndexError):
        ix.sentence_chunks[ix.n_sentences]


def test_vector_file_reads_any_rows_in_the_order_asked(tmp_path):
    matrix = np.random.default_rng(2).normal(size=(50, 8)).astype(np.float32)
    np.save(tmp_path / "v.npy", matrix)
    rows = VectorFile(tmp_path / "v.npy")
    for ask in ([7], [3, 4, 5, 6], [9, 2, 2, 30, 31, 0, 49], [-1, 0], np.array([], dtype=np.int64)):
        assert np.array_equal(rows[ask], matrix[ask])
    assert np.array_equal(rows[10:20], matrix[10:20]) and np.array_equal(rows[4], matrix[[4]])
    with pytest.raises(IndexError):
        rows[[50]]


def test_lazy_rows_compute_once_and_stay_bounded():
    made = []
    rows = LazyRows(100, lambda i: made.append(i) or i * i, limit=10)
    assert [rows[i] for i in (3, 3, -1)] == [9, 9, 9801] and made == [3, 99]
    for i in range(40):
        assert rows[i] == i * i
    assert len(rows._rows) <= 10 and len(rows) == 100
    small = LazyRows(5, lambda i: i, limit=10)  # at most limit rows: never dropped
    assert list(small) == list(range(5)) and len(small._rows) == 5
    with pytest.raises(IndexError):
        small[5]
    assert list(itertools.islice(rows, 3)) == [0, 1, 4]


QUESTIONS = ["How much did Liaoning invest?", "Which provinces are driving digital transformation?",
             "Where is the integrated AMT workshop?", "Who is FAW Jiefang a subsidiary of?",
             "When were the robots tested in Changchun?", "What does the article say about football?",
             "How much does the Marlow bridge cost?", "Who opened the bridge?", "robots robots digital economy"]


@pytest.fixture(scope="module")
def two_articles(tmp_path_factory, encoder):
    """The bundled article and the Marlow fixture in one corpus: several articles and paragraphs."""
    import shutil

    from conftest import BUNDLED_CORPUS, ROOT
    from bot.pipeline import Pipeline
    from bot.settings import Settings

    base = tmp_path_factory.mktemp("two")
    shutil.copytree(BUNDLED_CORPUS, base / "corpus")
    for path in (ROOT / "tests/fixtures/marlow").iterdir():
        if path.suffix in (".md", ".txt"):
            shutil.copy(path, base / "corpus" / path.name)
    return Pipeline.open(Settings(corpus_dir=base / "corpus", index_dir=base / "index"), encoder=encoder)


def _signals_by_definition(r, query, candidates) -> np.ndarray:
    """coverage, window, paragraph, entity, bigram of each candidate, sentence by sentence, as
    docs/quality.md defines them: the reference both array paths must equal."""
    from bot.lexical import terms

    idf = {t: r.lexical.idf(t) for t in query.terms}
    total = sum(idf.values()) or 1.0
    ordered = terms(query.text)
    pairs = set(zip(ordered, ordered[1:]))
    rows = []
    for g in candidates:
        own = r.sentence_terms[g]
        near = own | r._neighbour_terms(int(g))
        para = r.paragraph_terms[r.paragraph_key[g]]
        rows.append([sum(w for t, w in idf.items() if t in own) / total,
                     sum(w for t, w in idf.items() if t in near) / total,
                     sum(w for t, w in idf.items() if t in para) / total,
                     sum(t in own for t in query.entities) / len(query.entities) if query.entities else 1.0,
                     len(pairs & r.sentence_bigrams[g]) / len(pairs) if pairs else 0.0])
    return np.array(rows, dtype=np.float32).reshape(-1, 5)


@pytest.mark.parametrize("which", ["pipeline", "two_articles"])
@pytest.mark.parametrize("limit", ["small", "large", "loop"])
def test_array_signals_equal_the_per_sentence_definition(request, monkeypatch, which, limit):
    """Small corpora take the lexical signals from per-term arrays over every sentence, large ones from
    arrays over the candidates (or, when paragraphs are not runs, sentence by sentence); all must give
    the very numbers of the per-sentence definition, for every sentence and for scattered subsets
    (neighbours and paragraph-mates that are not candidates)."""
    from bot import retrieval
    from bot.retrieval import SIGNALS

    chosen = request.getfixturevalue(which)
    r, n = chosen.retriever, chosen.index.n_sentences
    columns = [SIGNALS.index(name) for name in ("coverage", "window", "paragraph", "entity", "bigram")]
    queries = r.prepare(QUESTIONS)
    subsets = [np.arange(n), np.arange(0, n, 3), np.array([n - 1, 0]) if n > 1 else np.arange(n)]
    if limit != "small":
        monkeypatch.setattr(retrieval, "EXACT_LIMIT", 0)
    if limit == "large":
        assert chosen.index.paragraph_runs is not None
    if limit == "loop":
        monkeypatch.setitem(chosen.index.__dict__, "paragraph_runs", None)
    for q in queries:
        for c in subsets:
            c = np.sort(c)
            assert np.array_equal(r.features(q, c)[:, columns], _signals_by_definition(r, q, c))


@pytest.mark.parametrize("which", ["pipeline", "two_articles"])
def test_best_chunk_of_each_sentence_is_the_ragged_maximum(request, which):
    """``context`` (a sentence's best chunk score) up to EXACT_LIMIT is a gather over padded rows; it
    must equal the general ragged maximum (``max_of_rows``, the path above it) for every sentence and
    for scattered subsets."""
    from bot.arrays import max_of_rows
    from bot.retrieval import SIGNALS

    chosen = request.getfixturevalue(which)
    r, ix, column = chosen.retriever, chosen.index, SIGNALS.index("context")
    for q in r.prepare(QUESTIONS):
        for c in (np.arange(ix.n_sentences), np.arange(1, ix.n_sentences, 2), np.array([0, ix.n_sentences - 1])):
            want = max_of_rows(ix.sentence_chunks.offsets, ix.sentence_chunks.values, c, r._chunk_scores(q, c))
            got = r.features(q, c)[:, column]
            assert np.array_equal(got, want.astype(np.float32)) and got.max() > 0


@pytest.mark.parametrize("which", ["pipeline", "two_articles"])
def test_pruned_answer_kinds_leave_the_top_k_unchanged(request, monkeypatch, which):
    from bot import retrieval

    chosen = request.getfixturevalue(which)
    r = chosen.retriever
    queries = r.prepare(QUESTIONS)
    for k in (1, 3, 10):
        expected = [[(h.sentence, h.score, h.signals) for h in r.rank_fused([(q, 1.0), (queries[0], 0.5)], k)]
                    for q in queries]
        with monkeypatch.context() as patch:
            patch.setattr(retrieval, "EXACT_LIMIT", 0)
            got = [[(h.sentence, h.score, h.signals) for h in r.rank_fused([(q, 1.0), (queries[0], 0.5)], k)]
                   for q in queries]
        assert [[(s, round(v, 5)) for s, v, _ in hits] for hits in got] == \
               [[(s, round(v, 5)) for s, v, _ in hits] for hits in expected]
        for hits, want in zip(got, expected):
            for (_, _, signals), (_, _, wanted) in zip(hits, want):
                assert signals["type"] == wanted["type"]


def test_max_of_rows_is_the_best_score_of_each_row_and_the_default_for_empty_rows():
    from bot.arrays import max_of_rows, padded_rows

    rng = np.random.default_rng(7)
    lengths = rng.integers(0, 4, 50)  # about a quarter of the rows are empty
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = rng.integers(0, 30, int(offsets[-1])).astype(np.int32)
    scores = rng.normal(size=30).astype(np.float32)  # negative scores too: an empty row is not a 0 score
    rows = np.array([3, 0, 49, 3, 17, 22])
    expected = [max((scores[v] for v in values[offsets[r]:offsets[r + 1]]), default=-9.0) for r in rows]
    assert np.array_equal(max_of_rows(offsets, values, rows, scores, default=-9.0), np.array(expected, np.float64))
    # the small-corpus form (Retriever._chunks_of_each): padded rows, the default in one slot past the end
    padded = padded_rows(offsets, values, 50, len(scores))
    every = np.append(scores, np.float32(-9.0))[padded].max(axis=1)
    assert np.array_equal(every, max_of_rows(offsets, values, np.arange(50), scores, default=-9.0).astype(np.float32))


def test_term_arrays_start_afresh_without_losing_what_the_question_needs(pipeline, monkeypatch):
    """Past KEPT_TERMS the per-term cache is cleared; the terms and pairs of the question being scored
    must survive it (a SQuAD evaluation ran into a KeyError here)."""
    from bot import term_signals

    r = pipeline.retriever
    queries = r.prepare(QUESTIONS)
    expected = [r.features(q, np.arange(pipeline.index.n_sentences)) for q in queries]
    monkeypatch.setattr(term_signals, "KEPT_TERMS", 3)  # every question now overflows the cache
    for q, want in zip(queries * 2, expected * 2):
        assert np.array_equal(r.features(q, np.arange(pipeline.index.n_sentences)), want)


@pytest.mark.parametrize("which", ["pipeline", "two_articles"])
def test_features_of_the_exact_candidates_equal_the_gathered_route(request, which):
    """``Retriever.features`` skips its gathers when given the exact route's own ``_every`` array; the
    result must be the very bits of the same candidates passed as any other array, and rank_fused's
    hits those of ranking that array."""
    chosen = request.getfixturevalue(which)
    r, n = chosen.retriever, chosen.index.n_sentences
    for q in r.prepare(QUESTIONS):
        fast, gathered = r.features(q, r._every), r.features(q, np.arange(n))
        assert fast.dtype == gathered.dtype == np.float32 and fast.flags.c_contiguous
        assert fast.tobytes() == gathered.tobytes()
        ranked = r.rank_fused([(q, 1.0)], 20)
        order = np.argsort(-(gathered @ r.weights.vector()), kind="stable")[:20]
        assert [h.sentence for h in ranked] == order.tolist()
        assert [list(h.signals.values()) for h in ranked] == gathered[order].tolist()
