"""``articlebot eval``: load a suite, open the corpus (or build SQuAD corpora in memory), run it with
a progress bar, print the tables, write the requested files and return the CI exit status.

Exit status: 0 every threshold met, 1 a threshold missed or a question raised an error, 2 the suite
(or a threshold, or the compared report) is invalid. Without thresholds every turn must pass.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from .settings import Settings


@dataclass(frozen=True)
class EvalOptions:
    """The ``eval`` flags, parsed by bot/cli.py."""

    suite: Path
    corpus_given: bool = False
    pool: bool = False
    minimum: tuple[str, ...] = ()
    maximum: tuple[str, ...] = ()
    report: Path | None = None
    predictions: Path | None = None
    junit: Path | None = None
    compare: Path | None = None
    squad_predictions: Path | None = None
    batch: int = 1
    limit: int | None = None
    tags: tuple[str, ...] = ()
    show_failures: int = 10
    quiet: bool = False


EVAL_EPILOG = """examples:
  articlebot eval tests/suites/article.jsonl
  articlebot eval cases.yaml --min hit@1=0.8 --min abstain_f1=0.9 --junit eval.xml --report eval.json
  articlebot eval ../shared/squad-sample/squad-dev-v1.1-sample.json --pool --export-squad-predictions p.json
  articlebot eval tests/suites/article.jsonl --compare old.json

metrics for --min/--max: pass_rate case_pass_rate has_ans_pass_rate no_ans_pass_rate hit@1 hit@3 mrr@10
answer_sentence@1 answer_sentence@3 citation_precision citation_recall em f1 has_ans_em has_ans_f1 no_ans_em abstain_precision abstain_recall
abstain_f1 latency_p50_ms latency_p95_ms latency_mean_ms errors (definitions: docs/evaluation.md)
exit status: 0 all thresholds met, 1 one missed (or a question raised an error), 2 invalid suite."""


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a batch of 0 or a limit of -3 is a typo, not a request)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def add_eval_parser(sub, common) -> None:
    """The ``eval`` subcommand's flags (kept here so bot/cli.py stays a thin dispatcher)."""
    import argparse

    ev = sub.add_parser("eval", parents=[common], help="score a suite of expected answers (JSONL, YAML, SQuAD)",
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EVAL_EPILOG,
                        description="Ask every question of a suite, score the answers, gate on thresholds.")
    ev.add_argument("suite", type=Path, help="cases (.jsonl or .yaml) or a SQuAD v1.1/v2.0 .json file")
    ev.add_argument("--pool", action="store_true", help="SQuAD: all articles form one corpus (default: one each)")
    ev.add_argument("--min", action="append", default=[], metavar="METRIC=VALUE",
                    help="fail (exit 1) when METRIC is below VALUE; repeatable; overrides the suite header")
    ev.add_argument("--max", action="append", default=[], metavar="METRIC=VALUE",
                    help="fail when METRIC is above VALUE (e.g. latency_p95_ms=500)")
    ev.add_argument("--report", type=Path, metavar="FILE.json", help="write the full report (every turn)")
    ev.add_argument("--predictions", type=Path, metavar="FILE.jsonl", help="write one line per answered question")
    ev.add_argument("--junit", type=Path, metavar="FILE.xml", help="write JUnit XML for CI")
    ev.add_argument("--compare", type=Path, metavar="OLD.json", help="show what got better or worse since a report")
    ev.add_argument("--export-squad-predictions", type=Path, metavar="FILE.json", dest="squad_predictions",
                    help="write {id: short answer or \"\"} for the official SQuAD evaluation script")
    ev.add_argument("--batch", type=_positive, default=1, metavar="N",
                    help="answer single-turn questions N at a time (faster; latency is then per-batch average)")
    ev.add_argument("--limit", type=_positive, metavar="N", help="run only the first N cases")
    ev.add_argument("--tag", action="append", default=[], metavar="TAG", help="run only cases with this tag")
    ev.add_argument("--show-failures", type=int, default=10, metavar="N", help="failing turns to print (default 10)")
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress bar, only the metrics and verdicts")


def options_from(args) -> EvalOptions:
    return EvalOptions(args.suite, args.corpus is not None, args.pool, tuple(args.min), tuple(args.max), args.report,
                       args.predictions, args.junit, args.compare, args.squad_predictions, args.batch,
                       args.limit, tuple(args.tag), max(0, args.show_failures), args.quiet)


def cmd_eval(settings: Settings, options: EvalOptions, console=None, errors_console=None) -> int:
    from rich.console import Console

    from . import eval_console as show
    from .eval_report import (build_report, compare, load_report, squad_predictions, write_json, write_junit,
                              write_predictions)
    from .evaluation import run_suite
    from .gating import check, exit_status, parse_bounds
    from .scoring import summarise
    from .suites import SuiteError, load_suite

    console = console or Console(highlight=False)
    errors_console = errors_console or Console(stderr=True, highlight=False)
    suite = select(load_suite(options.suite, options.pool, settings.max_question_chars), options)
    try:
        minimum = {**suite.minimum, **parse_bounds(list(options.minimum), "--min")}
        maximum = {**suite.maximum, **parse_bounds(list(options.maximum), "--max")}
    except ValueError as exc:
        raise SuiteError(str(exc)) from None
    outputs = {"--report": options.report, "--predictions": options.predictions, "--junit": options.junit,
               "--export-squad-predictions": options.squad_predictions}
    _check_outputs({flag: path for flag, path in outputs.items() if path})
    old = load_report(options.compare) if options.compare else None
    corpora = Corpora(settings, suite, options.corpus_given, errors_console)
    started = time.perf_counter()
    results = _run_with_progress(run_suite, suite, corpora, options.batch, errors_console, options.quiet)
    summary = summarise(results)
    verdicts = check(summary.metrics, minimum, maximum)
    status = exit_status(verdicts, summary.metrics["errors"])
    meta = corpora.meta(options, time.perf_counter() - started)
    report = build_report(suite, results, summary, verdicts, status, meta)
    writers = {"--report": lambda path: write_json(path, report),
               "--predictions": lambda path: write_predictions(path, results),
               "--junit": lambda path: write_junit(path, suite, results, verdicts),
               "--export-squad-predictions": lambda path: write_json(path, squad_predictions(results))}
    for flag, path in outputs.items():
        try:
            if path:
                writers[flag](path)
        except OSError as exc:  # after a long run: say which file failed, still print the results
            errors_console.print(f"articlebot: error: cannot write {flag} {path}: {exc.strerror or exc}")
            status = status or 1
    console.print(show.metrics_table(f"{suite.name}: {len(suite.cases)} cases" + (f" ({suite.kind})" if suite.kind != "cases" else ""), summary))
    if not options.quiet:
        if len(summary.by_tag) > 1:
            console.print(show.groups_table("Pass rate per tag", summary.by_tag, "tag"))
        if len(summary.by_turn) > 1:
            console.print(show.groups_table("Pass rate per turn of a conversation", summary.by_turn, "turn"))
        if options.show_failures:
            console.print(show.failures(results, options.show_failures), end="")
    if old is not None:
        was = (old.get("suite") or {}).get("name")
        if was != report["suite"]["name"]:  # the numbers then compare different questions
            errors_console.print(f"[yellow]warning:[/] {options.compare} is a report of suite {was!r}, "
                                 f"not {report['suite']['name']!r}: the comparison is of different questions")
        console.print(show.comparison(compare(old, report), str(options.compare)))
    console.print(show.thresholds(verdicts, summary.metrics["errors"]), end="")
    return status


def _check_outputs(outputs: dict[str, Path]) -> None:
    """Refuse output paths that cannot be files before the run, not after it (a folder, or a path
    inside a file): the run can take minutes."""
    from .errors import ConfigError
    from .files import is_folder, not_a_folder

    for flag, path in outputs.items():
        why = f"{path} is a folder" if is_folder(path) else not_a_folder(path.parent)
        if why:
            raise ConfigError(f"cannot write {flag} {path}: {why}; give a file path")


def select(suite, options: EvalOptions):
    """Keep the cases carrying one of ``--tag`` (if given), then the first ``--limit``."""
    cases = suite.cases
    if options.tags:
        cases = tuple(c for c in cases if set(c.tags) & set(options.tags))
    if options.limit is not None:
        cases = cases[:max(0, options.limit)]
    if not cases:
        from .suites import SuiteError

        raise SuiteError(f"no cases of {suite.path} left after --tag/--limit")
    return dataclasses.replace(suite, cases=cases)


def _run_with_progress(run_suite, suite, corpora, batch: int, console, quiet: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    total = sum(len(c.turns) for c in suite.cases)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True, disable=quiet) as progress:
        task = progress.add_task("Evaluating", total=total)
        corpora.on_open = lambda key: progress.update(task, description=f"Evaluating {key or suite.name}")
        return run_suite(suite, corpora, lambda done, _total: progress.update(task, completed=done), batch)


class Corpora:
    """Hands the runner one pipeline per corpus key and remembers what each index was.

    A file suite runs on the settings' corpus through the persisted index (exactly what users get),
    unless its header names another folder: that one is read into an in-memory index, so evaluating
    never rebuilds (and replaces) the default index. SQuAD corpora are always in memory.
    """

    def __init__(self, settings: Settings, suite, corpus_given: bool, console) -> None:
        self.settings, self.suite, self.console = settings, suite, console
        self.corpus_given = corpus_given
        self.indexes: dict[str, dict] = {}
        self.model_sha256: str | None = None
        self.on_open = lambda key: None
        self._encoder = None

    @property
    def encoder(self):
        if self._encoder is None:
            from .embedding import shared_encoder

            self._encoder = shared_encoder()
        return self._encoder

    def __call__(self, key: str | None):
        from .pipeline import Pipeline
        from .store import embed_articles
        from .terminal import warning_printer

        self.on_open(key)
        if self.suite.corpora:
            articles = self.suite.corpora[key]
            return self._remember(key, Pipeline(self.settings, self._in_memory(articles, embed_articles), self.encoder))
        folder = self.suite.corpus if (self.suite.corpus and not self.corpus_given) else self.settings.corpus_dir
        warn = warning_printer(self.console)
        if folder.resolve() == self.settings.corpus_dir.resolve():
            return self._remember(str(folder), Pipeline.open(self.settings, warn=warn, encoder=self.encoder))
        from .corpus import load_corpus

        corpus = load_corpus(folder, warn)
        return self._remember(str(folder), Pipeline(self.settings, self._in_memory(corpus.articles, embed_articles),
                                                    self.encoder))

    def _in_memory(self, articles, embed_articles):
        s = self.settings
        return embed_articles(tuple(articles), self.encoder, s.chunk_tokens, s.chunk_overlap)

    def _remember(self, key: str, pipeline):
        manifest = pipeline.index.manifest or {}
        if manifest:
            self.model_sha256 = manifest.get("params", {}).get("model_sha256")
            entry = {"kind": "persisted", "manifest_sha256": _sha(json.dumps(manifest, sort_keys=True)),
                     "corpus_hash": manifest.get("corpus_hash"), "data": manifest.get("data")}
        else:
            entry = {"kind": "in-memory", "corpus_sha256": _sha("\0".join(a.text for a in pipeline.index.articles))}
        entry["articles"] = len(pipeline.articles)
        entry["sentences"] = int(pipeline.index.n_sentences)
        self.indexes[key] = entry
        return pipeline

    def meta(self, options: EvalOptions, seconds: float) -> dict:
        from .embedding import MODEL_NAME, model_sha256

        config = {f.name: (str(v) if isinstance(v, Path) else v)
                  for f in dataclasses.fields(self.settings)
                  if not f.name.startswith("telegram") for v in [getattr(self.settings, f.name)]}
        config.update(batch=options.batch, pool=options.pool, limit=options.limit, tags=list(options.tags))
        return {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(seconds, 2), "config": config,
                "model": {"name": MODEL_NAME, "sha256": self.model_sha256 or model_sha256(self.encoder.path)},
                "index": self.indexes}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
