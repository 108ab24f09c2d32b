"""The articlebot command: in-process for speed (model shared), a few real subprocesses end to end."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from bot.cli import main
from conftest import ROOT, write_article


def _args(settings):
    return ["--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]


def test_ask_prints_answer_for_a_person(bundled_settings, pipeline, capsys):
    assert main(["ask", *_args(bundled_settings), "How much did Liaoning invest?"]) == 0
    out = capsys.readouterr().out
    assert "Answer: 2 billion yuan ($278 million)" in out
    assert "Northeast China driving digital transformation" in out and "sentence 3" in out


def test_ask_json_is_one_object(bundled_settings, pipeline, capsys):
    assert main(["ask", "--json", *_args(bundled_settings), "How much did Liaoning invest?"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["question"] == "How much did Liaoning invest?"
    assert data["abstained"] is False and "2 billion yuan" in data["short_answer"]
    article = pipeline.articles[data["citations"][0]["article_id"]]
    c = data["citations"][0]
    assert article.text[c["start"]:c["end"]] == c["text"]


def test_ask_json_stdin_stream_is_one_conversation(bundled_settings, pipeline, capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("How much did Liaoning invest?\n\n" + "x" * 5000 + "\n"
                                                  "What is the capital of France?\n"))
    code = main(["ask", "--json", *_args(bundled_settings)])
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(lines) == 3
    assert "2 billion" in lines[0]["short_answer"]
    assert "too long" in lines[1]["error"]
    assert lines[2]["abstained"] is True
    assert code == 2  # a bad line is reported, and the exit status says so


def test_ask_json_stdin_knows_more_and_reset(bundled_settings, pipeline, capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("How much did Liaoning invest?\n/more\n/reset\n/more\n/bogus\n"))
    code = main(["ask", "--json", *_args(bundled_settings)])
    first, more, reset, nothing, bogus = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert more["more"] is True and more["question"] == first["question"] and more["citations"]
    assert more["citations"][0]["score"] is None  # the sentence after the answer: context, not ranked
    assert reset == {"reset": True}
    assert "no earlier question" in nothing["error"] and "unknown command /bogus" in bogus["error"]
    assert code == 2


def test_a_reader_that_stops_reading_gets_no_traceback(bundled_settings, pipeline):
    """``articlebot ask --json < questions | head -c 50``: the pipe closes early; that is not an error."""
    process = subprocess.Popen([sys.executable, "-m", "bot", "ask", "--json", *_args(bundled_settings)], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
    process.stdin.write(b"How much did Liaoning invest?\n" * 200)
    process.stdin.close()
    process.stdout.read(50)
    process.stdout.close()  # as head does after its 50 bytes
    err = process.stderr.read().decode()
    assert process.wait(60) == 141 and "Traceback" not in err and "BrokenPipe" not in err, err


@pytest.mark.parametrize("argv, message", [
    (["ask", ""], "empty"),
    (["ask", "q" * 20000], "too long"),
    (["ask"], "give a question"),
    (["ask", "--abstain-threshold", "3", "hi?"], "abstain_threshold"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, make_settings):
    settings = make_settings()
    assert main([argv[0], *_args(settings), *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("articlebot: error:") and message in err and "Traceback" not in err


@pytest.mark.parametrize("key, value", [("ARTICLEBOT_HISTORY_IDLE_SECONDS", "-1"),
                                        ("ARTICLEBOT_HISTORY_IDLE_SECONDS", "nan"),
                                        ("ARTICLEBOT_MAX_QUESTION_CHARS", "0")])
def test_bad_settings_name_their_variable(make_settings, capsys, monkeypatch, key, value):
    monkeypatch.setenv(key, value)
    assert main(["ask", *_args(make_settings()), "hi?"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("articlebot: error:") and key in err and err.count("\n") == 1


def test_a_flag_wins_over_a_bad_environment_value(make_settings, capsys, monkeypatch):
    from bot.settings import Settings

    monkeypatch.setenv("ARTICLEBOT_CHUNK_TOKENS", "abc")
    assert Settings.from_env(chunk_tokens=96).chunk_tokens == 96
    assert main(["sources", *_args(make_settings()), "--chunk-tokens", "96"]) in (0, 2)
    assert "chunk_tokens has an invalid value" not in capsys.readouterr().err


@pytest.mark.parametrize("argv, usage", [(["ask", "--bogus", "q"], "usage: articlebot ask"),
                                         (["index", "--fast"], "usage: articlebot index"),
                                         (["--bogus"], "usage: articlebot [-h]")])
def test_an_unknown_option_shows_its_commands_usage(argv, usage, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith(usage) and f"unrecognized arguments: {argv[-2 if argv[0] == 'ask' else -1]}" in err


def test_no_articles_is_a_clear_error(make_settings, capsys):
    settings = make_settings()
    (settings.corpus_dir / "image.txt").write_bytes(b"\x89PNG\x00\x00")
    assert main(["ask", *_args(settings), "What happened?"]) == 2
    err = capsys.readouterr().err
    assert "no readable articles" in err and "image.txt" in err


def test_sources_lists_metadata(bundled_settings, capsys):
    assert main(["sources", *_args(bundled_settings)]) == 0
    out = capsys.readouterr().out
    assert "Northeast China driving digital transformation" in out and "Chinadaily.com.cn" in out


def test_help_is_instant_and_imports_no_torch():
    code = ("import sys, bot.cli\n"
            "try:\n    bot.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('HEAVY' if {'torch', 'sentence_transformers', 'faiss'} & set(sys.modules) else 'LIGHT')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "repl" in out.stdout and "ask" in out.stdout
    assert out.stdout.strip().endswith("LIGHT")


def test_repl_over_stdin_end_to_end(bundled_settings, pipeline):
    """A real process: commands and questions piped in, answers out, no traceback."""
    script = "/help\nHow much did Liaoning invest?\n/more\n/sources\n/reset\n/bogus\nWhat is the capital of France?\n/quit\n"
    out = subprocess.run([sys.executable, "-m", "bot", *_args(bundled_settings)], input=script,
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "/sources" in text and "Answer: 2 billion yuan ($278 million)" in text
    assert "More evidence" in text and "Chinadaily.com.cn" in text and "Conversation cleared" in text
    assert "Unknown command /bogus" in text and "doesn't say" in text
    assert "Traceback" not in out.stderr


def test_repl_prints_titles_and_skipped_file_names_as_text(make_settings, encoder, capsys, monkeypatch):
    settings = make_settings()
    write_article(settings.corpus_dir, "a.md", "---\ntitle: Port [bold red]news[/] [link=file:///etc/passwd]x[/link]\n"
                                               "---\nThe port handled 41,200 containers in 2023.\n")
    (settings.corpus_dir / "[link=https:evil.example]BAD.txt").write_bytes(b"\x89PNG\x00")
    monkeypatch.setattr(sys, "stdin", io.StringIO("/quit\n"))
    assert main(["repl", *_args(settings)]) == 0
    out = capsys.readouterr()
    assert "Port [bold red]news[/] [link=file:///etc/passwd]x[/link]" in " ".join(out.out.split())
    assert "skipped [link=https:evil.example]BAD.txt" in " ".join((out.out + out.err).split())


def _read_until(fd, needle: bytes, timeout: float = 90.0) -> bytes:
    buf, deadline = b"", time.time() + timeout
    while needle not in buf and time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
    return buf


def test_repl_in_a_pseudo_terminal(bundled_settings, pipeline):
    """Line editing prompt in a real pty: a question, Ctrl-C cancels a line, Ctrl-D leaves."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the REPL with a terminal on stdin/stdout
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "bot", *_args(bundled_settings)])
    try:
        assert b"you>" in _read_until(fd, b"you>")
        os.write(fd, b"How much did Liaoning invest?\r")
        assert b"2 billion yuan" in _read_until(fd, b"confidence")
        _read_until(fd, b"you>", 10)
        os.write(fd, b"half a line\x03")  # Ctrl-C: the line is dropped, the prompt comes back
        assert b"you>" in _read_until(fd, b"you>", 10)
        # a pasted block (bracketed paste) is one question per line
        os.write(fd, b"\x1b[200~What is Jilin working on?\nWho is FAW Jiefang a subsidiary of?\x1b[201~\r")
        pasted = _read_until(fd, b"China FAW Group", 30)
        assert b"training technical experts" in pasted and b"China FAW Group" in pasted
        _read_until(fd, b"you>", 10)
        # Ctrl-C right after asking (while it answers, or at the next prompt) leaves the REPL running
        os.write(fd, b"Which provinces are driving digital transformation?\r\x03")
        _read_until(fd, b"no such output", 5)  # whatever it printed: the answer, or "Cancelled."
        os.write(fd, b"How much did Liaoning invest?\r")
        assert b"2 billion yuan" in _read_until(fd, b"2 billion yuan", 30)
        _read_until(fd, b"you>", 10)
        os.write(fd, b"\x04")  # Ctrl-D: exit
        assert b"Bye." in _read_until(fd, b"Bye.", 20)
    finally:
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
