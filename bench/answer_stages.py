"""Where a warm answer's time goes after the question's embedding, stage by stage.

Why: item 1 of the performance issue compares the whole answer with the embedding alone, and the
ratio moves with the machine's phase; per-stage times in milliseconds show whether the work after the
model changed. Each stage is timed by a wrapper around it, in one process with the model loaded, on
the bundled article and ``latency.QUESTIONS`` (the wrappers add ~1 µs a call).

    .venv/bin/python bench/answer_stages.py [rounds]
"""

from __future__ import annotations

import collections
import functools
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT))


def timed(owner, name: str, label: str, into: dict[str, list[float]]) -> None:
    """Replace ``owner.name`` by a wrapper that records each call's time under ``label``."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[label].append(time.perf_counter() - start)

    setattr(owner, name, wrapper)


def main(rounds: int = 20) -> None:
    import numpy as np

    from bot import answer, pipeline, retrieval
    from latency import alternate, open_bundled

    calls: dict[str, list[float]] = collections.defaultdict(list)
    for owner, name, label in ((retrieval.Retriever, "prepare", "Retriever.prepare (embedding + lexical job)"),
                               (retrieval.Retriever, "rank_fused", "Retriever.rank_fused"),
                               (pipeline, "compose", "compose (short answer and citations)"),
                               (pipeline, "answer_first", "  answer_first (near ties)"),
                               (answer, "short_answer", "  short_answer")):
        timed(owner, name, label, calls)
    base, encoder, pipe = open_bundled()
    embed, whole = alternate(encoder, pipe, rounds, warmed=calls.clear)
    shutil.rmtree(base, ignore_errors=True)
    n = len(whole)
    print(f"{n} answers, encoder {encoder.backend}")
    print(f"{'stage':46s} {'calls':>6s} {'p50 ms':>8s} {'ms per answer':>14s}")
    print(f"{'embedding alone (encoder.encode)':46s} {n:6d} {np.median(embed) * 1e3:8.3f} {np.mean(embed) * 1e3:14.3f}")
    print(f"{'whole answer':46s} {n:6d} {np.median(whole) * 1e3:8.3f} {np.mean(whole) * 1e3:14.3f}")
    for label, times in calls.items():
        print(f"{label:46s} {len(times):6d} {np.median(times) * 1e3:8.3f} {sum(times) / n * 1e3:14.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
