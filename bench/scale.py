"""A million sentences: FAISS type by size, end-to-end answer latency, memory, recall@10, BM25, start-up.

Data (synthetic, say so in every report): sentence TEXT is article-like, 8-30 consecutive words cut at
random places out of the SQuAD sample's Wikipedia paragraphs, so BM25 sees real word statistics; 40
sentences make an article, 4 a paragraph. Sentence VECTORS are synthetic, because embedding a million
sentences with MiniLM takes hours on two cores: each is a normalised mix of three real MiniLM vectors
of SQuAD sentences plus Gaussian noise, so they live where real sentence embeddings live (same
directions, similar neighbour similarities) rather than uniformly on the sphere. Chunk vectors are the
normalised mean of a paragraph's 4 sentence vectors. QUERIES are real: SQuAD questions, embedded
inside the timed path by the ONNX query encoder.

The build writes a real index folder (``manifest.json``, ``data-synthetic/`` with ``corpus.json``, the
vector and owner arrays and both FAISS files made by ``bot.store.make_faiss``, the function index
builds use). A fresh process (``--query DIR``) then opens it with ``bot.store.load_index`` (the load
path ``articlebot`` takes), builds the real ``Pipeline`` on it and times ``Pipeline.answer`` end to
end, with per-stage counters, so its resident memory is the product's and nothing left from building.
``--dir DIR`` keeps the build there and reuses it when it is already complete (~15 min of both cores).
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from common import folder_mb, percentiles, rss_mb, squad_articles

CHUNK = 4  # sentences per synthetic chunk (one paragraph)
ARTICLE = 40  # sentences per synthetic article
DATA = "data-synthetic"  # the data folder the manifest names


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
    """Write the index folder under ``workdir``; returns build facts (also kept in ``build.json``)."""
    import faiss

    from bot.store import make_faiss

    if n % ARTICLE:
        raise ValueError(f"n must be a multiple of {ARTICLE}")
    data = workdir / DATA
    data.mkdir(parents=True, exist_ok=True)
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
    chunks = vectors.reshape(-1, CHUNK, vectors.shape[1]).mean(axis=1)
    chunks /= np.linalg.norm(chunks, axis=1, keepdims=True)
    np.save(data / "sentence_vectors.npy", vectors)
    np.save(data / "chunk_vectors.npy", chunks)
    start = time.perf_counter()
    sentence_index = make_faiss(vectors)
    sentence_build_s = time.perf_counter() - start
    start = time.perf_counter()
    chunk_index = make_faiss(chunks)
    chunk_build_s = time.perf_counter() - start
    faiss.write_index(sentence_index, str(data / "sentences.faiss"))
    faiss.write_index(chunk_index, str(data / "chunks.faiss"))
    built = {"sentences": n, "chunks": len(chunks), "seed_sentences_embedded": len(sentences),
             "seed_embedding_s": round(seed_s, 1), "index_type": type(sentence_index).__name__,
             "chunk_index_type": type(chunk_index).__name__,
             "faiss_build_s": round(sentence_build_s, 1), "chunk_faiss_build_s": round(chunk_build_s, 1),
             "faiss_threads": faiss.omp_get_max_threads()}
    del vectors, chunks, sentence_index, chunk_index
    return finish_layout(workdir, built)


def finish_layout(workdir: Path, built: dict) -> dict:
    """``corpus.json`` (articles of ``ARTICLE`` sentences, paragraphs of ``CHUNK``, one chunk per paragraph),
    the owner arrays and ``manifest.json``, as ``bot.store.save_index`` lays them out; records disk sizes."""
    from bot.embedding import DIMENSION

    start = time.perf_counter()
    data = workdir / DATA
    lines = (workdir / "texts.txt").read_text(encoding="utf-8").splitlines()
    n = len(lines)
    articles, chunks = [], []
    for a in range(n // ARTICLE):
        text, spans = "", []
        for p in range(ARTICLE // CHUNK):
            if p:
                text += "\n\n"
            local = []
            for j in range(CHUNK):
                sentence = lines[a * ARTICLE + p * CHUNK + j] + "."
                if j:
                    text += " "
                spans.append([len(text), len(text) + len(sentence), "body", p, None])
                text += sentence
                local.append(p * CHUNK + j)
            chunk_text = text[spans[local[0]][0]:spans[local[-1]][1]]
            chunks.append([len(chunks), f"synthetic-{a:05d}", local, chunk_text, int(len(chunk_text.split()) * 1.3)])
        articles.append({"id": f"synthetic-{a:05d}", "title": f"Synthetic article {a}", "text": text,
                         "source": None, "published": None, "byline": None, "path": None, "credits": [],
                         "sentences": spans})
    (data / "corpus.json").write_text(json.dumps({"articles": articles, "chunks": chunks}, ensure_ascii=False),
                                      encoding="utf-8")
    np.save(data / "sentence_owner.npy", np.arange(n, dtype=np.int64))
    np.save(data / "chunk_owner.npy", np.arange(len(chunks), dtype=np.int64))
    manifest = {"format": 1, "data": DATA, "corpus_hash": "synthetic", "params": {}, "dimension": DIMENSION,
                "index_type": built["index_type"],
                "counts": {"articles": len(articles), "sentences": n, "chunks": len(chunks),
                           "sentence_vectors": n, "chunk_vectors": len(chunks)},
                "articles": [{"id": a["id"], "title": a["title"], "path": None} for a in articles]}
    (workdir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    built["corpus_json_s"] = round(time.perf_counter() - start, 1)
    built["articles"] = len(articles)
    sizes = {p.name: round(p.stat().st_size / 1e6, 1) for p in sorted(data.iterdir())}
    built["disk_mb"] = {**sizes, "index_folder_total": round(sum(sizes.values()), 1),
                        "texts.txt (generator input, not part of the index)":
                            round((workdir / "texts.txt").stat().st_size / 1e6, 1)}
    (workdir / "build.json").write_text(json.dumps(built, indent=2), encoding="utf-8")
    return built


def measure(workdir: Path, n_queries: int) -> dict:
    """Fresh process: open the index with ``load_index``, build the real ``Pipeline`` on it and time
    ``Pipeline.answer`` on real questions end to end, with per-stage counters; then recall@10."""
    import faiss

    from bot.pipeline import Pipeline
    from bot.settings import Settings
    from bot.store import load_index, read_manifest

    encoder = _encoder(workdir)
    encoder.encode(["warm up"])
    base = _memory()
    start = time.perf_counter()  # FAISS alone first, to split the memory between FAISS and the rest
    probe = [faiss.read_index(str(workdir / DATA / name)) for name in ("sentences.faiss", "chunks.faiss")]
    faiss_s = time.perf_counter() - start
    faiss_memory = _memory()
    del probe
    gc.collect()
    freed = _memory()
    start = time.perf_counter()
    index = load_index(workdir, read_manifest(workdir))
    load_s = time.perf_counter() - start
    loaded = _memory()
    start = time.perf_counter()
    pipeline = Pipeline(Settings(corpus_dir=workdir, index_dir=workdir), index, encoder, None)
    startup_s = time.perf_counter() - start
    started = _memory()
    retriever = pipeline.retriever

    _, questions = _seed_sentences()
    questions = questions[:n_queries]
    stage: dict[str, float] = defaultdict(float)
    for owner, name, label in ((retriever, "prepare", "prepare (embed, terms)"), (retriever, "rank_fused", "rank"),
                               (retriever, "_candidates", "  candidates (FAISS x2, BM25 top)"),
                               (retriever, "features", "  features"),
                               (retriever, "_dense_scores", "    dense rows (8-bit codes, best 64 read exactly)"),
                               (retriever, "_chunk_scores", "    chunk rows"),
                               (retriever, "_kind_signal", "    answer-kind signal"),
                               (retriever.lexical, "scores", "  BM25 scores (cached per query)")):
        _time_calls(owner, name, label, stage)
    start = time.perf_counter()
    pipeline.answer("What did the first synthetic question ask?")  # lazy structures built on first use
    first_s = time.perf_counter() - start
    times: dict[str, list[float]] = defaultdict(list)
    for question in questions:
        stage.clear()
        start, cpu = time.perf_counter(), time.process_time()
        pipeline.answer(question)
        total = time.perf_counter() - start
        times["end_to_end"].append(total)
        times["end_to_end, CPU time of the process"].append(time.process_time() - cpu)
        for name, seconds in stage.items():
            times[name].append(seconds)
        times["after ranking (compose, missing)"].append(total - stage["prepare (embed, terms)"] - stage["rank"])
    query_memory = _memory()

    found_raw, found_ranked, counts, bm25_top = [], [], [], []
    queries = retriever.prepare(questions)
    for query in queries:
        candidates = retriever._candidates(query)
        counts.append(len(candidates))
        dense = retriever._dense_scores(query, candidates)[candidates]
        found_ranked.append(candidates[np.argsort(-dense)[:10]])
        found_raw.append(index.sentence_faiss.search(query.vector[None, :], 10)[1][0])
        retriever.lexical._last = None  # the one-query cache would hide the work
        start = time.perf_counter()
        scores = retriever.lexical.scores(query.terms)
        np.argpartition(-scores, 200)[:200]
        bm25_top.append(time.perf_counter() - start)
    exact = _exact_top10(np.load(workdir / DATA / "sentence_vectors.npy", mmap_mode="r"),
                         np.stack([q.vector for q in queries]))
    recall_raw = np.mean([len(set(e) & set(f)) / 10 for e, f in zip(exact, found_raw)])
    recall_ranked = np.mean([len(set(e) & set(f)) / 10 for e, f in zip(exact, found_ranked)])
    latency = {name: percentiles(values) for name, values in times.items()}
    latency["bm25_top200"] = percentiles(bm25_top)
    return {
        "queries": len(questions), "faiss_load_s": round(faiss_s, 2), "load_index_s": round(load_s, 1),
        "pipeline_start_s": round(startup_s, 1), "first_answer_s": round(first_s, 2),
        "latency": latency, "candidates_per_query": int(np.median(counts)),
        "recall_at_10": {"hnsw_search": round(float(recall_raw), 4),
                         "retrieval_dense_rescored": round(float(recall_ranked), 4)},
        "memory_mb": {"baseline": base, "faiss_only": faiss_memory, "after_faiss_freed": freed,
                      "after_load_index": loaded, "after_pipeline": started, "after_queries": query_memory,
                      "faiss_anon": round(faiss_memory["RssAnon"] - base["RssAnon"], 1),
                      "corpus_objects_anon": round(loaded["RssAnon"] - freed["RssAnon"]
                                                   - (faiss_memory["RssAnon"] - base["RssAnon"]), 1),
                      "retriever_anon": round(started["RssAnon"] - loaded["RssAnon"], 1),
                      "query_growth_anon": round(query_memory["RssAnon"] - started["RssAnon"], 1),
                      "index_anon": round(faiss_memory["RssAnon"] - base["RssAnon"]
                                          + query_memory["RssAnon"] - loaded["RssAnon"], 1),
                      "process_anon": query_memory["RssAnon"],
                      "file_backed_growth": round(query_memory["RssFile"] - base["RssFile"], 1)},
    }


def _time_calls(owner, name: str, label: str, into: dict) -> None:
    """Wrap ``owner.name`` (on the instance) so its wall time adds up in ``into[label]``."""
    inner = getattr(owner, name)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            into[label] += time.perf_counter() - start

    setattr(owner, name, timed)


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


def scale(n: int = 1_000_000, n_queries: int = 300, workdir: Path | None = None) -> dict:
    """Build (or, with ``workdir`` holding a complete build of ``n`` sentences, reuse) and measure.
    Without ``workdir`` the build goes to a temporary folder that is removed afterwards."""
    temporary = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="articlebot-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    facts = workdir / "build.json"
    built = json.loads(facts.read_text()) if facts.exists() else None
    if built is None or built.get("sentences") != n or not (workdir / "manifest.json").exists():
        start = time.perf_counter()
        built = generate(n, workdir)
        built["generate_and_build_s"] = round(time.perf_counter() - start, 1)
        built["builder_rss_mb"] = rss_mb()
        facts.write_text(json.dumps(built, indent=2), encoding="utf-8")
        reused = False
    else:
        reused = True
    done = subprocess.run([sys.executable, __file__, "--query", str(workdir), "--queries", str(n_queries)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    if temporary:
        shutil.rmtree(workdir, ignore_errors=True)  # ~3 GB at a million sentences
    return {"data": "synthetic vectors (mixes of real MiniLM SQuAD sentence vectors + noise); "
                    "text cut from SQuAD paragraphs; real SQuAD questions as queries",
            "build": built, "build_reused": reused,
            "query": json.loads(done.stdout.strip().splitlines()[-1]), "workdir": str(workdir)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--query", type=Path, help="(internal) measure the index folder built here")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--dir", type=Path, help="build here and keep it; reuse a complete build found here")
    parser.add_argument("-n", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.query:
        print(json.dumps(measure(args.query, args.queries)))
    else:
        print(json.dumps(scale(args.n, args.queries, args.dir), indent=2))
