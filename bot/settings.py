"""One frozen settings object, built once at the entry point from environment variables and flags.

Everything configurable lives here so that the core never reads ``os.environ`` itself and tests can
point every piece of state at ``tmp_path`` by building their own ``Settings``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# fields whose variable is not simply the upper-cased name: BotFather's token is TELEGRAM_BOT_TOKEN everywhere
ENV_ALIASES = {"telegram_token": "TELEGRAM_BOT_TOKEN"}


def _default_dir(name: str) -> Path:
    """Folders default to the checkout's own ``corpus/`` and ``index/``, wherever the command runs."""
    return PROJECT_ROOT / name


@dataclass(frozen=True)
class Settings:
    """All knobs of articlebot. Build with :meth:`from_env`; change with :func:`dataclasses.replace`."""

    corpus_dir: Path = field(default_factory=lambda: _default_dir("corpus"))
    index_dir: Path = field(default_factory=lambda: _default_dir("index"))
    # chunking: sentence-aligned chunks of at most chunk_tokens cl100k tokens, overlapping by sentences
    chunk_tokens: int = 96
    chunk_overlap: int = 1
    # retrieval / answering
    top_k: int = 3
    abstain_threshold: float = 0.4
    max_question_chars: int = 1000
    # conversations
    history_turns: int = 8
    history_idle_seconds: float = 1800.0
    # telegram
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_base_url: str | None = None
    telegram_allowed_chat_ids: frozenset[int] = frozenset()
    telegram_state_file: Path = field(default_factory=lambda: _default_dir("index") / "telegram-state.pickle")
    telegram_rate_per_minute: int = 20
    # webhook mode when telegram_webhook_url is set (the secret is required there and checked on every call)
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    # questions arriving within this many milliseconds are answered in one batched model call
    telegram_batch_window_ms: float = 10.0
    # "typing…" is shown only for answers still not sent after this long: Telegram recommends the chat
    # action only when a reply takes noticeable time, and each one is an API call under the flood limit
    telegram_typing_delay_ms: float = 1000.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``ARTICLEBOT_*`` and ``TELEGRAM_*`` variables, then apply flag overrides (None = not given)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        names = {f.name: f for f in dataclasses.fields(cls)}
        for name in names:
            key = name.upper() if name.startswith("telegram_") else f"ARTICLEBOT_{name.upper()}"
            key = ENV_ALIASES.get(name, key)
            if key in env and env[key] != "" and overrides.get(name) is None:  # a flag given wins, even over junk
                values[name] = _parse(name, env[key], cls)
        for name, value in overrides.items():
            if name not in names:
                raise ConfigError(f"unknown setting {name!r}")
            if value is not None:
                values[name] = _parse(name, value, cls) if isinstance(value, str) else value
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse values that would make later stages fail in confusing ways."""
        if not 8 <= self.chunk_tokens <= 512:
            raise ConfigError("chunk_tokens must be between 8 and 512")
        if not 0 <= self.chunk_overlap <= 8:
            raise ConfigError("chunk_overlap must be between 0 and 8 sentences")
        if not 0.0 <= self.abstain_threshold <= 1.0:
            raise ConfigError("abstain_threshold must be between 0 and 1")
        for name in ("top_k", "max_question_chars", "history_turns"):
            if getattr(self, name) < 1:
                raise ConfigError(f"ARTICLEBOT_{name.upper()} must be 1 or more")
        if not 0 < self.history_idle_seconds < float("inf"):  # also refuses NaN: a conversation must last a while
            raise ConfigError("ARTICLEBOT_HISTORY_IDLE_SECONDS must be a positive number of seconds")
        if self.telegram_rate_per_minute < 0:
            raise ConfigError("TELEGRAM_RATE_PER_MINUTE cannot be negative (0 means no limit)")
        if self.telegram_batch_window_ms < 0 or self.telegram_typing_delay_ms < 0:
            raise ConfigError("TELEGRAM_BATCH_WINDOW_MS and TELEGRAM_TYPING_DELAY_MS cannot be negative")


def _parse(name: str, raw: str, cls: type[Settings]) -> Any:
    """Convert one environment string to the type its field declares."""
    kind = {f.name: str(f.type) for f in dataclasses.fields(cls)}[name]
    try:
        if "Path" in kind:
            return Path(raw).expanduser()
        if "frozenset" in kind:
            return frozenset(int(part) for part in raw.replace(",", " ").split())
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        return raw
    except ValueError:
        raise ConfigError(f"setting {name} has an invalid value {raw!r}") from None
