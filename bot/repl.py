"""Terminal chat: a prompt with line editing and history, answers with the short answer highlighted.

Thin: reads lines, dispatches slash commands, prints what the core answered. When standard input is
not a terminal (a pipe, a test) it reads plain lines so the same session can be scripted.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .errors import ArticlebotError
from .settings import Settings

HELP = """Ask anything about the article(s); follow-up questions keep their context.
  /sources   title, source and date of the articles
  /more      next-best evidence for the last question
  /reset     forget the conversation so far
  /help      this help
  /quit      leave (Ctrl-D works too; Ctrl-C clears the line)"""


def _history_file(settings: Settings) -> Path | None:
    """Prompt history lives beside the index (it is per-installation state, never committed)."""
    try:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return settings.index_dir / ".repl-history"
    except OSError:
        return None


def _lines(settings: Settings, interactive: bool):
    """Yield input lines; '' for a cancelled line; stop at end of input."""
    if not interactive:
        for line in sys.stdin:
            yield line.rstrip("\n")
        return
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    path = _history_file(settings)
    session = PromptSession(history=FileHistory(str(path)) if path else InMemoryHistory())
    while True:
        try:
            typed = session.prompt("you> ")
        except KeyboardInterrupt:
            yield ""
            continue
        except EOFError:
            return
        yield from typed.splitlines() or [""]  # a pasted block: one question per line, as from a pipe


def run_repl(settings: Settings) -> int:
    from .terminal import open_with_progress, render_answer, render_sources

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    console = Console(highlight=False)
    pipeline = open_with_progress(settings)
    conversation = pipeline.new_conversation()
    titles = escape(", ".join(a.title for a in pipeline.articles.values()))  # a title is text, not markup
    console.print(f"[bold]articlebot[/] \u2014 ask about: {titles}\nType /help for commands, /quit to leave.")
    for line in _lines(settings, interactive):
        text = line.strip()
        if not text:
            continue
        command = text.lower()
        try:
            if command in ("/quit", "/exit", "/q"):
                break
            elif command in ("/help", "/?"):
                console.print(HELP)
            elif command in ("/sources", "/source"):
                console.print(render_sources(pipeline.articles.values()), end="")
            elif command == "/reset":
                conversation.reset()
                console.print("[dim]Conversation cleared.[/]")
            elif command == "/more":
                console.print(render_answer(pipeline.more(conversation)))
            elif command.startswith("/"):
                console.print(f"[yellow]Unknown command {escape(text.split()[0])}; type /help.[/]")  # "/x[/]" is text
            else:
                console.print(render_answer(pipeline.answer(text, conversation)))
        except ArticlebotError as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
        except KeyboardInterrupt:  # Ctrl-C while answering cancels the answer, not the conversation
            console.print("[dim]Cancelled.[/]")
    if interactive:
        console.print("Bye.")
    return 0
