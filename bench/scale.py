"""A million sentences: FAISS type by size, query latency, memory, recall@10 against exact search, BM25.

Data (synthetic, say so in every report): sentence TEXT is article-like, 8-30 consecutive words cut at
random places out of the SQuAD sample's Wikipedia paragraphs, so BM25 sees real word statistics.
Sentence VECTORS are synthetic, because embedding a million sentences with MiniLM takes hours on two
cores: each is a normalised mix of three real MiniLM vectors of SQuAD sentences plus Gaussian noise, so
they live where real sentence embeddings live (same directions, similar neighbour similarities) rather
than uniformly on the sphere. Chunk vectors are the normalised mean of 4 consecutive sentences.
QUERIES are real: SQuAD questions, embedded inside the timed path by the ONNX query encoder.

Two processes: this one builds and saves the indexes (``make_faiss``, the function the index build
uses); a fresh one (``--query DIR``) loads them the way ``load_index`` does for a large corpus (the
FAISS indexes in memory; float32 vectors stay on disk, candidates' rows are read with pread) and
measures, so its resident memory is the index's and nothing left over from building.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from common import folder_mb, percentiles, rss_mb, squad_articles

CHUNK = 4  # sentences per synthetic chunk


def _memory() -> dict:
    """Anonymous (heap: FAISS, BM25, Python objects) and file-backed (memory-mapped vectors) RSS in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "RssAnon:", "RssFile:")):
            fields[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return fields


def _encoder(workdir: Path):
    """The project's query encoder (ONNX export of the bundled model, exported here if needed)."""
    from bot.embedding import Encoder, model_sha256

    encoder = Encoder()
    encoder.attach_onnx(workdir / "onnx", model_sha256(encoder.path))
    return encoder


def _seed_sentences() -> tuple[list[str], list[str]]:
    sentences, questions = [], []
    for _, text, qs in squad_articles():
        sentences += [s for s in re.split(r"(?<=[.!?])\s+", text.replace("\n\n", " ")) if len(s) > 20]
        questions += qs
    return sentences, questions


def generate(n: int, workdir: Path, seed: int = 11) -> dict:
    """Write texts, vectors, owners and both FAISS indexes under ``workdir``; returns build facts."""
    import faiss

    from bot.store import make_faiss

    rng = np.random.default_rng(seed)
    sentences, _ = _seed_sentences()
    encoder = _encoder(workdir)
    start = time.perf_counter()
    seeds = encoder.encode(sentences)
    seed_s = time.perf_counter() - start
    words = np.array(" ".join(sentences).split())
    lengths = rng.integers(8, 31, n)
    offsets = rng.integers(0, len(words) - 31, n)
    with open(workdir / "texts.txt", "w", encoding="utf-8") as out:
        for begin in range(0, n, 100_000):
            out.write("\n".join(" ".join(words[o: o + k]) for o, k in
                                zip(offsets[begin: begin + 100_000], lengths[begin: begin + 100_000])) + "\n")
    vectors = np.empty((n, seeds.shape[1]), dtype=np.float32)
    for begin in range(0, n, 100_000):
        m = min(100_000, n - begin)
        mix = (seeds[rng.integers(0, len(seeds), m)] + 0.6 * seeds[rng.integers(0, len(seeds), m)]
               + 0.35 * seeds[rng.integers(0, len(seeds), m)]
               + rng.normal(0, 0.6 / np.sqrt(seeds.shape[1]), (m, seeds.shape[1])).astype(np.float32))
        vectors[begin: begin + m] = mix / np.linalg.norm(mix, axis=1, keepdims=True)
    chunks = vectors[: n - n % CHUNK].reshape(-1, CHUNK, vectors.shape[1]).mean(axis=1)
    chunks /= np.linalg.norm(chunks, axis=1, keepdims=True)
    np.save(workdir / "sentence_vectors.npy", vectors)
    np.save(workdir / "chunk_vectors.npy", chunks)
    start = time.perf_counter()
    sentence_index = make_faiss(vectors)
    sentence_build_s = time.perf_counter() - start
    start = time.perf_counter()
    chunk_index = make_faiss(chunks)
    chunk_build_s = time.perf_counter() - start
    faiss.write_index(sentence_index, str(workdir / "sentences.faiss"))
    faiss.write_index(chunk_index, str(workdir / "chunks.faiss"))
    return {"sentences": n, "chunks": len(chunks), "seed_sentences_embedded": len(sentences),
            "seed_embedding_s": round(seed_s, 1), "index_type": type(sentence_index).__name__,
            "chunk_index_type": type(chunk_index).__name__,
            "faiss_build_s": round(sentence_build_s, 1), "chunk_faiss_build_s": round(chunk_build_s, 1),
            "faiss_threads": faiss.omp_get_max_threads(),
            "disk_mb": {"sentences.faiss": round((workdir / "sentences.faiss").stat().st_size / 1e6, 1),
                        "chunks.faiss": round((workdir / "chunks.faiss").stat().st_size / 1e6, 1),
                        "vectors.npy": round(((workdir / "sentence_vectors.npy").stat().st_size
                                              + (workdir / "chunk_vectors.npy").stat().st_size) / 1e6, 1),
                        "texts": round((workdir / "texts.txt").stat().st_size / 1e6, 1),
                        "total": folder_mb(workdir)}}


def measure(workdir: Path, n_queries: int) -> dict:
    """Fresh process: load like ``load_index`` does, then time real questions through the retrieval
    code that runs above ``EXACT_LIMIT`` (``Retriever._candidates``, ``_dense_scores``, ``_chunk_scores``)."""
    import faiss

    from bot.lexical import LexicalIndex
    from bot.retrieval import Retriever
    from bot.store import VectorFile, tune_faiss

    encoder = _encoder(workdir)
    encoder.encode(["warm up"])
    base = _memory()
    start = time.perf_counter()
    sentence_index = faiss.read_index(str(workdir / "sentences.faiss"))
    chunk_index = faiss.read_index(str(workdir / "chunks.faiss"))
    tune_faiss(sentence_index)
    tune_faiss(chunk_index)
    vectors = VectorFile(workdir / "sentence_vectors.npy")  # as load_index does for a large corpus
    chunk_vectors = VectorFile(workdir / "chunk_vectors.npy")
    load_s = time.perf_counter() - start
    dense_memory = _memory()
    texts = (workdir / "texts.txt").read_text(encoding="utf-8").splitlines()
    n = len(texts)
    start = time.perf_counter()
    lexical = LexicalIndex(texts)
    bm25_build_s = time.perf_counter() - start
    del texts
    bm25_memory = _memory()

    n_chunks = len(chunk_vectors)
    index = SimpleNamespace(  # the attributes of CorpusIndex the large-corpus path reads
        n_sentences=n, sentence_faiss=sentence_index, chunk_faiss=chunk_index,
        sentence_vectors=vectors, sentence_owner=np.arange(n, dtype=np.int64),
        chunk_vectors=chunk_vectors, chunk_owner=np.arange(n_chunks, dtype=np.int64),
        chunks=_Chunks(n_chunks), sentence_chunks=_SentenceChunks(n_chunks),
        article_offset=np.zeros(1, dtype=np.int64), _article_index=lambda _id: 0)
    retriever = Retriever.__new__(Retriever)
    retriever.index, retriever.encoder, retriever.lexical, retriever.tokens = index, encoder, lexical, None

    _, questions = _seed_sentences()
    questions = questions[:n_queries]
    times = {"encode": [], "candidates": [], "end_to_end": [], "bm25_top200": []}
    found_raw, found_ranked, candidate_counts = [], [], []
    for question in questions:
        t0 = time.perf_counter()
        query = retriever.prepare([question])[0]
        t1 = time.perf_counter()
        candidates = retriever._candidates(query)
        t2 = time.perf_counter()
        dense = retriever._dense_scores(query, candidates)[candidates]
        context = retriever._chunk_scores(query, candidates)[candidates // CHUNK]
        bm25 = lexical.scores(query.terms)
        top = float(bm25.max()) or 1.0
        fused = dense + 0.35 * context + 0.45 * bm25[candidates] / top
        best = candidates[np.argsort(-fused)[:10]]
        t3 = time.perf_counter()
        times["encode"].append(t1 - t0)
        times["candidates"].append(t2 - t1)
        times["end_to_end"].append(t3 - t0)
        candidate_counts.append(len(candidates))
        start = time.perf_counter()
        scores = lexical.scores(query.terms)
        np.argpartition(-scores, 200)[:200]
        times["bm25_top200"].append(time.perf_counter() - start)
        _, raw = sentence_index.search(query.vector[None, :], 10)
        found_raw.append(raw[0])
        found_ranked.append(candidates[np.argsort(-dense)[:10]])
        del best
    query_memory = _memory()
    exact = _exact_top10(np.load(workdir / "sentence_vectors.npy", mmap_mode="r"), encoder.encode(questions))
    recall_raw = np.mean([len(set(e) & set(f)) / 10 for e, f in zip(exact, found_raw)])
    recall_ranked = np.mean([len(set(e) & set(f)) / 10 for e, f in zip(exact, found_ranked)])
    return {
        "queries": len(questions), "load_s": round(load_s, 2), "bm25_build_s": round(bm25_build_s, 1),
        "latency": {name: percentiles(values) for name, values in times.items()},
        "candidates_per_query": int(np.median(candidate_counts)),
        "recall_at_10": {"hnsw_search": round(float(recall_raw), 4),
                         "retrieval_dense_rescored": round(float(recall_ranked), 4)},
        "memory_mb": {"baseline": base, "after_faiss_load": dense_memory, "after_bm25": bm25_memory,
                      "after_queries": query_memory,
                      "faiss_anon": round(dense_memory["RssAnon"] - base["RssAnon"], 1),
                      "bm25_anon": round(bm25_memory["RssAnon"] - dense_memory["RssAnon"], 1),
                      "index_total_anon": round(query_memory["RssAnon"] - base["RssAnon"], 1),
                      "file_backed_growth": round(query_memory["RssFile"] - base["RssFile"], 1)},
    }


class _Chunks:
    """Chunk ``i`` holds sentences 4i..4i+3 of one synthetic article (no million Python objects)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int):
        return SimpleNamespace(article_id="synthetic", sentence_ids=tuple(range(CHUNK * i, CHUNK * i + CHUNK)))


class _SentenceChunks(_Chunks):
    def __getitem__(self, g: int) -> list[int]:
        return [int(g) // CHUNK] if int(g) // CHUNK < self.size else []


def _exact_top10(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Exact inner-product top 10 over all float32 vectors, in blocks (the ground truth, untimed)."""
    best_scores = np.full((len(queries), 10), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), 10), dtype=np.int64)
    for begin in range(0, len(vectors), 100_000):
        scores = queries @ np.asarray(vectors[begin: begin + 100_000]).T
        ids = np.argpartition(-scores, 10, axis=1)[:, :10]
        merged_scores = np.hstack([best_scores, np.take_along_axis(scores, ids, 1)])
        merged_ids = np.hstack([best_ids, ids + begin])
        keep = np.argsort(-merged_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(merged_scores, keep, 1)
        best_ids = np.take_along_axis(merged_ids, keep, 1)
    return best_ids


def scale(n: int = 1_000_000, n_queries: int = 300, workdir: Path | None = None, keep: bool = False) -> dict:
    workdir = workdir or Path(tempfile.mkdtemp(prefix="articlebot-scale-"))
    start = time.perf_counter()
    built = generate(n, workdir)
    built["generate_and_build_s"] = round(time.perf_counter() - start, 1)
    built["builder_rss_mb"] = rss_mb()
    done = subprocess.run([sys.executable, __file__, "--query", str(workdir), "--queries", str(n_queries)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)  # ~2.5 GB at a million sentences
    return {"data": "synthetic vectors (mixes of real MiniLM SQuAD sentence vectors + noise); "
                    "text cut from SQuAD paragraphs; real SQuAD questions as queries",
            "build": built, "query": json.loads(done.stdout.strip().splitlines()[-1]), "workdir": str(workdir)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--query", type=Path, help="(internal) measure the indexes saved in this folder")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("-n", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.query:
        print(json.dumps(measure(args.query, args.queries)))
    else:
        print(json.dumps(scale(args.n, args.queries), indent=2))
