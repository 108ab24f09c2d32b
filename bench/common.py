"""Shared helpers of the benchmarks: machine description, percentiles, result files, a plain table.

Numbers are only meaningful with the machine and its load next to them (two cores shared with other
work), so every result file carries both.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SQUAD = ROOT.parent / "shared" / "squad-sample" / "squad-dev-v1.1-sample.json"


def machine() -> dict:
    """nproc, CPU model, memory, load averages and versions: what a reader needs to compare numbers."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model, "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def ms(seconds) -> float:
    return round(float(seconds) * 1000.0, 3)


def percentiles(samples: list[float]) -> dict:
    """p50/p95/max in milliseconds of samples given in seconds."""
    data = np.asarray(samples, dtype=np.float64)
    return {"n": len(data), "p50_ms": ms(np.percentile(data, 50)), "p95_ms": ms(np.percentile(data, 95)),
            "max_ms": ms(data.max())}


def rss_mb() -> float:
    """Current resident set size of this process in MB (from /proc, so it can also go down)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def folder_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)


def write_results(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (RESULTS / f"{name}-latest.json").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    """``(measure, value, target, verdict)`` rows as an aligned text table (also pasted into the README)."""
    header = ("measure", "value", "target", "ok")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def squad_articles() -> list[tuple[str, str, list[str]]]:
    """(title, text, questions) of the SQuAD sample articles, paragraphs joined by blank lines."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    return [(a["title"], "\n\n".join(p["context"] for p in a["paragraphs"]),
             [q["question"] for p in a["paragraphs"] for q in p["qas"]]) for a in data]
