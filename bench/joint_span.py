"""Should the short answer be looked for beyond the first-ranked sentence? (issue 6, item 3)

The short answer's F1 on the SQuAD sample is limited less by the extractor (49 F1 inside the gold
sentence) than by the cited sentence (40 inside the sentence ranked first): about one question in five
is asked of the wrong sentence. Readers such as DrQA pick the best span over several passages by
combining the passage's retrieval score with the span's own score. This measures the same idea on
sentences: among the top ``K`` hits whose fused score is within ``margin`` of the best, cite first the
one maximising ``score + weight * expected F1 of its best span``. Weights are fitted on split A
(articles 1, 3, 5 of the file) and reported on B (2, 4, 6), and the other way round.

    .venv/bin/python bench/joint_span.py [--cache /tmp/joint.pkl] [--k 3]

Reported per split: short-answer F1 (null and abstained = 0, as ``articlebot eval`` scores HasAns F1),
answer-sentence @1 by the issue's definition (the first cited sentence contains a gold answer), the
share of questions whose cited sentence changes, and how many extra sentences the extractor reads.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import answer, extract  # noqa: E402
from bot.metrics import best_em_f1, contains  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "squad-sample" / "squad-dev-v1.1-sample.json"


def collect(path: Path, k: int) -> list[dict]:
    """Per answerable question: the pipeline's top ``k`` hits, each with its best span and expected F1."""
    from bot.embedding import shared_encoder
    from bot.pipeline import RANK_DEPTH, Pipeline
    from bot.settings import Settings
    from bot.squad import squad_suite
    from bot.store import embed_articles

    suite = squad_suite(json.loads(path.read_text()), path)
    encoder, settings = shared_encoder(), Settings()
    rows = []
    for number, key in enumerate(suite.corpora):
        (article,) = suite.corpora[key]
        pipe = Pipeline(settings, embed_articles((article,), encoder, settings.chunk_tokens, settings.chunk_overlap),
                        encoder)
        tokens = pipe.retriever.tokens
        cases = [c for c in suite.cases if c.corpus == key and c.turns[0].expect.gold_spans]
        queries = pipe.retriever.prepare([c.turns[0].question for c in cases])
        for case, query in zip(cases, queries):
            hits = pipe.focused(query, pipe.retriever.rank(query, RANK_DEPTH))
            if not hits:
                continue
            text0 = article.sentences[hits[0].index].text
            conf = answer.confidence(hits[0], query, pipe.missing(query, hits), pipe.rival(query, hits), text0)
            top = []
            for hit in hits[:k]:
                text = article.sentences[hit.index].text
                vectors, parse = answer._row(tokens, hit), answer._row(pipe.syntax, hit)
                span = answer.short_answer(text, query, vectors, parse)
                sims = extract.sentence_sims(text, vectors, query)
                ranked = extract.scored(text, query.text, query.terms, query.kind, None, sims, parse)
                top.append({"score": hit.score, "text": text, "short": text[span[0]:span[1]] if span else "",
                            "expected": ranked[0][0] if ranked else 0.0})
            rows.append({"split": "AB"[number % 2], "golds": case.turns[0].expect.answers, "top": top,
                         "abstained": conf < settings.abstain_threshold})
        print(f"{key}: {len(cases)} questions", file=sys.stderr)
    return rows


def choose(row: dict, weight: float, margin: float) -> int:
    best = row["top"][0]["score"]
    options = [i for i, t in enumerate(row["top"]) if best - t["score"] <= margin]
    return max(options, key=lambda i: (row["top"][i]["score"] + weight * row["top"][i]["expected"], -i))


def measure(rows: list[dict], weight: float, margin: float) -> dict[str, float]:
    f1 = hit1 = changed = extra = 0.0
    for row in rows:
        i = choose(row, weight, margin)
        chosen = row["top"][i]
        changed += i != 0
        extra += sum(1 for t in row["top"][1:] if row["top"][0]["score"] - t["score"] <= margin)
        hit1 += any(contains(chosen["text"], g) for g in row["golds"])
        if not row["abstained"] and chosen["short"]:
            f1 += best_em_f1(chosen["short"], row["golds"])[1]
    n = max(1, len(rows))
    return {"f1": 100 * f1 / n, "hit1": hit1 / n, "changed": changed / n, "extra": extra / n}


WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
MARGINS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 10.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--k", type=int, default=3)
    args = parser.parse_args(argv)
    if args.cache and args.cache.exists():
        rows = pickle.loads(args.cache.read_bytes())
    else:
        rows = collect(args.sample, args.k)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(rows))
    splits = {s: [r for r in rows if r["split"] == s] for s in "AB"}
    base = {s: measure(splits[s], 0.0, 0.0) for s in "AB"}
    print(f"first-ranked sentence: A F1 {base['A']['f1']:.1f} @1 {base['A']['hit1']:.3f} | "
          f"B F1 {base['B']['f1']:.1f} @1 {base['B']['hit1']:.3f} | all F1 {measure(rows, 0, 0)['f1']:.1f}")
    for fit, held in (("A", "B"), ("B", "A")):
        grid = [(measure(splits[fit], w, m)["f1"], -m, w, m) for w in WEIGHTS for m in MARGINS]
        _, _, w, m = max(grid)
        got, was = measure(splits[held], w, m), base[held]
        print(f"fitted on {fit}: weight {w}, margin {m} -> held-out {held}: F1 {was['f1']:.1f} -> {got['f1']:.1f}, "
              f"@1 {was['hit1']:.3f} -> {got['hit1']:.3f}, cited sentence changed {100 * got['changed']:.1f}%, "
              f"extra sentences read {got['extra']:.2f} per question")
    print("grid on all questions (F1 / @1 / changed% / extra):")
    for w in WEIGHTS:
        print(f"  weight {w:<5}", "  ".join(f"m{m}: {r['f1']:.1f}/{r['hit1']:.3f}/{100 * r['changed']:.0f}/{r['extra']:.2f}"
                                         for m in MARGINS for r in [measure(rows, w, m)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
