"""articlebot's own exceptions.

The core raises these; every adapter (CLI, REPL, Telegram, eval) turns them into a clear message.
``exit_code`` lets the CLI map an error to a process status without a lookup table of its own.
"""

from __future__ import annotations


class ArticlebotError(Exception):
    """Base class: anything the user can fix or should be told about, never a bug."""

    exit_code = 1


class BadQuestion(ArticlebotError):
    """The question is empty, too long or not text."""

    exit_code = 2


class CorpusError(ArticlebotError):
    """The corpus folder is missing, empty or holds no readable article."""

    exit_code = 2


class ArticleUnreadable(CorpusError):
    """One article file cannot be used (binary, not UTF-8, no text). Loading skips it with a warning."""


class IndexUnavailable(ArticlebotError):
    """The index folder cannot be written or read."""

    exit_code = 1


class IndexCorrupt(IndexUnavailable):
    """Index files exist but are damaged or disagree with the manifest; the store rebuilds them."""


class ModelError(ArticlebotError):
    """The bundled embedding model is missing or cannot be loaded."""

    exit_code = 1


class ConfigError(ArticlebotError):
    """A setting (environment variable or flag) has an invalid value."""

    exit_code = 2
