"""One index folder shared by builds and readers: derived files are published with the index, a reader's
folder is not deleted under it, an interrupted last phase keeps the previous index, and a second
builder waits for the first and loads what it saved instead of building it again."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from bot import index_lock
from bot.pipeline import Pipeline
from bot.store import MANIFEST, load_index, open_index, read_manifest
from bot.syntax import SYNTAX_FILE, model_id
from bot.token_match import TOKENS_FILE
from conftest import write_article

FIRST = "The river rose ten metres in May. Boats were moved to the upper harbour."
SECOND = "The bridge at Orvel closed for repairs. Engineers found cracks in two piers."


def _data_folders(index_dir):
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith(("data-", ".tmp-data-")))


def _derived_names() -> set[str]:
    return {TOKENS_FILE} | ({SYNTAX_FILE} if model_id() is not None else set())


def test_a_build_publishes_its_derived_files_with_it(make_settings, encoder, monkeypatch):
    import bot.pipeline

    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", FIRST)
    seen_at_derive = []

    def watched(*args, derive, **kw):  # what the manifest names while the derived files are being made
        def wrapped(index, folder, previous, **kw):
            seen_at_derive.append((folder.name, (read_manifest(settings.index_dir) or {}).get("data")))
            return derive(index, folder, previous, **kw)
        return open_index(*args, derive=wrapped, **kw)

    monkeypatch.setattr(bot.pipeline, "open_index", watched)
    pipe = Pipeline.open(settings, encoder=encoder)
    data = settings.index_dir / pipe.index.manifest["data"]
    assert _derived_names() <= {p.name for p in data.iterdir()}
    (folder, published), = seen_at_derive
    assert folder.startswith(".tmp-data-") and published is None  # made before the manifest named it
    assert pipe.retriever.tokens is not None and len(pipe.retriever.tokens) == pipe.index.n_sentences


def test_interrupted_last_phase_keeps_the_previous_index(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", FIRST)
    before = Pipeline.open(settings, encoder=encoder)
    write_article(settings.corpus_dir, "b.md", SECOND)

    def interrupted(index, folder, previous, **kw):
        raise KeyboardInterrupt  # Ctrl-C while the token vectors and parses are made

    with pytest.raises(KeyboardInterrupt):
        open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens,
                   settings.chunk_overlap, derive=interrupted)
    manifest = read_manifest(settings.index_dir)
    assert manifest["data"] == before.index.manifest["data"]
    assert _data_folders(settings.index_dir) == [manifest["data"]]  # the staging folder is gone
    assert _derived_names() <= {p.name for p in (settings.index_dir / manifest["data"]).iterdir()}
    after = Pipeline.open(settings, encoder=encoder)
    assert [a.id for a in after.index.articles] == ["a", "b"]


def test_a_reader_keeps_its_folder_until_it_has_read_it(make_settings, encoder, tmp_path):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", FIRST)
    old = Pipeline.open(settings, encoder=encoder).index.manifest["data"]
    other = tmp_path / "other"
    write_article(other, "b.md", SECOND)
    built = {}
    with index_lock.reading(settings.index_dir):  # a reader between reading the manifest and its files
        thread = threading.Thread(target=lambda: built.update(index=open_index(
            other, settings.index_dir, encoder, settings.chunk_tokens, settings.chunk_overlap)))
        thread.start()
        deadline = time.monotonic() + 120
        while not any((p / "chunks.faiss").exists() for p in settings.index_dir.glob(".tmp-data-*")):
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.3)  # the build is at its switch now, or about to be
        assert read_manifest(settings.index_dir)["data"] == old
        assert (settings.index_dir / old).is_dir()
        load_index(settings.index_dir, read_manifest(settings.index_dir))  # still whole
        assert thread.is_alive()  # the switch waits for the reader
    thread.join(120)
    assert read_manifest(settings.index_dir)["data"] == built["index"].manifest["data"] != old
    assert not (settings.index_dir / old).exists()


def test_a_second_builder_waits_and_loads_the_first_ones_index(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", FIRST)
    open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens, settings.chunk_overlap)
    write_article(settings.corpus_dir, "b.md", SECOND)
    results, warnings = {}, []

    def start(name: str) -> None:
        results[name] = open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens,
                                   settings.chunk_overlap, warn=warnings.append)

    with index_lock.building(settings.index_dir, waiting=lambda: None):  # a build is under way
        threads = [threading.Thread(target=start, args=(n,)) for n in ("one", "two")]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(warnings) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    for thread in threads:
        thread.join(120)
    assert all("another articlebot is building the index" in w for w in warnings)
    assert results["one"].manifest["data"] == results["two"].manifest["data"]  # built once, loaded once
    assert _data_folders(settings.index_dir) == [results["one"].manifest["data"]]
    assert (settings.index_dir / MANIFEST).is_file()


def test_a_reader_waits_for_a_switch_under_way(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", FIRST)
    open_index(settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens, settings.chunk_overlap)
    loaded_at = []
    reader = threading.Thread(target=lambda: loaded_at.append((open_index(
        settings.corpus_dir, settings.index_dir, encoder, settings.chunk_tokens, settings.chunk_overlap),
        time.monotonic())))
    with index_lock.swapping(settings.index_dir):  # a build is switching the manifest
        reader.start()
        time.sleep(1.0)  # loading this index takes a few milliseconds
        released_at = time.monotonic()
    reader.join(60)
    (index, at), = loaded_at
    assert at > released_at and len(index.articles) == 1


def _same_as_a_full_pass(pipe, encoder) -> None:
    """The pipeline's token vectors and parses are what computing them all afresh gives."""
    from bot.pipeline import derive

    tokens, syntax = derive(encoder, pipe.index, None)  # everything from scratch, in memory
    assert len(pipe.retriever.tokens) == len(tokens) == pipe.index.n_sentences
    assert (pipe.syntax is None) == (syntax is None)
    for i in range(pipe.index.n_sentences):
        (mine, mine_ids), (fresh, fresh_ids) = pipe.retriever.tokens.sentence(i), tokens.sentence(i)
        assert list(mine_ids) == list(fresh_ids) and mine.shape == fresh.shape and abs(mine - fresh).max() < 0.01
        if syntax is not None:
            a, b = pipe.syntax.sentence(i), syntax.sentence(i)
            assert (a.pos, a.dep, a.chunks) == (b.pos, b.dep, b.chunks)
            assert list(a.starts) == list(b.starts) and list(a.heads) == list(b.heads)


def test_a_rebuild_derives_only_the_new_sentences(make_settings, encoder, monkeypatch):
    import bot.syntax

    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", FIRST)
    Pipeline.open(settings, encoder=encoder)
    write_article(settings.corpus_dir, "b.md", SECOND + " Traffic was sent over the old ferry route.")
    encoded, parsed = [], []
    real_encode, real_parse = encoder.encode_with_tokens, bot.syntax.parse_texts
    monkeypatch.setattr(encoder, "encode_with_tokens", lambda texts, **kw: encoded.extend(texts) or real_encode(texts, **kw))
    monkeypatch.setattr(bot.syntax, "parse_texts", lambda texts: parsed.extend(texts) or real_parse(texts))
    pipe = Pipeline.open(settings, encoder=encoder)
    new = [s.text for s in pipe.articles["b"].sentences]
    assert encoded == new and (parsed == new or model_id() is None)  # a's rows came from the old folder
    monkeypatch.undo()
    _same_as_a_full_pass(pipe, encoder)  # the gathered rows are the rows a full pass gives
    encoded.clear()
    monkeypatch.setattr(encoder, "encode_with_tokens", lambda texts, **kw: encoded.extend(texts) or real_encode(texts, **kw))
    (settings.corpus_dir / "b.md").rename(settings.corpus_dir / "c.md")  # a new corpus of the same sentences
    again = Pipeline.open(settings, encoder=encoder)
    assert encoded == [] and again.index.manifest["data"] != pipe.index.manifest["data"]


def _rewrite(path, **changes) -> None:
    """Rewrite one field of a derived .npz file (a damaged file, as a bad disk or hand edit leaves it)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        fields = {k: data[k] for k in data.files}
    for name, change in changes.items():
        fields[name] = change(fields[name])
    np.savez(path, **fields)


@pytest.mark.parametrize("damage", [
    {"tokens.npz": {"offsets": lambda a: a.__setitem__(1, a[-1] + 50) or a}},  # no longer increasing
    {"tokens.npz": {"vectors": lambda a: a[:, :100]}},  # rows of the wrong width
    {"syntax.npz": {"heads": lambda a: a * 0 + 10**6}},  # heads outside their sentence
    {"syntax.npz": {"chunk_offsets": lambda a: a.__setitem__(1, 10**5) or a}},
    {"syntax.npz": {"pos_names": lambda a: np.arange(len(a))}},
])
def test_damaged_derived_files_are_neither_reused_nor_read(make_settings, encoder, damage):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", FIRST)
    first = Pipeline.open(settings, encoder=encoder)
    folder = settings.index_dir / first.index.manifest["data"]
    for name, fields in damage.items():
        if (folder / name).exists():
            _rewrite(folder / name, **fields)
    _same_as_a_full_pass(Pipeline.open(settings, encoder=encoder), encoder)  # read: computed again
    for name, fields in damage.items():  # damaged again, then a rebuild that would reuse the rows
        if (folder / name).exists():
            _rewrite(folder / name, **fields)
    write_article(settings.corpus_dir, "b.md", SECOND)
    pipe = Pipeline.open(settings, encoder=encoder)
    _same_as_a_full_pass(pipe, encoder)
    assert pipe.answer("Why did the bridge close?").citations


def test_force_makes_the_derived_files_afresh(make_settings, encoder, monkeypatch):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", FIRST)
    Pipeline.open(settings, encoder=encoder)
    encoded = []
    real = encoder.encode_with_tokens
    monkeypatch.setattr(encoder, "encode_with_tokens", lambda texts, **kw: encoded.extend(texts) or real(texts, **kw))
    pipe = Pipeline.open(settings, encoder=encoder, force=True)  # the repair for a damaged index
    assert encoded == [s.text for s in pipe.articles["a"].sentences]


def test_a_reader_who_may_not_write_the_folder_still_holds_off_a_switch(tmp_path, monkeypatch):
    """An index folder built by another user: ``.lock`` opens read-only, and that is enough to lock."""
    import fcntl

    (tmp_path / index_lock.SWAP).write_text("")

    def no_writing(path, mode="r", *args, **kw):  # what EACCES on "a+" leaves that user (root ignores modes)
        if mode != "r":
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, mode, *args, **kw)

    monkeypatch.setattr(index_lock, "open", no_writing, raising=False)
    with index_lock.reading(tmp_path), open(tmp_path / index_lock.SWAP) as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a builder's switch would wait


def test_a_derived_file_that_cannot_be_saved_fails_the_build_not_the_index(make_settings, encoder, monkeypatch):
    import errno

    import bot.row_reuse
    from bot.errors import IndexUnavailable

    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", FIRST)
    before = Pipeline.open(settings, encoder=encoder).index.manifest["data"]
    write_article(settings.corpus_dir, "b.md", SECOND)

    def disk_full(path, arrays):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bot.row_reuse, "save_npz", disk_full)
    with pytest.raises(IndexUnavailable, match="No space left"):
        Pipeline.open(settings, encoder=encoder)
    assert read_manifest(settings.index_dir)["data"] == before  # not published without its token vectors
    assert _data_folders(settings.index_dir) == [before]
