"""The persisted index: FAISS files, vectors and the parsed corpus under ``index/``, with a manifest.

Why this layout: a build writes a complete new ``data-*`` folder (derived files such as token vectors
included), then atomically replaces ``manifest.json`` to point at it. An interrupted build (even SIGKILL)
leaves the old manifest pointing at the old, complete folder (locking: ``bot.index_lock``). The manifest
records everything the index depends on (corpus bytes, model file hash, chunking parameters); any
difference means rebuild, never a silently stale answer.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import index_lock
from .arrays import Ragged
from .chunking import Chunk, chunk_corpus
from .corpus import Article, article_files, corpus_hash, load_corpus
from .embedding import DIMENSION, MODEL_NAME, Encoder, model_sha256
from .embedding_cache import EmbeddingCache
from .errors import IndexCorrupt, IndexUnavailable
from .files import fsync_path, not_a_folder, write_atomic
from .vector_file import VectorFile

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
HNSW_THRESHOLD = 200_000  # vectors; below it exact search is fast enough (~15 ms at 200k) and exact
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 128  # graph degree, build and search beam widths
ONNX_FOLDER = "onnx"  # under the index folder: the query encoder exported from the same weights
HASH_CACHE = "model-sha256.json"  # the weights' hash keyed by path, size and mtime (see model_sha256)

Report = Callable[[str, int, int], None]  # (stage, done, total) for progress bars
# (index, its data folder, the replaced index's folder or None, building=) -> what the answer path derives
# from the index and keeps in that folder (token vectors, parses): made before the manifest points at it;
# ``building=True``: a file that cannot be saved is an error (the index must not be published without it)
Derive = Callable[..., Any]


@dataclass(frozen=True)
class BuildParams:
    """Everything besides the corpus bytes that changes the index contents."""

    chunk_tokens: int
    chunk_overlap: int
    model_sha256: str
    model: str = MODEL_NAME
    format: int = FORMAT_VERSION

    def as_dict(self) -> dict:
        return {"chunk_tokens": self.chunk_tokens, "chunk_overlap": self.chunk_overlap,
                "model": self.model, "model_sha256": self.model_sha256, "format": self.format}


@dataclass
class CorpusIndex:
    """Everything retrieval needs, in memory: articles, chunks, vectors and their FAISS indexes."""

    articles: tuple[Article, ...]
    chunks: tuple[Chunk, ...]
    sentence_vectors: np.ndarray  # one row per sentence window
    sentence_owner: np.ndarray  # row -> global sentence id
    chunk_vectors: np.ndarray
    chunk_owner: np.ndarray  # row -> chunk id
    sentence_faiss: object
    chunk_faiss: object
    manifest: dict
    derived: Any = None  # what ``open_index``'s ``derive`` returned for this index

    def __post_init__(self) -> None:
        sizes = np.array([len(a.sentences) for a in self.articles], dtype=np.int64)
        self.sentence_article = np.repeat(np.arange(len(self.articles), dtype=np.int32), sizes)
        self.article_offset = np.concatenate([[0], np.cumsum(sizes)])[:-1].astype(np.int64)
        self.sentence_local = (np.arange(int(sizes.sum()), dtype=np.int64)
                               - np.repeat(self.article_offset, sizes)).astype(np.int32)

    @functools.cached_property
    def sentence_chunks(self) -> Ragged:
        """Chunk ids holding each sentence (``sentence_chunks[g]`` is a list, in chunk order); built on
        first use as two flat arrays, not a million lists (cold start should not pay for it)."""
        n = len(self.sentence_article)
        owners, members = [], []
        for chunk in self.chunks:
            base = int(self.article_offset[self._article_index(chunk.article_id)])
            owners.append(np.full(len(chunk.sentence_ids), chunk.id, dtype=np.int64))
            members.append(base + np.asarray(chunk.sentence_ids, dtype=np.int64))
        owners_flat = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        members_flat = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
        order = np.argsort(members_flat, kind="stable")  # per sentence, chunks stay in chunk order
        offsets = np.concatenate([[0], np.cumsum(np.bincount(members_flat, minlength=n))])
        small = np.int32 if len(members_flat) < 2**31 and len(self.chunks) < 2**31 else np.int64
        return Ragged(offsets.astype(small), owners_flat[order].astype(small))

    @functools.cached_property
    def paragraph_runs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Paragraphs as runs of consecutive sentences: (run of each sentence, first sentence of each run,
        one past its last). None when some (article, paragraph) is split over several runs."""
        n = self.n_sentences
        paragraph = np.fromiter((s.paragraph for a in self.articles for s in a.sentences), dtype=np.int64, count=n)
        change = np.flatnonzero((np.diff(self.sentence_article) != 0) | (np.diff(paragraph) != 0)) + 1
        starts = np.concatenate([[0], change]).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
        ends = np.concatenate([change, [n]]).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
        keys = self.sentence_article[starts].astype(np.int64) * (int(paragraph.max(initial=0)) + 1) + paragraph[starts]
        if len(np.unique(keys)) != len(keys):
            return None
        return np.repeat(np.arange(len(starts), dtype=np.int32), ends - starts), starts, ends

    def _article_index(self, article_id: str) -> int:
        if not hasattr(self, "_by_id"):
            self._by_id = {a.id: i for i, a in enumerate(self.articles)}
        return self._by_id[article_id]

    @property
    def n_sentences(self) -> int:
        return len(self.sentence_article)

    def sentence(self, gid: int):
        """(article, sentence) of a global sentence id."""
        article = self.articles[self.sentence_article[gid]]
        return article, article.sentences[self.sentence_local[gid]]


# ---------------------------------------------------------------- opening

def open_index(corpus_dir: Path, index_dir: Path, encoder: Encoder, chunk_tokens: int, chunk_overlap: int,
               report: Report | None = None, warn: Callable[[str], None] = log.warning,
               force: bool = False, derive: Derive | None = None) -> CorpusIndex:
    """Load the index if it matches the corpus and parameters, else (re)build it and save atomically.
    With ``derive``, its result for the index is ``index.derived`` (see ``Derive``)."""
    files = article_files(corpus_dir)
    _check_folder(index_dir)
    params = BuildParams(chunk_tokens, chunk_overlap, model_sha256(encoder.path, index_dir / HASH_CACHE))
    digest = corpus_hash(files)
    index = None if force else _load_current(index_dir, encoder, digest, params, derive, warn)
    if index is None:
        _ensure_writable(index_dir)
        _attach(index_dir, encoder, params)
        with index_lock.building(index_dir, lambda: warn(
                f"another articlebot is building the index in {index_dir}; waiting for it to finish")):
            if not force:  # a build that ended meanwhile (waited for or not) may have saved just this index
                index = _load_current(index_dir, encoder, digest, params, derive, log.info)  # warned above
            if index is None:
                # --force is the repair: derived files are made afresh, not gathered from the old index
                index = build_index(corpus_dir, index_dir, encoder, params, report=report, warn=warn,
                                    derive=derive, reuse=not force)
    return index


def _attach(index_dir: Path, encoder: Encoder, params: BuildParams) -> None:
    """Questions use the ONNX export kept beside the index; attached before anything is derived, as
    the token vectors must come from the encoder that embeds the questions."""
    encoder.attach_onnx(index_dir / ONNX_FOLDER, params.model_sha256)


def _load_current(index_dir: Path, encoder: Encoder, digest: str, params: BuildParams, derive: Derive | None,
                  warn: Callable[[str], None]) -> CorpusIndex | None:
    """The saved index when it was built from this corpus with these parameters and reads intact; the
    build's switch waits until its files (and derived ones) are read, so none vanish half-way."""
    with index_lock.reading(index_dir):
        manifest = read_manifest(index_dir)
        if manifest is None:
            return None
        if manifest.get("corpus_hash") != digest or manifest.get("params") != params.as_dict():
            log.info("index in %s is stale (corpus or parameters changed); rebuilding", index_dir)
            return None
        try:
            index = load_index(index_dir, manifest)
        except IndexCorrupt as exc:
            warn(f"the index in {index_dir} is damaged ({exc}); rebuilding it")
            return None
        _attach(index_dir, encoder, params)
        if derive is not None:
            index.derived = derive(index, index_dir / manifest["data"], None)
        log.info("index %s: %d articles, %d sentences", index_dir / manifest["data"], len(index.articles),
                 index.n_sentences)
        return index


def _check_folder(index_dir: Path) -> None:
    """Refuse an index path inside a file up front, not as an "unreadable" manifest and a failed rebuild."""
    why = not_a_folder(index_dir)
    if why is not None:
        raise IndexUnavailable(f"the index folder {index_dir} cannot be used: {why} (give --index a folder)")


def read_manifest(index_dir: Path) -> dict | None:
    """The manifest, or None when there is none or it is unreadable (then the index is rebuilt)."""
    path = index_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except PermissionError as exc:  # a rebuild could not write there either: say so, not "unreadable"
        raise IndexUnavailable(f"cannot read the index folder {index_dir}: {exc.strerror}") from None
    except (OSError, ValueError, UnicodeDecodeError):
        log.warning("index manifest %s is unreadable; rebuilding the index", path)
        return None
    return manifest if isinstance(manifest, dict) else None


def load_index(index_dir: Path, manifest: dict) -> CorpusIndex:
    """Read every file the manifest names and check them against its counts and dimension."""
    import faiss

    data = index_dir / str(manifest.get("data", ""))
    counts = manifest.get("counts", {})
    reading = "corpus.json"  # the file being read, for the message: FAISS's own names C++ source lines
    try:
        corpus = json.loads((data / reading).read_text(encoding="utf-8"))
        articles = tuple(Article.from_dict(a) for a in corpus["articles"])
        chunks = tuple(Chunk(c[0], c[1], tuple(c[2]), c[3], c[4]) for c in corpus["chunks"])
        reading = "sentences.faiss"
        sentence_faiss = faiss.read_index(str(data / reading))
        reading = "chunks.faiss"
        chunk_faiss = faiss.read_index(str(data / reading))
        tune_faiss(sentence_faiss)
        tune_faiss(chunk_faiss)
        large = counts.get("sentence_vectors", 0) >= HNSW_THRESHOLD
        arrays = {}
        for name in ("sentence_vectors", "sentence_owner", "chunk_vectors", "chunk_owner"):
            reading = f"{name}.npy"
            arrays[name] = (VectorFile(data / reading) if large and "vectors" in name else
                            np.load(data / reading, allow_pickle=False))
    except (OSError, ValueError, KeyError, TypeError, IndexError, RuntimeError) as exc:
        why = "truncated or not a FAISS index" if isinstance(exc, RuntimeError) else \
            getattr(exc, "strerror", None) or f"{type(exc).__name__}: {str(exc)[:120]}"
        raise IndexCorrupt(f"{reading} cannot be read: {why}") from None
    n_sentences = sum(len(a.sentences) for a in articles)
    checks = [
        (n_sentences == counts.get("sentences"), "sentence count"),
        (len(chunks) == counts.get("chunks"), "chunk count"),
        (arrays["sentence_vectors"].shape == (sentence_faiss.ntotal, DIMENSION), "sentence vectors"),
        (arrays["chunk_vectors"].shape == (chunk_faiss.ntotal, DIMENSION), "chunk vectors"),
        (sentence_faiss.d == DIMENSION == chunk_faiss.d == manifest.get("dimension"), "dimension"),
        (len(arrays["sentence_owner"]) == sentence_faiss.ntotal, "sentence owners"),
        (len(arrays["chunk_owner"]) == chunk_faiss.ntotal, "chunk owners"),
        (arrays["sentence_owner"].max(initial=-1) < n_sentences, "sentence ids"),
        (arrays["chunk_owner"].max(initial=-1) < len(chunks), "chunk ids"),
    ]
    for ok, what in checks:
        if not ok:
            raise IndexCorrupt(f"{what} disagrees with the manifest")
    index = CorpusIndex(articles, chunks, arrays["sentence_vectors"], arrays["sentence_owner"],
                        arrays["chunk_vectors"], arrays["chunk_owner"], sentence_faiss, chunk_faiss, manifest)
    if large:  # millions of article and sentence objects live as long as the process: keep the cyclic
        gc.freeze()  # garbage collector from walking them all (a ~1 s pause every so many queries)
    return index


# ---------------------------------------------------------------- building

def make_faiss(vectors: np.ndarray):
    """The FAISS index for ``vectors``, chosen by size (docs/performance.md has the measurements):
    exact ``IndexFlatIP`` below ``HNSW_THRESHOLD`` vectors; above it HNSW over 8-bit scalar-quantised
    vectors, which keeps a million 384-d vectors in ~0.65 GB instead of 1.8 GB (HNSW-Flat) with
    recall@10 >= 0.95 against exact search."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) >= HNSW_THRESHOLD:
        index = faiss.IndexHNSWSQ(vectors.shape[1], faiss.ScalarQuantizer.QT_8bit, HNSW_M,
                                  faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.train(vectors[:: max(1, len(vectors) // 100_000)])
    else:
        index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(vectors)
    tune_faiss(index)
    return index


def tune_faiss(index) -> None:
    """Search-time parameters are not all saved with the index: set them after building or reading."""
    hnsw = getattr(index, "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = HNSW_EF_SEARCH


def build_index(corpus_dir: Path, index_dir: Path, encoder: Encoder, params: BuildParams,
                report: Report | None = None, warn: Callable[[str], None] = log.warning,
                derive: Derive | None = None, reuse: bool = True) -> CorpusIndex:
    """Parse, chunk and embed the corpus, then save it atomically; returns the new index. The caller
    holds ``index_lock.building``; ``reuse``: derived rows may come from the index being replaced."""
    corpus = load_corpus(corpus_dir, warn)
    cache = EmbeddingCache(index_dir, params.model_sha256)
    index = embed_articles(corpus.articles, encoder, params.chunk_tokens, params.chunk_overlap, report, cache)
    index.manifest = save_index(index_dir, index, corpus.content_hash, params,
                                {"encoded": cache.encoded, "reused": cache.reused}, derive, reuse)
    cache.save()
    return index


def embed_articles(articles: tuple[Article, ...], encoder: Encoder, chunk_tokens: int, chunk_overlap: int,
                   report: Report | None = None, cache: EmbeddingCache | None = None) -> CorpusIndex:
    """An in-memory index of ``articles`` (the evaluation runner uses it directly, unsaved); with a
    ``cache``, only texts it does not hold yet are embedded."""
    chunks = chunk_corpus(articles, chunk_tokens, chunk_overlap)
    sentence_texts = [s.text for a in articles for s in a.sentences]
    total = len(sentence_texts) + len(chunks)

    def stage(offset: int):
        return (lambda done, _n: report("embedding", offset + done, total)) if report else None

    embed = encoder.encode_passages if cache is None else functools.partial(cache.encode_passages, encoder)
    sentence_vectors, sentence_owner = embed(sentence_texts, stage(0))
    chunk_vectors, chunk_owner = embed([c.text for c in chunks], stage(len(sentence_texts)))
    return CorpusIndex(
        tuple(articles), tuple(chunks), sentence_vectors, sentence_owner, chunk_vectors, chunk_owner,
        make_faiss(sentence_vectors), make_faiss(chunk_vectors), manifest={},
    )


def _ensure_writable(index_dir: Path) -> None:
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = index_dir / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise IndexUnavailable(f"cannot write the index folder {index_dir}: {exc.strerror or exc}") from None


def save_index(index_dir: Path, index: CorpusIndex, content_hash: str, params: BuildParams,
               embedding: dict | None = None, derive: Derive | None = None, reuse: bool = True) -> dict:
    """Write a complete data folder (derived files included), fsync it, then swap the manifest in with
    one rename. The caller holds ``index_lock.building``; readers are held off only for the swap."""
    import faiss

    name = f"data-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
    staging = index_dir / f".tmp-{name}"
    staging.mkdir()
    try:
        corpus = {"articles": [a.to_dict() for a in index.articles],
                  "chunks": [[c.id, c.article_id, list(c.sentence_ids), c.text, c.n_tokens]
                             for c in index.chunks]}
        (staging / "corpus.json").write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
        for attr in ("sentence_vectors", "sentence_owner", "chunk_vectors", "chunk_owner"):
            np.save(staging / f"{attr}.npy", getattr(index, attr), allow_pickle=False)
        faiss.write_index(index.sentence_faiss, str(staging / "sentences.faiss"))
        faiss.write_index(index.chunk_faiss, str(staging / "chunks.faiss"))
        if derive is not None:  # the index being replaced stays until the switch: its rows are reused
            index.derived = derive(index, staging, _replaced(index_dir, params) if reuse else None, building=True)
        for path in staging.iterdir():
            fsync_path(path)
        manifest = {
            "format": FORMAT_VERSION, "data": name, "corpus_hash": content_hash,
            "params": params.as_dict(), "dimension": DIMENSION,
            "index_type": type(index.sentence_faiss).__name__,
            "counts": {"articles": len(index.articles), "sentences": index.n_sentences,
                       "chunks": len(index.chunks), "sentence_vectors": len(index.sentence_vectors),
                       "chunk_vectors": len(index.chunk_vectors)},
            "articles": [{"id": a.id, "title": a.title, "path": a.path} for a in index.articles],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "embedding": embedding or {},
        }
        with index_lock.swapping(index_dir):
            os.rename(staging, index_dir / name)
            write_atomic(index_dir / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
            _remove_old(index_dir, keep=name)
    except OSError as exc:
        raise IndexUnavailable(f"cannot write the index in {index_dir}: {exc.strerror or exc}") from None
    finally:  # an error or Ctrl-C before the rename leaves nothing behind
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _replaced(index_dir: Path, params: BuildParams) -> Path | None:
    """The data folder of the index a build replaces, when the same model file made it."""
    manifest = read_manifest(index_dir) or {}
    same_model = isinstance(manifest.get("params"), dict) and manifest["params"].get("model_sha256") == params.model_sha256
    return index_dir / str(manifest["data"]) if same_model and manifest.get("data") else None


def _remove_old(index_dir: Path, keep: str) -> None:
    """Delete data folders and leftovers of interrupted builds other than the current one."""
    for path in index_dir.iterdir():
        if path.name == keep:
            continue
        if path.is_dir() and (path.name.startswith("data-") or path.name.startswith(".tmp-data-")):
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(f".{MANIFEST}.") and path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)
