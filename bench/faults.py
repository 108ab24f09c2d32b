"""SIGKILL during index builds: after every kill the index folder holds the old complete index or the new
complete one, never a mix, and the next start answers.

Each round adds one article to the corpus (so the build must embed new text and write a new data
folder), starts ``articlebot index`` in its own process, and kills it with SIGKILL at a random moment
between start-up and the measured length of a full build (odd rounds), or, on a simulated slow disk
(each fsync 50 ms longer), within 0.6 s of the moment its new data folder appears (even rounds: the
writing and the manifest swap, the part where a kill could do harm). Then, in this process: the
manifest must load with every file it names intact (``load_index``: counts, dimension, ids), and its
corpus hash must be the old corpus's or the new one's. A final ``open_index`` must succeed and answer from the new
corpus (the interrupted build is finished by the next start; nothing that was good is lost).

    .venv/bin/python bench/faults.py --rounds 20          # prints a table, writes bench/results/faults-*.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASE = ("The harbour at Port Vell handled 41,200 containers in 2023. Mayor Anna Pujol opened a new quay "
        "in March. The quay cost 80 million euros.")


def article(round_no: int) -> str:
    """A new article per round: distinct sentences, so each build embeds new text."""
    lines = [f"River report {round_no}", ""]
    lines += [f"In week {w} of round {round_no} the river at gauge {round_no * 7 + w} rose {w + round_no} "
              f"centimetres and {w * 3} barges waited at lock {round_no}." for w in range(40)]
    return "\n".join(lines) + "\n"


# a slow disk: every fsync takes 50 ms longer, which stretches the few milliseconds between the first
# file of a new data folder and the manifest swap to about half a second, so kills can land inside it
SLOW_DISK = ("import os, sys, time\n_fsync = os.fsync\n"
             "def fsync(fd):\n    time.sleep(0.05)\n    _fsync(fd)\n"
             "os.fsync = fsync\nfrom bot.cli import main\nsys.exit(main(sys.argv[1:]))")


def _command(corpus: Path, index: Path, slow_disk: bool = False) -> list[str]:
    head = [sys.executable, "-c", SLOW_DISK] if slow_disk else [sys.executable, "-m", "bot"]
    return [*head, "index", "--corpus", str(corpus), "--index", str(index)]


def state(index: Path) -> tuple[str | None, bool]:
    """(corpus hash of the index the manifest points at, whether every file it names loads and agrees
    and its derived files are there)."""
    from bot.errors import IndexCorrupt
    from bot.store import load_index, read_manifest
    from bot.syntax import SYNTAX_FILE, model_id
    from bot.token_match import TOKENS_FILE

    manifest = read_manifest(index)
    if manifest is None:
        return None, False
    try:
        load_index(index, manifest)
    except IndexCorrupt:
        return manifest.get("corpus_hash"), False
    # the token vectors and parses the answer path reads are published with the index, not after it
    derived = {TOKENS_FILE} | ({SYNTAX_FILE} if model_id() is not None else set())
    present = {p.name for p in (index / manifest["data"]).iterdir()}
    return manifest.get("corpus_hash"), derived <= present


def _staging(index: Path) -> set[str]:
    return {p.name for p in index.iterdir() if p.name.startswith(".tmp-data-")}


def _wait_for_staging(index: Path, process: subprocess.Popen, leftovers: set[str]) -> float:
    """Seconds from now until a new ``.tmp-data-*`` staging folder appears (or the build ends);
    ``leftovers`` are those of builds killed earlier, which the next successful build removes."""
    began = time.monotonic()
    while process.poll() is None and not _staging(index) - leftovers:
        time.sleep(0.005)
    return time.monotonic() - began


def kill_during_builds(rounds: int, folder: Path, seed: int = 8, log=print) -> dict:
    """Run ``rounds`` killed builds in ``folder``; returns counts and the per-round outcomes."""
    from bot.corpus import article_files, corpus_hash
    from bot.embedding import shared_encoder
    from bot.store import open_index

    rng = random.Random(seed)
    corpus, index = folder / "corpus", folder / "index"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "base.md").write_text(BASE + "\n", encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    began = time.monotonic()
    subprocess.run(_command(corpus, index), check=True, capture_output=True, env=env, timeout=600)
    # a full build of one new article, measured: kills land anywhere from start-up to its end
    (corpus / "article-0.md").write_text(article(0), encoding="utf-8")
    started = time.monotonic()
    subprocess.run(_command(corpus, index), check=True, capture_output=True, env=env, timeout=600)
    full = time.monotonic() - started
    outcomes = []
    for round_no in range(1, rounds + 1):
        old, _ = state(index)  # the last complete index (an earlier round's build may have been killed)
        (corpus / f"article-{round_no}.md").write_text(article(round_no), encoding="utf-8")
        new = corpus_hash(article_files(corpus))
        leftovers = _staging(index)
        launched = time.monotonic()
        process = subprocess.Popen(_command(corpus, index, slow_disk=not round_no % 2), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if round_no % 2:  # odd rounds: anywhere from start-up to the end of a full build
            delay = rng.uniform(0.0, full)
            time.sleep(delay)
        else:  # even rounds, on a slow disk: from the moment the new data folder appears, up to 0.6 s on
            delay = _wait_for_staging(index, process, leftovers) + rng.uniform(0.0, 0.6)
            time.sleep(max(0.0, delay - (time.monotonic() - launched)))
        finished = process.poll() is not None
        if not finished:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        digest, intact = state(index)
        which = "new" if digest == new else "old" if digest == old else "neither"
        staging = _staging(index) - leftovers
        outcomes.append({"round": round_no, "kill_after_s": round(delay, 2), "finished_first": finished,
                         "index": which, "intact": intact, "staging_left": len(staging)})
        log(f"round {round_no:2d}: killed at {delay:5.2f} s of {full:.2f} -> {which} index, "
            f"{'intact' if intact else 'DAMAGED'}{' (build had finished)' if finished else ''}")
    # the next start finishes the job: the newest corpus, answerable
    final = open_index(corpus, index, shared_encoder(), 96, 1, warn=lambda m: None)
    ok_final = len(final.articles) == rounds + 2
    return {"rounds": rounds, "full_build_s": round(full, 2),
            "old": sum(o["index"] == "old" for o in outcomes), "new": sum(o["index"] == "new" for o in outcomes),
            "neither": sum(o["index"] == "neither" for o in outcomes),
            "damaged": sum(not o["intact"] for o in outcomes),
            "killed_mid_build": sum(not o["finished_first"] for o in outcomes),
            "killed_while_writing": sum(o["staging_left"] > 0 for o in outcomes),
            "final_open_ok": ok_final, "seconds": round(time.monotonic() - began, 1), "outcomes": outcomes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="articlebot-faults-") as folder:
        result = kill_during_builds(args.rounds, Path(folder), args.seed)
    outcomes = result.pop("outcomes")
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / f"faults-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    from common import machine

    out.write_text(json.dumps({"machine": machine(), **result, "outcomes": outcomes}, indent=2))
    print(f"wrote {out}")
    return 0 if result["neither"] == 0 and result["damaged"] == 0 and result["final_open_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
