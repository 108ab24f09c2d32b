"""The ``articlebot`` command: ask, index, sources, repl (default).

Thin: parses flags into :class:`Settings`, calls the core, formats; articlebot errors become one-line
messages with an exit code (2 for bad input, 1 otherwise), never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import ArticlebotError, BadQuestion
from .settings import Settings

EPILOG = """examples:
  articlebot                                   chat with the bundled article in a terminal
  articlebot ask "How much did Liaoning invest?"
  articlebot ask --json "How much did Liaoning invest?"
  printf 'How much did Liaoning invest?\\nAnd Heilongjiang?\\n' | articlebot ask --json
  articlebot index                             (re)build the search index with a progress bar
  articlebot eval tests/suites/article.jsonl   score a suite of expected answers (exit 1 if it misses)

environment: ARTICLEBOT_CORPUS_DIR, ARTICLEBOT_INDEX_DIR, ARTICLEBOT_ABSTAIN_THRESHOLD,
ARTICLEBOT_CHUNK_TOKENS, ARTICLEBOT_CHUNK_OVERLAP, ARTICLEBOT_MAX_QUESTION_CHARS (flags win)."""

STDOUT_COMMANDS = ("ask", "sources")  # whose output a pipe may close early (``| head``)


def _common_options(top: bool) -> argparse.ArgumentParser:
    """Options accepted before or after the command. After it they default to SUPPRESS, so
    ``articlebot -v ask`` keeps the ``-v`` that a sub-command default would otherwise overwrite."""
    common = argparse.ArgumentParser(add_help=False, argument_default=None if top else argparse.SUPPRESS)
    common.add_argument("--corpus", type=Path, metavar="DIR", help="folder of articles (.md/.txt); default corpus/")
    common.add_argument("--index", type=Path, metavar="DIR", help="folder for the search index; default index/")
    common.add_argument("--abstain-threshold", type=float, metavar="P",
                        help="confidence under which the bot says the article doesn't say (0-1)")
    common.add_argument("--chunk-tokens", type=int, metavar="N", help="chunk size in tiktoken tokens")
    common.add_argument("--chunk-overlap", type=int, metavar="N", help="sentences shared by neighbouring chunks")
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens inside",
                        **({} if top else {"default": argparse.SUPPRESS}))
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(top=False)
    parser = argparse.ArgumentParser(
        prog="articlebot", parents=[_common_options(top=True)], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Answers questions from news articles alone, quoting the sentences it relied on.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    ask = sub.add_parser("ask", parents=[common], help="answer one question (or stdin lines with --json)",
                         description="Answer a question from the articles. With --json and no question, "
                                     "read one question per line from standard input as one conversation "
                                     "(/more and /reset work as in the REPL).")
    ask.add_argument("question", nargs="?", help="the question; omit with --json to read standard input")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object per line")
    index = sub.add_parser("index", parents=[common], help="build or refresh the search index",
                           description="Build the index if the corpus or settings changed (with a progress bar).")
    index.add_argument("--force", action="store_true", help="rebuild even if the index is up to date: the repair for a "
                       "damaged one (token vectors and parses made afresh; embeddings still come from the cache)")
    sub.add_parser("sources", parents=[common], help="list the articles with title, source and date",
                   description="List the articles of the corpus folder (title, source, date, file, sentences); "
                               "files that cannot be read are named in a warning.")
    sub.add_parser("repl", parents=[common], help="interactive chat in the terminal (the default)")
    telegram = sub.add_parser(
        "telegram", parents=[common], help="run the Telegram bot (token from TELEGRAM_BOT_TOKEN)",
        description="Run the bot on Telegram: long polling, or a webhook with --webhook-url. Environment: "
                    "TELEGRAM_BOT_TOKEN (required), TELEGRAM_API_BASE_URL, TELEGRAM_ALLOWED_CHAT_IDS, "
                    "TELEGRAM_STATE_FILE, TELEGRAM_RATE_PER_MINUTE, TELEGRAM_WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET.")
    telegram.add_argument("--webhook-url", metavar="URL", help="serve a webhook Telegram posts to (needs "
                          "TELEGRAM_WEBHOOK_SECRET) instead of long polling")
    telegram.add_argument("--listen", metavar="ADDR", help="webhook listen address (default 127.0.0.1)")
    telegram.add_argument("--port", type=int, metavar="N", help="webhook listen port (default 8443)")
    telegram.add_argument("--healthcheck", action="store_true", help="exit 0 if a running bot's heartbeat is fresh")
    from .eval_cli import add_eval_parser

    add_eval_parser(sub, common)
    parser.commands = sub.choices  # main: an unknown option is reported with its command's usage
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, abstain_threshold=args.abstain_threshold,
                             chunk_tokens=args.chunk_tokens, chunk_overlap=args.chunk_overlap)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # argparse would print the top-level usage, which does not list the command's options
        parser.commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="articlebot: %(levelname)s: %(message)s")
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # which CPU build it tried, line by line
    with contextlib.suppress(AttributeError, ValueError):  # piped bytes that are not UTF-8 become U+FFFD,
        sys.stdin.reconfigure(errors="replace")  # not a UnicodeDecodeError traceback mid-conversation
    try:
        settings = settings_from(args)
        command = args.command or "repl"
        if command in STDOUT_COMMANDS:
            code = cmd_ask(settings, args.question, args.json) if command == "ask" else cmd_sources(settings)
            sys.stdout.flush()  # here, not at exit: a reader gone (``| head``) is a BrokenPipeError below
            return code
        if command == "index":
            return cmd_index(settings, args.force)
        if command == "telegram":
            from .telegram import run_telegram

            return run_telegram(settings, webhook_url=args.webhook_url, listen=args.listen, port=args.port,
                                healthcheck=args.healthcheck)
        if command == "eval":
            from .eval_cli import cmd_eval, options_from

            return cmd_eval(settings, options_from(args))
        from .repl import run_repl

        return run_repl(settings)
    except ArticlebotError as exc:
        print(f"articlebot: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("articlebot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if command not in STDOUT_COMMANDS:  # a socket's, in the bot or the eval runner: not ours to hide
            raise
        # the reader of standard output went away (``| head``): nothing is left to say, and Python
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # would complain at exit flushing
        return 141  # what a shell reports for SIGPIPE


def cmd_ask(settings: Settings, question: str | None, as_json: bool) -> int:
    from .pipeline import clean_question
    from .terminal import open_with_progress, render_answer

    if question is None and not as_json:
        raise BadQuestion("give a question, e.g. articlebot ask \"How much did Liaoning invest?\" "
                          "(or add --json to read one question per line from standard input)")
    if question is not None:
        clean_question(question, settings.max_question_chars)  # refuse bad input before loading the model
    pipeline = open_with_progress(settings)
    if question is not None:
        answer = pipeline.answer(question)
        if as_json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            from rich.console import Console

            Console(highlight=False).print(render_answer(answer))
        return 0
    return _ask_stream(pipeline)


def _ask_stream(pipeline) -> int:
    """One conversation over standard input: a JSON line out per line in, flushed each time. ``/more``
    and ``/reset`` act as in the REPL (``{"reset": true}`` answers the latter)."""
    conversation = pipeline.new_conversation()
    failed = False
    for line in sys.stdin:
        if not line.strip():
            continue
        command = line.strip().lower()
        try:
            if command == "/more":
                payload = pipeline.more(conversation).to_json()
            elif command == "/reset":
                conversation.reset()
                payload = {"reset": True}
            elif command.startswith("/") and " " not in command:
                raise BadQuestion(f"unknown command {line.strip()[:50]}; the commands are /more and /reset")
            else:
                payload = pipeline.answer(line, conversation).to_json()
        except BadQuestion as exc:
            failed = True
            payload = {"question": line.strip()[:200], "error": str(exc)}
        print(json.dumps(payload, ensure_ascii=False), flush=True)
    return 2 if failed else 0


def cmd_index(settings: Settings, force: bool = False) -> int:
    from .terminal import open_with_progress, stderr_console

    pipeline = open_with_progress(settings, force=force)
    counts = pipeline.index.manifest.get("counts", {})
    stderr_console().print(
        f"index ready in {settings.index_dir}: {counts.get('articles')} article(s), "
        f"{counts.get('sentences')} sentences, {counts.get('chunks')} chunks", highlight=False)
    return 0


def cmd_sources(settings: Settings) -> int:
    from rich.console import Console

    from .corpus import load_corpus
    from .terminal import render_sources

    corpus = load_corpus(settings.corpus_dir, lambda warning: print(f"articlebot: warning: {warning}", file=sys.stderr))
    Console(highlight=False).print(render_sources(corpus.articles), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
