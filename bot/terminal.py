"""Terminal rendering shared by the CLI and the REPL: answers and sources as rich text.

Only formatting lives here; what to say was decided by the core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from .answer import Answer
from .corpus import Article


def render_answer(answer: Answer) -> Text:
    """The short answer first and bold, then each cited sentence numbered with where it comes from."""
    out = Text()
    if answer.resolved_question != answer.question:
        out.append(f"(searched for: {answer.resolved_question})\n", style="dim")
    if answer.abstained or not answer.citations:
        out.append(answer.text, style="yellow")
        return out
    if answer.more:
        out.append(f"More evidence for \u201c{answer.question}\u201d:\n", style="bold")
    if answer.short_answer:
        out.append("Answer: ", style="bold")
        out.append(answer.short_answer, style="bold green")
        out.append("\n")
    for number, cite in enumerate(answer.citations, start=1):
        out.append(f"[{number}] ", style="cyan")
        if number == 1 and answer.highlight:
            start, end = answer.highlight
            out.append(cite.text[:start])
            out.append(cite.text[start:end], style="bold green")
            out.append(cite.text[end:])
        else:
            out.append(cite.text)
        label = "caption, " if cite.kind == "caption" else ""
        rank = "the sentence after the answer" if cite.score is None else f"score {cite.score:.2f}"
        out.append(f"\n    \u2014 {cite.article}, {label}sentence {cite.sentence} "
                   f"(chars {cite.start}\u2013{cite.end}, {rank})\n", style="dim")
    if not answer.more:
        out.append(f"confidence {answer.confidence:.2f}", style="dim")
    out.rstrip()
    return out


def render_sources(articles: Iterable[Article]) -> Text:
    out = Text()
    for article in articles:
        out.append(article.title, style="bold")
        details = [d for d in (article.source, article.published, article.byline) if d]
        if details:
            out.append(" \u2014 " + ", ".join(details))
        out.append(f"  [{article.path or article.id}, {len(article.sentences)} sentences]\n", style="dim")
    return out


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def warning_printer(console: Console) -> Callable[[str], None]:
    """How the terminal faces show a warning (a skipped file, a rebuilt index): the message is text,
    never Rich markup, since it holds file names."""
    return lambda message: console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def open_with_progress(settings, console: Console | None = None, force: bool = False):
    """Open the pipeline with a spinner while the model loads and a bar while the index is built,
    so a first run is never silent. Warnings (skipped files, rebuilt index) are printed, not logged."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .pipeline import Pipeline

    console = console or stderr_console()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=console, transient=True)
    task = None

    def report(stage: str, done: int, total: int) -> None:
        nonlocal task
        if task is None:
            progress.start()
            task = progress.add_task(f"Building the index ({stage})", total=total)
        progress.update(task, completed=done, total=total)

    warn = warning_printer(console)

    try:
        with console.status("Loading the model and the index\u2026", spinner="dots"):
            return Pipeline.open(settings, report=report, warn=warn, force=force)
    finally:
        if task is not None:
            progress.stop()
