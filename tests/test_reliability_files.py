"""Broken article files, damaged index files and unwritable folders through the ``articlebot`` command:
a warning naming the file or a one-line error with a non-zero exit, never a traceback, and an index
that answered before still answers (or is rebuilt) afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.pipeline import Pipeline
from bot.store import MANIFEST
from bot.telegram_format import answer_messages
from botapi_html import html_to_text
from conftest import ROOT, write_article

GOOD = ("---\ntitle: Harbour report\n---\nThe harbour at Port Vell handled 41,200 containers in 2023. "
        "Mayor Anna Pujol opened a new quay in March. The quay cost 80 million euros.\n")
# one run-on paragraph with no sentence punctuation at all, longer than a chunk and the model's window
RUN_ON = " ".join(f"the ferry line number {k} between Alder and Brill carried {k * 1300} passengers in its "
                  f"year {1990 + k} while the captain named Ilse Varga{k} kept the logbook" for k in range(60))
ENGLISH_Q = "How many containers did the harbour handle?"


def args(settings) -> list[str]:
    return ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]


def test_bad_article_files_are_skipped_by_name_and_good_ones_answer(make_settings, encoder, capsys):
    settings = make_settings()
    folder = settings.corpus_dir
    write_article(folder, "good.md", GOOD)
    write_article(folder, "run-on.txt", RUN_ON)
    (folder / "empty.md").write_bytes(b"")
    (folder / "blank.md").write_bytes(b"\n \n\t\n")
    (folder / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "latin1.txt").write_bytes("Le caf\xe9 de la gare a ferm\xe9.".encode("latin-1"))
    with open(folder / "huge.md", "wb") as handle:  # sparse: 50 MB + 1 byte without writing them
        handle.truncate(50 * 1024 * 1024 + 1)
    assert main(["index", *args(settings)]) == 0
    built = capsys.readouterr().err
    assert main(["sources", *args(settings)]) == 0
    out, err = capsys.readouterr()
    for name in ("empty.md", "blank.md", "image.md", "latin1.txt", "huge.md"):
        assert built.count(f"skipped {name}") == 1 and err.count(f"skipped {name}") == 1, name  # once each
    alone = subprocess.run([sys.executable, "-m", "bot", "sources", *args(settings)], capture_output=True, text=True,
                           timeout=60, cwd=ROOT)  # logging configured as the command sets it up, not by pytest
    assert alone.returncode == 0 and alone.stderr.count("skipped image.md") == 1, alone.stderr
    assert "Traceback" not in err and "Harbour report" in out
    pipeline = Pipeline.open(settings, encoder=encoder)
    assert sorted(pipeline.articles) == ["good", "run-on"]
    for question in (ENGLISH_Q, "How many passengers did ferry line number 7 carry?",
                     "Who kept the logbook in 2001?"):
        answer = pipeline.answer(question)
        for c in answer.citations:
            assert pipeline.articles[c.article_id].text[c.start:c.end] == c.text
        messages = answer_messages(answer)
        assert all(len(html_to_text(m)) <= 4096 for m in messages)  # html_to_text also validates the HTML
    assert "41,200" in pipeline.answer(ENGLISH_Q).text


def test_a_corpus_of_only_bad_files_is_exit_2(make_settings, capsys):
    settings = make_settings()
    (settings.corpus_dir / "empty.md").write_bytes(b"")
    (settings.corpus_dir / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    assert main(["ask", *args(settings), ENGLISH_Q]) == 2
    err = capsys.readouterr().err
    assert err.startswith("articlebot: error: no readable articles") and "latin1.txt" in err


@pytest.mark.parametrize("where", ["index is a file", "index inside a file", "corpus is a file"])
def test_a_path_that_is_a_file_where_a_folder_belongs_is_one_line(make_settings, capsys, where):
    settings = make_settings()
    write_article(settings.corpus_dir, "good.md", GOOD)
    a_file = settings.corpus_dir.parent / "notes.txt"
    a_file.write_text("keep me\n")
    paths = {"index is a file": ["--corpus", str(settings.corpus_dir), "--index", str(a_file)],
             "index inside a file": ["--corpus", str(settings.corpus_dir), "--index", str(a_file / "index")],
             "corpus is a file": ["--corpus", str(a_file), "--index", str(settings.index_dir)]}[where]
    code = main(["ask", *paths, ENGLISH_Q])
    err = capsys.readouterr().err
    assert code == (2 if where.startswith("corpus") else 1)
    assert err.count("\n") == 1 and err.startswith("articlebot: error: ") and "Traceback" not in err
    assert f"{a_file} is a file" in err
    assert a_file.read_text() == "keep me\n" and not list(a_file.parent.glob(".*.tmp"))


def _damage(index_dir: Path, how: str) -> None:
    import faiss

    manifest = json.loads((index_dir / MANIFEST).read_text())
    data = index_dir / manifest["data"]
    if how == "truncated faiss":
        blob = (data / "sentences.faiss").read_bytes()
        (data / "sentences.faiss").write_bytes(blob[: len(blob) // 2])
    elif how == "wrong dimension":
        wrong = faiss.IndexFlatIP(128)
        wrong.add(np.ones((manifest["counts"]["sentence_vectors"], 128), dtype=np.float32))
        faiss.write_index(wrong, str(data / "sentences.faiss"))
    elif how == "manifest counts mismatch":
        manifest["counts"]["chunks"] += 5
        (index_dir / MANIFEST).write_text(json.dumps(manifest))
    elif how == "manifest names a missing folder":
        manifest["data"] = "data-does-not-exist"
        (index_dir / MANIFEST).write_text(json.dumps(manifest))
    elif how == "truncated manifest":
        text = (index_dir / MANIFEST).read_text()
        (index_dir / MANIFEST).write_text(text[: len(text) // 2])
    elif how == "truncated corpus.json":
        text = (data / "corpus.json").read_text()
        (data / "corpus.json").write_text(text[: len(text) // 2])
    elif how == "garbage token vectors":
        for path in data.glob("*token*"):
            path.write_bytes(path.read_bytes()[:100])
    elif how == "garbage embedding cache":
        for path in index_dir.glob("embeddings-*.npz"):
            path.write_bytes(b"PK\x03\x04 not really a zip")
    elif how == "truncated ONNX export":
        for path in (index_dir / "onnx").glob("*"):
            if path.is_file():
                path.write_bytes(path.read_bytes()[:1000])


@pytest.mark.parametrize("how", ["truncated faiss", "wrong dimension", "manifest counts mismatch",
                                 "manifest names a missing folder", "truncated manifest", "truncated corpus.json",
                                 "garbage token vectors", "garbage embedding cache", "truncated ONNX export"])
def test_damaged_index_files_are_rebuilt_and_answer(make_settings, encoder, capsys, how):
    settings = make_settings()
    write_article(settings.corpus_dir, "good.md", GOOD)
    Pipeline.open(settings, encoder=encoder)  # a good index (and its token vectors) first
    _damage(settings.index_dir, how)
    assert main(["ask", "--json", *args(settings), ENGLISH_Q]) == 0
    out, err = capsys.readouterr()
    assert "41,200" in json.loads(out)["answer"] and "Traceback" not in err
    if how == "truncated faiss":  # the file by name, not FAISS's C++ source line
        assert "sentences.faiss cannot be read: truncated or not a FAISS index" in " ".join(err.split())
    assert main(["ask", "--json", *args(settings), ENGLISH_Q]) == 0  # and it stays good
    assert "41,200" in json.loads(capsys.readouterr().out)["answer"]


# ---------------------------------------------------------------- unwritable folders (a real other user)
def _unprivileged() -> list[str]:
    """Run as nobody when we are root (root ignores file modes); as ourselves otherwise."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a folder unwritable")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def shared_tmp():
    """A folder another user can read (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="articlebot-ro-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _read_only(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)


def _run_as_other_user(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*_unprivileged(), sys.executable, "-m", "bot", *argv], capture_output=True, text=True,
                          timeout=180, cwd=ROOT, env={**os.environ, "HOME": "/tmp", **(env or {})})


def test_read_only_index_answers_and_a_stale_one_is_a_clear_error(shared_tmp, encoder):
    from bot.settings import Settings

    settings = Settings(corpus_dir=shared_tmp / "corpus", index_dir=shared_tmp / "index")
    write_article(settings.corpus_dir, "good.md", GOOD)
    Pipeline.open(settings, encoder=encoder)
    _read_only(shared_tmp)
    ok = _run_as_other_user(["ask", "--json", *args(settings), ENGLISH_Q])
    assert ok.returncode == 0, ok.stderr
    assert "41,200" in json.loads(ok.stdout)["answer"]
    (shared_tmp / "corpus").chmod(0o755)
    write_article(settings.corpus_dir, "more.md", "A second article. It changes the corpus.")
    (shared_tmp / "corpus").chmod(0o555)
    stale = _run_as_other_user(["ask", *args(settings), ENGLISH_Q])
    assert stale.returncode == 1 and "Traceback" not in stale.stderr
    assert "articlebot: error: cannot write the index folder" in stale.stderr
    assert json.loads((settings.index_dir / MANIFEST).read_text())["counts"]["articles"] == 1  # old index intact


def test_unwritable_telegram_state_folder_is_a_clear_error(shared_tmp, encoder):
    from bot.settings import Settings
    from botapi_server import BotAPIServer

    settings = Settings(corpus_dir=shared_tmp / "corpus", index_dir=shared_tmp / "index")
    write_article(settings.corpus_dir, "good.md", GOOD)
    Pipeline.open(settings, encoder=encoder)
    _read_only(shared_tmp)
    with BotAPIServer() as server:
        out = _run_as_other_user(["telegram", *args(settings)], env={
            "TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_API_BASE_URL": server.url,
            "TELEGRAM_STATE_FILE": str(shared_tmp / "state" / "telegram.pickle")})
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "cannot write the Telegram state file" in out.stderr and server.token not in out.stderr + out.stdout


def test_paths_under_a_folder_nobody_may_search_are_one_line_errors(shared_tmp, encoder):
    """Checking whether an index or state path is a file must not itself fail with EACCES."""
    from bot.settings import Settings
    from botapi_server import BotAPIServer

    settings = Settings(corpus_dir=shared_tmp / "corpus", index_dir=shared_tmp / "locked" / "sub" / "index")
    write_article(settings.corpus_dir, "good.md", GOOD)
    (shared_tmp / "locked").mkdir(mode=0o700)  # root's, not searchable by the other user
    out = _run_as_other_user(["ask", *args(settings), ENGLISH_Q])
    assert out.returncode == 1 and "Traceback" not in out.stderr and out.stderr.startswith("articlebot: error:")
    with BotAPIServer() as server:
        out = _run_as_other_user(["telegram", *args(settings)], env={
            "TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_API_BASE_URL": server.url,
            "TELEGRAM_STATE_FILE": str(shared_tmp / "locked" / "state" / "telegram.pickle")})
    assert out.returncode in (1, 2) and "Traceback" not in out.stderr, out.stderr


def test_a_refusal_quotes_a_run_on_sentence_only_in_part(make_settings, encoder):
    settings = make_settings()
    write_article(settings.corpus_dir, "run-on.txt", RUN_ON)  # one "sentence" of ~6,000 characters
    answer = Pipeline.open(settings, encoder=encoder).answer("What is the population of Tokyo?")
    assert answer.abstained and "The closest it comes is" in answer.text
    quoted = answer.text.split("\u201c", 1)[1].split("\u201d", 1)[0]
    assert quoted.endswith("\u2026") and len(quoted) <= 301 and RUN_ON.startswith(quoted[:-1])
