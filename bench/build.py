"""Index build throughput against raw batched encoding, and incremental rebuilds (embedding cache).

Corpus: the six SQuAD sample articles (real Wikipedia text, ~3,900 sentences and chunks). "Raw" is
``SentenceTransformer.encode(texts, batch_size=64)`` of exactly the texts the build embeds (sentences
and chunks, windowed, deduplicated), timed in the same process with the model already loaded.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, folder_mb, squad_articles


def _write(folder: Path, title: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() else "-" for c in title.lower())
    (folder / f"{name}.md").write_text(f"---\ntitle: {title}\n---\n{text}\n", encoding="utf-8")


def first_open_parse(settings, encoder) -> tuple[float, int]:
    """Seconds to parse every sentence when a pipeline first opens the built index (spaCy's load
    included), and how many sentences."""
    from bot.store import open_index
    from bot.syntax import sentence_syntax

    index = open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens,
                       settings.chunk_overlap, warn=lambda m: None)
    start = time.perf_counter()
    matrix = sentence_syntax(index, settings.index_dir / index.manifest["data"])
    return time.perf_counter() - start, len(matrix) if matrix is not None else 0


def build() -> dict:
    from bot.chunking import chunk_corpus
    from bot.corpus import load_corpus
    from bot.embedding import model_sha256, shared_encoder
    from bot.settings import Settings
    from bot.store import HASH_CACHE, ONNX_FOLDER, open_index

    base = Path(tempfile.mkdtemp(prefix="articlebot-build-"))
    for title, text, _ in squad_articles():
        _write(base / "corpus", title, text)
    settings = Settings(corpus_dir=base / "corpus", index_dir=base / "index")
    encoder = shared_encoder()
    encoder.model  # noqa: B018 - load outside every timing
    sha = model_sha256(encoder.path, settings.index_dir / HASH_CACHE)  # once per process, not per build
    start = time.perf_counter()
    encoder.attach_onnx(settings.index_dir / ONNX_FOLDER, sha)  # once per index folder, timed apart
    export_s = time.perf_counter() - start

    articles = load_corpus(settings.corpus_dir).articles
    chunks = chunk_corpus(articles, settings.chunk_tokens, settings.chunk_overlap)
    texts = [s.text for a in articles for s in a.sentences] + [c.text for c in chunks]
    pieces = list(dict.fromkeys(p for windows in encoder.windows_many(texts) for p in windows))

    def raw() -> float:
        start = time.perf_counter()
        encoder.model.encode(pieces, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                             show_progress_bar=False)
        return time.perf_counter() - start

    def timed_open(**kw) -> tuple[float, dict]:
        start = time.perf_counter()
        index = open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens,
                           settings.chunk_overlap, warn=lambda m: None, **kw)
        return time.perf_counter() - start, index.manifest

    raw_before = raw()
    full_s, manifest = timed_open()
    raw_after = raw()
    parse_s, parsed = first_open_parse(settings, encoder)
    raw_s = (raw_before + raw_after) / 2
    shutil.copy(ROOT / "corpus" / "northeast-china-digital-transformation.md", settings.corpus_dir)
    added_s, added_manifest = timed_open()  # a seventh article: only its texts are new
    same_s, same = timed_open(force=True)
    result = {
        "corpus": {"articles": manifest["counts"]["articles"], "sentences": manifest["counts"]["sentences"],
                   "chunks": manifest["counts"]["chunks"], "texts_embedded": len(pieces)},
        "raw_encode_s": round(raw_s, 2), "raw_encode_runs_s": [round(raw_before, 2), round(raw_after, 2)],
        "raw_texts_per_s": round(len(pieces) / raw_s, 1),
        "build_s": round(full_s, 2), "build_texts_per_s": round(manifest["embedding"]["encoded"] / full_s, 1),
        "throughput_ratio": round(raw_s / full_s, 3), "target_ratio": 0.9,
        "onnx_export_s": round(export_s, 2),
        "add_one_article": {"seconds": round(added_s, 2), **added_manifest["embedding"]},
        "unchanged_forced_rebuild": {"seconds": round(same_s, 2), **same["embedding"]},
        "first_open_parse": {"seconds": round(parse_s, 2), "sentences": parsed,
                             "note": "dependency parses (bot/syntax.py), made when a pipeline first opens the "
                                     "index, as the token vectors are; not part of the build timed above"},
        "index_mb": folder_mb(settings.index_dir),
    }
    shutil.rmtree(base, ignore_errors=True)
    return result

