"""Configuration and process concerns of the Telegram bot, checked before anything heavy loads.

The token, the Bot API address, webhook options, the state file, the heartbeat the Docker HEALTHCHECK
reads, and keeping the token out of logs. No ``telegram`` import here: ``--healthcheck`` and the
configuration errors stay fast.
"""

from __future__ import annotations

import logging
import pickle
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import ArticlebotError, ConfigError
from .files import is_folder, not_a_folder
from .settings import Settings

log = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]  # a corrected question is answered again
HEARTBEAT_SECONDS = 30.0


def check_token(token: str | None) -> str:
    """The token, or a ConfigError that never repeats it (a malformed token may still be a secret)."""
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token")
    if not TOKEN_PATTERN.fullmatch(token.strip()):
        raise ConfigError("TELEGRAM_BOT_TOKEN is malformed: expected <digits>:<35 letters, digits, - or _> "
                          "as given by @BotFather")
    return token.strip()


def api_urls(base: str) -> tuple[str, str]:
    """PTB ``base_url`` and ``base_file_url`` for ``TELEGRAM_API_BASE_URL``: a bare server address
    (``http://127.0.0.1:8081``), one ending in ``/bot``, or one with a ``{token}`` placeholder
    (``https://api.telegram.org/bot{token}/test`` for Telegram's test environment)."""
    base = base.strip().rstrip("/")
    if not urlparse(base).scheme.startswith("http") or not urlparse(base).netloc:
        raise ConfigError("TELEGRAM_API_BASE_URL must be an http(s) URL, e.g. http://127.0.0.1:8081")
    if "{token}" in base:
        head, tail = base.split("{token}", 1)
        if not head.endswith("/bot"):
            raise ConfigError("TELEGRAM_API_BASE_URL: {token} must follow /bot, e.g. https://host/bot{token}/test")
        return base, f"{head[:-4]}/file/bot{{token}}{tail}"
    if not base.endswith("/bot"):
        base += "/bot"
    return base, f"{base[:-4]}/file/bot"


def webhook_options(settings: Settings) -> dict[str, Any] | None:
    """Arguments for ``run_webhook``/``start_webhook``, or None for long polling. Webhook mode needs a
    secret: Telegram sends it in a header and PTB refuses posts without it, so nobody else can inject
    updates."""
    url = settings.telegram_webhook_url
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError("the webhook URL must be an http(s) URL Telegram can reach, e.g. https://bot.example.org/tg")
    secret = settings.telegram_webhook_secret
    if not secret:
        raise ConfigError("webhook mode needs TELEGRAM_WEBHOOK_SECRET (1-256 characters: A-Z a-z 0-9 _ -) so that "
                          "only Telegram can post updates")
    if not SECRET_PATTERN.fullmatch(secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters from A-Z a-z 0-9 _ -")
    return {"listen": settings.telegram_webhook_listen, "port": settings.telegram_webhook_port,
            "url_path": parsed.path.lstrip("/"), "webhook_url": url, "secret_token": secret,
            "allowed_updates": ALLOWED_UPDATES}


def heartbeat_file(settings: Settings) -> Path:
    return settings.telegram_state_file.with_name(settings.telegram_state_file.name + ".alive")


def processed_file(settings: Settings) -> Path:
    """Answered update ids (bot/telegram_dedup.py), next to the conversations."""
    return settings.telegram_state_file.with_name(settings.telegram_state_file.name + ".updates")


def prepare_state_file(path: Path) -> None:
    """Make sure the persistence file can be written and read: an unreadable one (damaged, or written
    by an incompatible version) is moved aside with a warning instead of stopping the bot."""
    # never move a folder aside (it may hold anything) nor report "File exists" for a parent that is a file
    what = f"{path} is a folder" if is_folder(path) else not_a_folder(path.parent)
    if what is not None:
        raise ConfigError(f"cannot use the Telegram state file {path}: {what}; "
                          "set TELEGRAM_STATE_FILE to a file path in a writable folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(path.name + ".probe")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ArticlebotError(f"cannot write the Telegram state file {path} ({exc.strerror}); "
                              "set TELEGRAM_STATE_FILE to a writable place") from None
    if not path.exists():
        return
    try:
        with path.open("rb") as handle:
            _StateLoader(handle).load()
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        path.replace(aside)
        log.warning("the Telegram state file %s could not be read (%s); moved it to %s and started afresh",
                    path, type(exc).__name__, aside)


class _StateLoader(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> None:  # PTB stores the Bot as a persistent id; we need no bot
        return None


class RedactToken(logging.Filter):
    """Belt and braces: whatever logs a URL or an error, the token never reaches the log."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), ()
        if record.exc_info and not record.exc_text:  # tracebacks are formatted later, from exc_text if set
            text = logging.Formatter().formatException(record.exc_info)
            if self.token in text:
                record.exc_text = text.replace(self.token, "<token>")
        return True


def check_health(settings: Settings) -> int:
    """Docker HEALTHCHECK: healthy while the running bot's heartbeat file is fresh."""
    path = heartbeat_file(settings)
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        print(f"articlebot: unhealthy: no heartbeat at {path}", file=sys.stderr)
        return 1
    if age > 3 * HEARTBEAT_SECONDS:
        print(f"articlebot: unhealthy: last heartbeat {age:.0f} s ago", file=sys.stderr)
        return 1
    return 0
