"""Hostile and broken questions through every face: the core, ``ask``, ``ask --json`` over stdin, the
REPL over stdin and Telegram (loopback Bot API). Each row of docs/reliability.md's question table is one
entry of ``QUESTIONS``: refused with a clear message (exit 2 for a CLI) or answered with citations that
are exact slices of the article; never a traceback, and the bot keeps serving afterwards."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.cli import main
from bot.errors import BadQuestion
from bot.telegram import build_application
from botapi_server import BotAPIServer, run_application
from conftest import ROOT
from test_telegram import bot_settings

INVEST = "How much did Liaoning invest?"
# (row name, question, expectation): "refused" = BadQuestion / exit 2; "invest" = must still find the
# 2 billion yuan answer through the noise; "any" = answered or abstained, but cleanly
QUESTIONS = [
    ("empty", "", "refused"),
    ("whitespace", " \t\u3000\u00a0 ", "refused"),
    ("control only", "\x00\x01\x1b\x7f", "refused"),
    ("20k characters", "Why " * 5000, "refused"),
    ("1 MB", "x" * 1_000_000, "refused"),
    ("control characters", "How much\x00 did Liaoning\u200b invest?\x07", "invest"),
    ("ANSI colour codes", "How much did \x1b[1;31mLiaoning\x1b[0m invest?", "invest"),
    ("undecodable bytes (U+FFFD)", f"{INVEST} \ufffd\ufffd", "invest"),
    ("terminal title sequences", "\x1b]0;PWNED\x07How much did Liaoning invest?\x1b]2;x\x1b\\", "invest"),
    ("right-to-left override", f"\u202e{INVEST}\u202c", "invest"),
    ("Arabic (RTL)", "كم استثمرت مقاطعة لياونينغ؟", "any"),
    ("emoji", f"💰💰 {INVEST} 🚀👩‍👩‍👧", "invest"),
    ("byte order mark", f"\ufeff{INVEST}", "invest"),
    ("HTML injection", "<b>How much</b> did Liaoning invest? </blockquote>&amp; <a href='javascript:x'>", "any"),
    ("Markdown injection", "*How* _much_ `did` [Liaoning](http://evil.example) invest? ```", "any"),
    ("Telegram mention and command syntax", f"@articlebot_test_bot {INVEST} /start@bot", "any"),
    ("Rich console markup", "[/] [bold red]How much did Liaoning invest?[/] [link=file:///etc/passwd]x", "any"),
    ("unknown command with markup", "/x[/] [/]", "any"),
    ("format strings", "%s %d {0} ${x} %(token)s {{7*7}}", "any"),
    ("punctuation only", "?!...", "any"),
    ("one letter", "a", "any"),
    ("at the 1,000 limit", ("What did Liaoning invest " * 40)[:1000], "any"),
    ("200 question marks joined", "What?" * 199, "any"),
]
IDS = [name for name, _, _ in QUESTIONS]


def check_citations(pipeline, answer) -> None:
    for c in answer.citations:
        assert pipeline.articles[c.article_id].text[c.start:c.end] == c.text


@pytest.mark.parametrize("question, expect", [(q, e) for _, q, e in QUESTIONS], ids=IDS)
def test_core_refuses_or_answers_cleanly(pipeline, question, expect):
    if expect == "refused":
        with pytest.raises(BadQuestion) as refused:
            pipeline.answer(question)
        assert "empty" in str(refused.value) or "too long" in str(refused.value)
        return
    answer = pipeline.answer(question)
    check_citations(pipeline, answer)
    assert answer.question and "\x1b" not in answer.question and "\x00" not in answer.question
    assert "PWNED" not in answer.question and "]0;" not in answer.question and "\ufffd" not in answer.question
    if expect == "invest":
        assert answer.short_answer == "2 billion yuan ($278 million)"


@pytest.mark.parametrize("question, expect", [(q, e) for _, q, e in QUESTIONS], ids=IDS)
def test_ask_exits_0_or_2_with_one_clear_line(bundled_settings, pipeline, capsys, question, expect):
    code = main(["ask", "--json", "--corpus", str(bundled_settings.corpus_dir), "--index",
                 str(bundled_settings.index_dir), question])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if expect == "refused":
        assert code == 2 and err.startswith("articlebot: error: ") and err.count("\n") == 1 and not out
    else:
        assert code == 0 and json.loads(out)["question"]


def _run(argv: list[str], stdin: bytes, settings, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real command in a process; strict UTF-8 decoding of stdin like a desktop en_US.UTF-8 locale."""
    import os

    env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot", *argv, "--corpus", str(settings.corpus_dir),
                           "--index", str(settings.index_dir)], input=stdin, capture_output=True,
                          timeout=180, cwd=ROOT, env=env)


def _hostile_lines() -> bytes:
    """Every question of the table on its own line (newlines inside a question cannot survive a line
    protocol), plus bytes that are not UTF-8, then a plain question that must still be answered."""
    lines = [q.replace("\n", " ").encode("utf-8") for _, q, _ in QUESTIONS if q.strip()]
    lines += [b"How much did Liaoning invest\xff\xfe?", b"\xc3\x28 broken \xed\xa0\x80 surrogate", INVEST.encode()]
    return b"\n".join(lines) + b"\n"


def test_ask_json_stdin_survives_every_hostile_line(bundled_settings, pipeline):
    out = _run(["ask", "--json"], _hostile_lines(), bundled_settings)
    assert "Traceback" not in out.stderr.decode(errors="replace")
    rows = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    sent = [line for line in _hostile_lines().split(b"\n") if line.strip()]
    assert len(rows) == len(sent)  # one JSON object per question line, none lost, none doubled
    refused = [r for r in rows if "error" in r]
    assert len(refused) == sum(e == "refused" for _, q, e in QUESTIONS if q.strip())
    assert "2 billion yuan ($278 million)" == rows[-1]["short_answer"]
    assert rows[-3]["short_answer"] == "2 billion yuan ($278 million)"  # the \xff line: the rest of it still counts
    for row in rows:
        for c in row.get("citations", []):
            assert pipeline.articles[c["article_id"]].text[c["start"]:c["end"]] == c["text"]
    assert out.returncode == 2  # bad lines are reported, and the exit status says so


def test_repl_over_stdin_survives_every_hostile_line(bundled_settings, pipeline):
    out = _run([], _hostile_lines() + b"/quit\n", bundled_settings)
    stdout = out.stdout.decode("utf-8")
    assert out.returncode == 0 and "Traceback" not in out.stderr.decode(errors="replace")
    assert stdout.count("Answer: 2 billion yuan ($278 million)") >= 5  # the noisy variants, and the last line
    assert "too long" in stdout and "Unknown command /x[/]" in stdout


def test_telegram_answers_every_hostile_message_and_keeps_serving(pipeline, tmp_path):
    with BotAPIServer() as server:
        settings = bot_settings(pipeline.settings, server, tmp_path)
        with run_application(build_application(settings, pipeline)):
            for number, (name, question, expect) in enumerate(QUESTIONS):
                if not question.strip():  # Telegram trims messages and never delivers an empty one
                    continue
                mark = server.mark()
                server.user_message(100 + number, question)
                # the server refuses invalid HTML or > 4,096 characters with a 400: a 200 is a valid reply
                [reply] = server.wait_for(chat_id=100 + number, after=mark, timeout=30)
                if expect == "refused":
                    assert "too long" in reply.plain or "empty" in reply.plain, name
                if expect == "invest":
                    assert "Answer: 2 billion yuan ($278 million)" in reply.plain, name
            assert not server.calls("sendMessage", ok=False)
            mark = server.mark()
            server.user_message(1, INVEST)
            [last] = server.wait_for(chat_id=1, after=mark, timeout=30)
            assert "2 billion yuan" in last.plain
