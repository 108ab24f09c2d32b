"""Evaluation suites: cases of expected answers read from JSONL (canonical), YAML or SQuAD JSON.

Why strict: a suite gates CI, so a typo ("expected", an empty gold answer, a cited sentence the
article does not hold) must stop the run with the line number and what is wrong (exit status 2),
never quietly turn into a case that always passes or always fails. See docs/evaluation.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ArticlebotError
from .metrics import normalize_text

EXPECT_KEYS = ("answers", "all", "cited", "abstain", "not")
CASE_KEYS = ("id", "question", "expect", "tags", "turns")
HEADER_KEYS = ("name", "corpus", "min", "max", "description")
MAX_ERRORS = 20


class SuiteError(ArticlebotError):
    """The suite file is invalid; the message names the file, the line and the problem."""

    exit_code = 2


@dataclass(frozen=True)
class Expect:
    """What one answer must satisfy. ``gold_spans`` are (article id, character offset) pairs of gold
    answers when the suite knows them (SQuAD's ``answer_start``); hand-written suites use ``cited``."""

    answers: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    cited: tuple[str, ...] = ()
    abstain: bool | None = None
    not_: tuple[str, ...] = ()
    gold_spans: tuple[tuple[str, int], ...] = ()

    @property
    def answerable(self) -> bool | None:
        """True: the bot must answer; False: it must abstain; None: the case does not say."""
        if self.abstain is not None:
            return not self.abstain
        return True if (self.answers or self.all or self.cited) else None

    def to_json(self) -> dict:
        out: dict = {}
        for key in EXPECT_KEYS:
            value = getattr(self, "not_" if key == "not" else key)
            if value not in ((), None):
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True)
class TurnSpec:
    question: str
    expect: Expect


@dataclass(frozen=True)
class Case:
    """One single-turn case or one conversation (turns asked in order in one Conversation).
    ``corpus`` keys :attr:`Suite.corpora` for suites that bring their own articles (SQuAD)."""

    id: str
    turns: tuple[TurnSpec, ...]
    tags: tuple[str, ...] = ()
    line: int = 0
    corpus: str | None = None


@dataclass(frozen=True)
class Suite:
    """A parsed suite. ``corpus`` is the folder named by the header (resolved against the suite's
    folder); ``corpora`` holds in-memory articles per corpus key (SQuAD), else it is empty."""

    name: str
    path: str
    cases: tuple[Case, ...]
    kind: str = "cases"
    corpus: Path | None = None
    minimum: dict = field(default_factory=dict)
    maximum: dict = field(default_factory=dict)
    corpora: dict = field(default_factory=dict)
    sha256: str = ""


# ---------------------------------------------------------------- reading

def load_suite(path: Path, pool: bool = False, max_question_chars: int = 1000) -> Suite:
    """Read a suite file: ``.jsonl`` cases, ``.yaml``/``.yml`` cases, or ``.json`` SQuAD v1.1/v2.0."""
    import hashlib

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SuiteError(f"cannot read suite {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    digest = hashlib.sha256(raw).hexdigest()
    suffix = path.suffix.lower()
    if suffix == ".json":
        from .squad import squad_suite

        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path} line {exc.lineno}: invalid JSON ({exc.msg})") from None
        return squad_suite(data, path, pool=pool, sha256=digest)
    if suffix in (".yaml", ".yml"):
        header, items = _yaml_items(text, path)
    elif suffix == ".jsonl":
        header, items = _jsonl_items(text, path)
    else:
        raise SuiteError(f"{path}: unknown suite format {suffix!r} (use .jsonl, .yaml or SQuAD .json)")
    return build_suite(header, items, path, digest, max_question_chars)


def _jsonl_items(text: str, path: Path) -> tuple[tuple[int, dict] | None, list[tuple[int, object]]]:
    header, items = None, []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path} line {number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        if isinstance(value, dict) and "suite" in value and not items and header is None:
            header = (number, value)
        else:
            items.append((number, value))
    return header, items


def _yaml_items(text: str, path: Path) -> tuple[tuple[int, dict] | None, list[tuple[int, object]]]:
    """A YAML list of cases, or a mapping ``{suite: {...}, cases: [...]}``; line numbers come from
    the composed node tree so errors point at the case's first line."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SuiteError(f"{path}{where}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    header = None
    cases_node = root
    if isinstance(data, dict):
        unknown = set(data) - {"suite", "cases"}
        if unknown or "cases" not in data:
            raise SuiteError(f"{path} line 1: a YAML suite is a list of cases or a mapping with 'cases' "
                             f"(and optionally 'suite'); found keys {sorted(map(str, data))}")
        for key_node, value_node in root.value:
            if key_node.value == "cases":
                cases_node = value_node
            elif key_node.value == "suite":
                header = (key_node.start_mark.line + 1, {"suite": data["suite"]})
        data = data["cases"]
    if not isinstance(data, list):
        raise SuiteError(f"{path} line 1: expected a list of cases")
    lines = [node.start_mark.line + 1 for node in cases_node.value]
    return header, list(zip(lines, data))


def build_suite(header: tuple[int, dict] | None, items: list[tuple[int, object]], path: Path, digest: str,
                max_question_chars: int = 1000) -> Suite:
    """Validate every case (collecting up to MAX_ERRORS problems) and the header into a :class:`Suite`."""
    errors: list[str] = []
    name, corpus, minimum, maximum = path.stem, None, {}, {}
    if header is not None:
        number, value = header
        try:
            name, corpus, minimum, maximum = _header(value["suite"], path)
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
    cases, seen = [], {}
    for number, value in items:
        try:
            case = parse_case(value, number, max_question_chars)
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
            continue
        if case.id in seen:
            errors.append(f"line {number}: duplicate id {case.id!r} (first on line {seen[case.id]})")
            continue
        seen[case.id] = number
        cases.append(case)
    if not errors and not cases:
        errors.append("line 1: the suite has no cases")
    if errors:
        more = f"\n  ... and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
        raise SuiteError(f"invalid suite {path}:\n  " + "\n  ".join(errors[:MAX_ERRORS]) + more)
    return Suite(name, str(path), tuple(cases), "cases", corpus, minimum, maximum, {}, digest)


def _header(value: object, path: Path) -> tuple[str, Path | None, dict, dict]:
    if not isinstance(value, dict):
        raise ValueError("'suite' must be an object such as {\"name\": ..., \"corpus\": ..., \"min\": {...}}")
    unknown = sorted(set(value) - set(HEADER_KEYS))
    if unknown:
        raise ValueError(f"unknown suite key(s) {unknown}; allowed: {list(HEADER_KEYS)}")
    corpus = value.get("corpus")
    if corpus is not None and (not isinstance(corpus, str) or not corpus.strip()):
        raise ValueError("suite.corpus must be a folder path (relative to the suite file)")
    folder = (path.parent / corpus).resolve() if corpus else None
    from .gating import parse_bounds

    minimum = parse_bounds(value.get("min") or {}, "suite.min")
    maximum = parse_bounds(value.get("max") or {}, "suite.max")
    return str(value.get("name") or path.stem), folder, minimum, maximum


def parse_case(value: object, number: int, max_question_chars: int = 1000) -> Case:
    """One case object; raises ValueError saying what is wrong (the caller adds the line number)."""
    if not isinstance(value, dict):
        raise ValueError(f"a case must be a JSON object, not {type(value).__name__}")
    unknown = sorted(set(value) - set(CASE_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown}; a case has {list(CASE_KEYS)}")
    case_id = value.get("id", f"line-{number}")
    if not isinstance(case_id, (str, int)) or isinstance(case_id, bool) or not str(case_id).strip():
        raise ValueError("id must be a non-empty string")
    tags = _strings(value.get("tags", []), "tags", allow_empty_list=True)
    if ("question" in value) == ("turns" in value):
        raise ValueError("a case needs exactly one of 'question' (single turn) or 'turns' (conversation)")
    if "question" in value:
        if "expect" not in value:
            raise ValueError("a single-turn case needs 'expect'")
        turns = (TurnSpec(_question(value["question"], "question", max_question_chars),
                          parse_expect(value["expect"], "expect")),)
    else:
        if "expect" in value:
            raise ValueError("'expect' belongs inside each turn of a conversation")
        raw_turns = value["turns"]
        if not isinstance(raw_turns, list) or not raw_turns:
            raise ValueError("turns must be a non-empty list of {\"question\", \"expect\"}")
        turns = tuple(_turn(t, i, max_question_chars) for i, t in enumerate(raw_turns))
    return Case(str(case_id), turns, tags, number)


def _turn(value: object, i: int, max_question_chars: int) -> TurnSpec:
    where = f"turns[{i}]"
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be an object with 'question' and 'expect'")
    unknown = sorted(set(value) - {"question", "expect"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}")
    if "question" not in value:
        raise ValueError(f"{where} has no 'question'")
    # a turn may set context without expectations ("Tell me about the factory")
    expect = parse_expect(value["expect"], f"{where}.expect") if "expect" in value else Expect()
    return TurnSpec(_question(value["question"], f"{where}.question", max_question_chars), expect)


def _question(value: object, where: str, max_chars: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where} must be a non-empty string")
    if len(" ".join(value.split())) > max_chars:
        raise ValueError(f"{where} is longer than {max_chars} characters")
    return value


def parse_expect(value: object, where: str = "expect") -> Expect:
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{where} must be a non-empty object with any of {list(EXPECT_KEYS)}")
    unknown = sorted(set(value) - set(EXPECT_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {list(EXPECT_KEYS)}")
    abstain = value.get("abstain")
    if abstain is not None and not isinstance(abstain, bool):
        raise ValueError(f"{where}.abstain must be true or false")
    expect = Expect(*(_strings(value.get(k, []), f"{where}.{k}") for k in ("answers", "all", "cited")),
                    abstain=abstain, not_=_strings(value.get("not", []), f"{where}.not"))
    if abstain and (expect.answers or expect.all or expect.cited):
        raise ValueError(f"{where}: abstain: true contradicts answers/all/cited")
    return expect


def _strings(value: object, where: str, allow_empty_list: bool = False) -> tuple[str, ...]:
    """A string or a list of strings; each must still say something after SQuAD normalisation."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise ValueError(f"{where} must be a string or a list of strings")
    if not items and not allow_empty_list and value != []:
        raise ValueError(f"{where} is empty")
    for i, item in enumerate(items):
        if not normalize_text(item) and not where.endswith("tags"):
            raise ValueError(f"{where}[{i}] is empty after normalisation ({item!r} matches everything)")
        if not item.strip():
            raise ValueError(f"{where}[{i}] is empty")
    return tuple(items)
