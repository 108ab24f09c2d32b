"""Index persistence: manifest, rebuild when stale, recovery from damage, atomic writes."""

from __future__ import annotations

import json

import pytest

from bot.errors import IndexUnavailable
from bot.store import MANIFEST, open_index, read_manifest
from conftest import write_article


def _open(settings, encoder, warnings=None, **kw):
    return open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens,
                      settings.chunk_overlap, warn=(warnings.append if warnings is not None else print), **kw)


def test_manifest_records_what_the_index_depends_on(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", "The river rose ten metres. Boats were moved.")
    index = _open(settings, encoder)
    manifest = read_manifest(settings.index_dir)
    assert manifest["params"]["model_sha256"] == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert manifest["params"]["chunk_tokens"] == settings.chunk_tokens
    assert manifest["dimension"] == 384 and manifest["counts"]["sentences"] == 2
    assert len(manifest["corpus_hash"]) == 64
    assert index.sentence_faiss.ntotal == 2 and index.sentence_faiss.d == 384


def test_unchanged_corpus_loads_without_rebuilding(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", "The river rose ten metres. Boats were moved.")
    first = _open(settings, encoder)
    second = _open(settings, encoder)
    assert second.manifest["data"] == first.manifest["data"]


def test_corpus_or_parameter_change_rebuilds(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", "The river rose ten metres. Boats were moved.")
    first = _open(settings, encoder)
    write_article(settings.corpus_dir, "b.md", "A second article about bridges. They were closed.")
    second = _open(settings, encoder)
    assert second.manifest["data"] != first.manifest["data"]
    assert [a.id for a in second.articles] == ["a", "b"]
    third = open_index(settings.corpus_dir, settings.index_dir, encoder, 50, 0, warn=print)
    assert third.manifest["params"]["chunk_tokens"] == 50
    # old data folders are cleaned up once the manifest points elsewhere
    assert [p.name for p in settings.index_dir.iterdir() if p.name.startswith("data-")] == [third.manifest["data"]]


@pytest.mark.parametrize("damage", ["truncate_faiss", "garbage_manifest", "missing_data", "wrong_counts",
                                    "garbage_vectors"])
def test_damaged_index_is_detected_and_rebuilt(make_settings, encoder, damage):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", "The river rose ten metres. Boats were moved. Roads shut.")
    index = _open(settings, encoder)
    data = settings.index_dir / index.manifest["data"]
    manifest_path = settings.index_dir / MANIFEST
    if damage == "truncate_faiss":
        blob = (data / "sentences.faiss").read_bytes()
        (data / "sentences.faiss").write_bytes(blob[: len(blob) // 3])
    elif damage == "garbage_manifest":
        manifest_path.write_bytes(b"\x00not json")
    elif damage == "missing_data":
        (data / "corpus.json").unlink()
    elif damage == "wrong_counts":
        manifest = json.loads(manifest_path.read_text())
        manifest["counts"]["sentences"] = 99
        manifest_path.write_text(json.dumps(manifest))
    elif damage == "garbage_vectors":
        (data / "sentence_vectors.npy").write_bytes(b"garbage")
    warnings: list[str] = []
    rebuilt = _open(settings, encoder, warnings)
    assert rebuilt.n_sentences == 3
    assert rebuilt.sentence_faiss.ntotal == 3
    if damage != "garbage_manifest":
        assert any("damaged" in w and "rebuilding" in w for w in warnings)
    # and the repaired index now loads cleanly
    assert _open(settings, encoder).manifest["data"] == rebuilt.manifest["data"]


def test_leftovers_of_an_interrupted_build_do_not_break_loading(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", "The river rose ten metres. Boats were moved.")
    first = _open(settings, encoder)
    # a build killed half-way leaves a staging folder and a temp manifest; the real manifest is intact
    (settings.index_dir / ".tmp-data-x").mkdir()
    (settings.index_dir / ".tmp-data-x" / "corpus.json").write_text("{")
    (settings.index_dir / f".{MANIFEST}.dead.tmp").write_text("{")
    again = _open(settings, encoder)
    assert again.manifest["data"] == first.manifest["data"]


def test_index_path_that_is_a_file_is_a_clear_error(make_settings, encoder, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    settings = make_settings(index_dir=blocker)
    write_article(settings.corpus_dir, "a.md", "Text here.")
    with pytest.raises(IndexUnavailable, match="blocker is a file"):
        _open(settings, encoder)
    assert blocker.read_text() == "not a folder"
