"""Index build throughput against raw batched encoding, and incremental rebuilds (embedding cache).

Corpus: the six SQuAD sample articles (real Wikipedia text, ~3,900 sentences and chunks). "Raw" is
``SentenceTransformer.encode(texts, batch_size=64)`` of exactly the texts the build embeds (sentences
and chunks, windowed, deduplicated), timed in the same process with the model already loaded.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, folder_mb, squad_articles


def _write(folder: Path, title: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() else "-" for c in title.lower())
    (folder / f"{name}.md").write_text(f"---\ntitle: {title}\n---\n{text}\n", encoding="utf-8")


def derived_first(settings, encoder) -> tuple[float, int]:
    """Seconds to derive every sentence's token vectors and parses (spaCy's load included) for the
    index just built, as a build does before publishing it, and how many sentences."""
    from bot.pipeline import derive
    from bot.store import open_index

    index = open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens,
                       settings.chunk_overlap, warn=lambda m: None)
    start = time.perf_counter()
    derive(encoder, index, settings.index_dir / index.manifest["data"])
    return time.perf_counter() - start, index.n_sentences


def build() -> dict:
    from bot.chunking import chunk_corpus
    from bot.corpus import load_corpus
    from bot.embedding import model_sha256, shared_encoder
    from bot.pipeline import derive
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

    derived: list[str] = []  # the sentences whose token vectors a rebuild computes (not reuses)
    real = encoder.encode_with_tokens
    encoder.encode_with_tokens = lambda texts, **kw: derived.extend(texts) or real(texts, **kw)

    def timed_open(**kw) -> tuple[float, dict]:
        derived.clear()
        start = time.perf_counter()
        index = open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens,
                           settings.chunk_overlap, warn=lambda m: None, **kw)
        return time.perf_counter() - start, {**index.manifest, "derived": len(derived)}

    raw_before = raw()
    full_s, manifest = timed_open()
    raw_after = raw()
    derive_s, n_derived = derived_first(settings, encoder)
    raw_s = (raw_before + raw_after) / 2
    shutil.copy(ROOT / "corpus" / "northeast-china-digital-transformation.md", settings.corpus_dir)
    whole = functools.partial(derive, encoder)  # what `articlebot index` runs: derived files included
    added_s, added_manifest = timed_open(derive=whole)  # a seventh article: only its texts are new
    same_s, same = timed_open(force=True, derive=whole)
    encoder.encode_with_tokens = real
    result = {
        "corpus": {"articles": manifest["counts"]["articles"], "sentences": manifest["counts"]["sentences"],
                   "chunks": manifest["counts"]["chunks"], "texts_embedded": len(pieces)},
        "raw_encode_s": round(raw_s, 2), "raw_encode_runs_s": [round(raw_before, 2), round(raw_after, 2)],
        "raw_texts_per_s": round(len(pieces) / raw_s, 1),
        "build_s": round(full_s, 2), "build_texts_per_s": round(manifest["embedding"]["encoded"] / full_s, 1),
        "throughput_ratio": round(raw_s / full_s, 3), "target_ratio": 0.9,
        "onnx_export_s": round(export_s, 2),
        "add_one_article": {"seconds": round(added_s, 2), **added_manifest["embedding"],
                            "derived_sentences": added_manifest["derived"],
                            "new_sentences": added_manifest["counts"]["sentences"] - manifest["counts"]["sentences"]},
        "unchanged_forced_rebuild": {"seconds": round(same_s, 2), **same["embedding"],
                                     "derived_sentences": same["derived"]},
        "derived_at_first_build": {"seconds": round(derive_s, 2), "sentences": n_derived,
                                   "note": "token vectors and dependency parses of every sentence (bot/pipeline.py "
                                           "derive), which a build makes after embedding and before publishing; "
                                           "not part of the embedding throughput above"},
        "index_mb": folder_mb(settings.index_dir),
    }
    shutil.rmtree(base, ignore_errors=True)
    return result

