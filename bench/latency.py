"""Warm answer latency against the question's own embedding time, and cold start of ``articlebot ask``.

Warm: one process, model loaded, bundled article. For every question the embedding alone
(``encoder.encode([q])``, the same encoder object the pipeline uses) and the whole answer are timed
alternately, so both see the same machine load. Cold: fresh ``articlebot ask`` processes with the
index already built, wall time from spawn to exit (the answer is printed before exit).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, percentiles

QUESTIONS = (
    "How much did Liaoning invest?",
    "How much did Liaoning invest in digital manufacturing?",
    "What share of Heilongjiang's GDP is its digital economy?",
    "Which provinces are driving digital transformation?",
    "What is Jilin working on?",
    "Where is the integrated AMT workshop?",
    "Who is FAW Jiefang a subsidiary of?",
    "When were the robots tested in Changchun?",
    "What does Harbin Turbine Company belong to?",
    "What is fueling high-quality development in the region?",
    "Who won the football match?",
    "What is the population of Shanghai?",
)
ASK = [str(ROOT / ".venv" / "bin" / "articlebot"), "ask"]


def bundled_copy() -> Path:
    base = Path(tempfile.mkdtemp(prefix="articlebot-bench-"))
    shutil.copytree(ROOT / "corpus", base / "corpus")
    return base


def warm(rounds: int = 25, prefer_onnx: bool = True) -> dict:
    """p50/p95 of answering vs embedding the question alone, and their ratios."""
    base, encoder, pipeline = open_bundled(prefer_onnx)
    embed, answer = alternate(encoder, pipeline, rounds)
    shutil.rmtree(base, ignore_errors=True)
    e, a = percentiles(embed), percentiles(answer)
    return {"encoder": encoder.backend, "embed": e, "answer": a,
            "ratio_p50": round(a["p50_ms"] / e["p50_ms"], 3), "ratio_p95": round(a["p95_ms"] / e["p50_ms"], 3),
            "ratio_p50_by_block": block_ratios(embed, answer, len(QUESTIONS) * max(1, rounds // BLOCKS)),
            "targets": {"ratio_p50": 1.3, "ratio_p95": 2.0}}


def open_bundled(prefer_onnx: bool = True):
    """(a temporary folder holding a copy of the bundled corpus and its index, the encoder, a Pipeline
    on them); the caller removes the folder."""
    from bot.embedding import Encoder
    from bot.pipeline import Pipeline
    from bot.settings import Settings

    base = bundled_copy()
    encoder = Encoder(prefer_onnx=prefer_onnx)
    return base, encoder, Pipeline.open(Settings(corpus_dir=base / "corpus", index_dir=base / "index"), encoder=encoder)


def alternate(encoder, pipeline, rounds: int, warmed=None) -> tuple[list[float], list[float]]:
    """Seconds of ``encoder.encode([q])`` and of ``pipeline.answer(q)``, timed alternately for every
    question of every round (so both see the same machine load), after one warm-up round (first calls
    allocate buffers and fill caches) and then ``warmed()`` when given."""
    for question in QUESTIONS:
        encoder.encode([question])
        pipeline.answer(question)
    if warmed is not None:
        warmed()
    embed, answer = [], []
    for _ in range(rounds):
        for question in QUESTIONS:
            start = time.perf_counter()
            encoder.encode([question])
            embed.append(time.perf_counter() - start)
            start = time.perf_counter()
            pipeline.answer(question)
            answer.append(time.perf_counter() - start)
    return embed, answer


BLOCKS = 5  # the warm rounds are also reported in this many consecutive blocks


def block_ratios(embed: list[float], answer: list[float], size: int) -> list[float]:
    """The p50 ratio of each consecutive block of ``size`` questions. Why: on this shared 2-core VM
    the ratio drifts by several hundredths within one run (the machine's phases), so a single number
    near the target says little without its spread."""
    return [round(float(np.median(answer[i:i + size]) / np.median(embed[i:i + size])), 3)
            for i in range(0, len(embed) - size + 1, size)]


def cold(runs: int = 7) -> dict:
    """Wall time of fresh ``articlebot ask`` processes once the index (and its ONNX export) exist."""
    base = bundled_copy()
    flags = ["--corpus", str(base / "corpus"), "--index", str(base / "index")]
    subprocess.run([*ASK[:-1], "index", *flags], check=True, capture_output=True)
    times, answers = [], set()
    for i in range(runs):
        start = time.perf_counter()
        done = subprocess.run([*ASK, *flags, QUESTIONS[i % 3]], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        answers.add(done.stdout.splitlines()[0] if done.stdout else "")
    imports = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot", "ask", *flags, QUESTIONS[0]],
                             capture_output=True, text=True, cwd=ROOT).stderr
    heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers", "sklearn")
                   if f"| {m}\n" in imports or f"|   {m}\n" in imports)
    shutil.rmtree(base, ignore_errors=True)
    return {"ask": percentiles(times), "first_lines": sorted(answers), "heavy_imports": heavy, "target_s": 2.0}
