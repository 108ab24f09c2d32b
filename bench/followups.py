"""Share of follow-up turns answered right with and without the conversation machinery.

Runs the multi-turn cases of tests/followup_cases.py twice: once in a Conversation (follow-ups
resolved), once asking each question on its own. A turn is right when the first cited sentence
contains the expected text, the short answer contains the expected text, and abstention matches.
Usage: .venv/bin/python bench/followups.py
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from followup_cases import BUNDLED, MARLOW, RESET  # noqa: E402

from bot.pipeline import Pipeline  # noqa: E402
from bot.settings import Settings  # noqa: E402


def turn_ok(answer, cited, short, abstain) -> bool:
    """The rule the tests use too."""
    if abstain is not None and answer.abstained != abstain:
        return False
    if cited is not None and not (answer.citations and cited in answer.citations[0].text):
        return False
    if short == "":
        return answer.short_answer is None
    return short is None or bool(answer.short_answer and short in answer.short_answer)


def run(pipeline: Pipeline, cases: dict, follow: bool) -> tuple[int, int, int, int]:
    """(right, total, right follow-up turns, follow-up turns)."""
    right = total = right_f = total_f = 0
    for turns in cases.values():
        conversation = pipeline.new_conversation()
        first = True
        for question, cited, short, abstain, mode in turns:
            if question == RESET:
                conversation.reset()
                continue
            answer = pipeline.answer(question, conversation if follow else None)
            ok = turn_ok(answer, cited, short, abstain)
            right += ok
            total += 1
            if not first and mode not in ("self", None):
                right_f += ok
                total_f += 1
            first = False
    return right, total, right_f, total_f


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpora = {"bundled article": (ROOT / "corpus", BUNDLED), "Marlow tram article": (ROOT / "tests/fixtures/marlow", MARLOW)}
        print(f"{'corpus':22s} {'mode':18s} {'all turns':>10s} {'follow-up turns':>16s}")
        for name, (corpus, cases) in corpora.items():
            pipeline = Pipeline.open(Settings(corpus_dir=corpus, index_dir=Path(tmp) / name))
            for follow in (True, False):
                r, t, rf, tf = run(pipeline, cases, follow)
                label = "with follow-ups" if follow else "each on its own"
                print(f"{name:22s} {label:18s} {r:>4d}/{t:<3d}={r / t:.2f} {rf:>6d}/{tf:<3d}={rf / tf:.2f}")


if __name__ == "__main__":
    main()
