"""Short-answer quality on the SQuAD v1.1 sample (issue 6, item 3): official token F1 / EM of the
highlighted span, (a) inside the gold sentence (the extractor alone) and (b) inside the sentence the bot
actually cites (real Retriever, one corpus per article, as ``articlebot eval`` runs it), overall and
split typed/untyped, with the share of questions given a non-null span, on the fixed split of articles
(A = the 1st, 3rd, 5th article of the file, B = the 2nd, 4th, 6th).

    .venv/bin/python bench/short_answers.py [--cache /tmp/short_answers.pkl] [--sweep]

Retrieval runs once and is cached (``--cache``); the extractor is re-run on every call, so extractor
changes are measured in seconds. ``--sweep`` prints the F1/coverage trade-off over the threshold, with
the threshold chosen on one half of the articles and scored on the other, both ways. ``--snapshot`` /
``--check`` store and compare every gold and cited sentence's spans and scores (a change meant to keep
the outputs, such as a speed-up, must show 0 differences); ``--speed`` times ``extract.best_span`` on
the bundled article's latency questions.
"""
from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import answer, answer_types, extract, span_features  # noqa: E402
from bot.answer_types import KINDS  # noqa: E402
from bot.lexical import STOPWORDS  # noqa: E402
from bot.metrics import best_em_f1  # noqa: E402
from bot.retrieval import Query  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "squad-sample" / "squad-dev-v1.1-sample.json"


@dataclass
class Row:
    """One answerable question: its prepared query, the gold sentence, the sentence the bot cites."""

    article: str
    split: str
    query: Query
    golds: tuple[str, ...]
    gold_sentence: str
    cited_sentence: str
    abstained: bool


def collect(path: Path) -> list[Row]:
    """Run the real pipeline over every answerable question of the sample, one corpus per article."""
    from bot.embedding import shared_encoder
    from bot.pipeline import RANK_DEPTH, Pipeline
    from bot.settings import Settings
    from bot.squad import sentence_at, squad_suite
    from bot.store import embed_articles

    suite = squad_suite(json.loads(path.read_text()), path)
    encoder, settings = shared_encoder(), Settings()
    order = list(suite.corpora)
    rows: list[Row] = []
    for number, key in enumerate(order):
        (article,) = suite.corpora[key]
        pipe = Pipeline(settings, embed_articles((article,), encoder, settings.chunk_tokens, settings.chunk_overlap),
                        encoder)
        cases = [c for c in suite.cases if c.corpus == key and c.turns[0].expect.gold_spans]
        questions = [c.turns[0].question for c in cases]
        queries = pipe.retriever.prepare(questions)
        for case, query in zip(cases, queries):
            expect = case.turns[0].expect
            gold_index = sentence_at(article, expect.gold_spans[0][1])
            hits = pipe.retriever.rank(query, RANK_DEPTH)
            conf = answer.confidence(hits[0], query, pipe.missing(query, hits)) if hits else 0.0
            cited = article.sentences[hits[0].index].text if hits else ""
            rows.append(Row(key, "AB"[number % 2], query, expect.answers, article.sentences[gold_index].text,
                            cited, conf < settings.abstain_threshold))
        print(f"{key}: {len(cases)} questions", file=sys.stderr)
    return rows


VECTORS: dict[str, tuple] = {}  # sentence -> (token vectors, piece ids); empty: soft-anchor features off
SYNTAX: dict[str, object] = {}  # sentence -> its dependency parse (bot/syntax.py); empty: syntax features off


def sentence_vectors(rows: list[Row], cache: Path) -> dict[str, tuple]:
    """Token vectors and piece ids of every gold and cited sentence, as the index stores them
    (``encode_with_tokens``), cached next to the retrieval cache."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    from bot.embedding import shared_encoder

    texts = sorted({r.gold_sentence for r in rows} | {r.cited_sentence for r in rows if r.cited_sentence})
    _, mats, ids = shared_encoder().encode_with_tokens(texts)
    out = {t: (m.astype("float16"), i) for t, m, i in zip(texts, mats, ids)}
    cache.write_bytes(pickle.dumps(out))
    return out


def sentence_parses(rows: list[Row], cache: Path) -> dict[str, object]:
    """The dependency parse of every gold and cited sentence (bot/syntax.py), cached like the vectors."""
    from bot.syntax import SyntaxMatrix, model_id, parse_texts

    if cache.exists():
        texts, arrays = pickle.loads(cache.read_bytes())
        matrix = SyntaxMatrix(**arrays)
    else:
        texts = sorted({r.gold_sentence for r in rows} | {r.cited_sentence for r in rows if r.cited_sentence})
        matrix = parse_texts(texts)
        if matrix is None:
            sys.exit("spaCy or its English model is not installed: run with --no-syntax")
        cache.write_bytes(pickle.dumps((texts, matrix.arrays() | {"model": matrix.model})))
    if matrix.model != model_id():
        print(f"note: parses cached by {matrix.model}, installed: {model_id()}", file=sys.stderr)
    return {t: matrix.sentence(i) for i, t in enumerate(texts)}


MODE = "bot"  # "bot": answer.short_answer (typed path first); "generic": the extractor alone for every question


WRONG_COST = 0.5  # a highlight sharing no word with the answer costs half of what a right one earns


def score(rows: list[Row], which: str, threshold: float | None = None) -> dict[str, float]:
    """Mean EM/F1 (null counts 0), coverage, share of wrong highlights (F1 = 0) and the utility
    (mean of F1 - WRONG_COST * wrong over all questions) of the short answer on the ``which`` sentence."""
    em = f1 = covered = wrong = 0.0
    for row in rows:
        sentence = row.gold_sentence if which == "gold" else row.cited_sentence
        if MODE == "bot" and threshold is None:
            span = answer.short_answer(sentence, row.query, VECTORS.get(sentence), SYNTAX.get(sentence))
        else:
            preferred = answer._typed_span(sentence, row.query) if row.query.kind and MODE == "bot" else None
            span = None if MODE == "bot" and row.query.kind in KINDS and not preferred and \
                answer_types.spans(sentence, row.query.kind) else \
                extract.best_span(sentence, row.query, threshold, preferred, VECTORS.get(sentence), SYNTAX.get(sentence))
        if which == "bot" and row.abstained:
            span = None
        if span:
            e, f = best_em_f1(sentence[span[0]:span[1]], row.golds)
            em, f1, covered, wrong = em + e, f1 + f, covered + 1, wrong + (f == 0)
    n = max(1, len(rows))
    return {"n": len(rows), "em": 100 * em / n, "f1": 100 * f1 / n, "coverage": 100 * covered / n,
            "f1_answered": 100 * f1 / max(1, covered), "wrong": 100 * wrong / n,
            "utility": 100 * (f1 - WRONG_COST * wrong) / n}


def table(rows: list[Row]) -> None:
    """The summary: gold sentence, cited sentence, and the bot's answer (abstentions count as null)."""
    groups = {"all": rows, "typed": [r for r in rows if r.query.kind], "untyped": [r for r in rows if not r.query.kind],
              "split A": [r for r in rows if r.split == "A"], "split B": [r for r in rows if r.split == "B"]}
    print(f"{'sentence':<8} {'group':<8} {'n':>5} {'EM':>6} {'F1':>6} {'cover%':>7} {'F1|ans':>7}")
    for which in ("gold", "cited", "bot"):
        for name, group in groups.items():
            s = score(group, which)
            print(f"{which:<8} {name:<8} {s['n']:>5} {s['em']:>6.1f} {s['f1']:>6.1f} {s['coverage']:>7.1f} "
                  f"{s['f1_answered']:>7.1f}")


def sweep(rows: list[Row]) -> None:
    """The F1/coverage trade-off over the threshold on expected F1 (gold sentences, all questions),
    and the held-out check: the threshold with the best utility on one split, scored on the other."""
    grid = [x / 20 for x in range(0, 13)]
    print("threshold " + "".join(f"  {h}: F1  cover  wrong  util" for h in "AB"))
    results = {}
    for t in grid:
        results[t] = {h: score([r for r in rows if r.split == h], "gold", t) for h in "AB"}
        print(f"{t:>9.2f} " + "".join(f"  {results[t][h]['f1']:5.1f} {results[t][h]['coverage']:5.1f} "
                                      f"{results[t][h]['wrong']:5.1f} {results[t][h]['utility']:5.1f}" for h in "AB"))
    for fit_on, test in (("A", "B"), ("B", "A")):
        best = max(grid, key=lambda t: results[t][fit_on]["utility"])
        r = results[best][test]
        print(f"threshold fitted on {fit_on}: {best}; held-out {test}: F1 {r['f1']:.1f}, coverage {r['coverage']:.1f}%, "
              f"wrong {r['wrong']:.1f}%, utility {r['utility']:.1f}")


def fit(rows: list[Row], split: str, l2: float = 1.0, power: float = 2.0) -> dict[str, float]:
    """Weights of the candidate features by conditional logit (softmax over one sentence's candidates)
    with soft targets proportional to each candidate's squared F1 against the gold answers, on the gold
    sentences of the questions of ``split``; L2-regularised, fitted with L-BFGS."""
    import numpy as np
    from scipy.optimize import minimize

    from bot.metrics import f1_score
    groups, names = [], {}
    for row in rows:
        if row.split != split:
            continue
        sentence, q = row.gold_sentence, row.query
        preferred = answer._typed_span(sentence, q) if q.kind else None
        vec = VECTORS.get(sentence)
        sims = extract.sentence_sims(sentence, vec, q)
        toks, spans, feats = span_features.candidate_features(sentence, q.text, q.terms, q.kind, preferred, sims,
                                                              SYNTAX.get(sentence))
        if not spans:
            continue
        target = np.array([max(f1_score(sentence[toks[i].start:toks[j - 1].end], g) for g in row.golds) ** power
                           for i, j in spans])
        if target.max() <= 0:
            continue
        for f in feats:
            for k in f:
                names.setdefault(k, len(names))
        groups.append((feats, target / target.sum()))
    index = list(names)
    mats = []
    for feats, target in groups:
        x = np.zeros((len(feats), len(names)))
        for r, f in enumerate(feats):
            for k, v in f.items():
                x[r, names[k]] = v
        mats.append((x, target))

    def loss(w):
        total, grad = l2 * w @ w / 2, l2 * w
        for x, t in mats:
            z = x @ w
            z -= z.max()
            p = np.exp(z)
            p /= p.sum()
            total -= t @ np.log(p + 1e-12)
            grad = grad + x.T @ (p - t)
        return total, grad

    result = minimize(loss, np.zeros(len(names)), jac=True, method="L-BFGS-B")
    return {k: round(float(v), 3) for k, v in zip(index, result.x) if abs(v) >= 0.001}


def choose_l2(rows: list[Row], grid: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)) -> None:
    """The L2 penalty chosen inside split A alone: leave one of A's articles out, fit on the other
    two, score the extractor on the gold sentences of the one left out (B stays unseen)."""
    import dataclasses

    a_rows = [r for r in rows if r.split == "A"]
    articles = sorted({r.article for r in a_rows})
    for l2 in grid:
        gold = bot = 0.0
        for held in articles:
            folds = [dataclasses.replace(r, split="T" if r.article != held else "H") for r in a_rows]
            extract.set_weights(fit(folds, "T", l2), syntax=bool(SYNTAX))
            test = [r for r in folds if r.split == "H"]
            gold += score(test, "gold")["f1"] * len(test)
            bot += score(test, "bot")["f1"] * len(test)
        print(f"L2 {l2}: split A, each article left out once: gold F1 {gold / len(a_rows):.2f}, "
              f"bot F1 {bot / len(a_rows):.2f}", flush=True)


def write_weights(weights: dict[str, float], split: str, name: str = "WEIGHTS") -> None:
    """Store ``weights`` as the set ``name`` of bot/span_weights.json."""
    from bot import span_weights

    span_weights.write(name, weights)
    print(f"weights fitted on split {split} written to {span_weights.FILE} ({name})", file=sys.stderr)


def span_outputs(rows: list[Row]) -> list[tuple]:
    """Per question, for its gold and its cited sentence: the short answer and every candidate's
    (expected F1, probability, span) as answering computes them (the --snapshot / --check modes)."""
    out = []
    for row in rows:
        for sentence in (row.gold_sentence, row.cited_sentence):
            q, vec = row.query, VECTORS.get(sentence)
            preferred = answer._typed_span(sentence, q) if q.kind else None
            sims = extract.sentence_sims(sentence, vec, q)
            parse = SYNTAX.get(sentence)
            out.append((answer.short_answer(sentence, q, vec, parse),
                        extract.scored(sentence, q.text, q.terms, q.kind, preferred, sims, parse)))
    return out


def check(rows: list[Row], path: Path) -> int:
    """Compare the extractor's outputs with a --snapshot taken before a change meant to keep them:
    same spans, same expected F1 and probabilities within 1e-9. Returns the number of differences."""
    before, after = pickle.loads(path.read_bytes()), span_outputs(rows)
    assert len(before) == len(after), "snapshot of another sample"
    bad = 0
    for (span0, ranked0), (span1, ranked1) in zip(before, after):
        same = span0 == span1 and len(ranked0) == len(ranked1) and all(
            s0 == s1 and abs(e0 - e1) <= 1e-9 and abs(p0 - p1) <= 1e-9
            for (e0, p0, s0), (e1, p1, s1) in zip(ranked0, ranked1))
        bad += not same
    print(f"{len(after)} sentences checked, {bad} differ", file=sys.stderr)
    return bad


def speed(runs: int = 200) -> None:
    """Median time of ``extract.best_span`` per answer (wall and process CPU time) on the bundled
    article's latency questions (bench/latency.py), with everything before it prepared once: with the
    sentences' dependency parses (as answering runs) and without them (the syntax-free weights)."""
    import shutil
    import statistics
    import time

    sys.path.insert(0, str(ROOT / "bench"))
    from latency import QUESTIONS, bundled_copy

    from bot.embedding import Encoder
    from bot.pipeline import RANK_DEPTH, Pipeline
    from bot.settings import Settings

    base = bundled_copy()
    pipe = Pipeline.open(Settings(corpus_dir=base / "corpus", index_dir=base / "index"),
                         encoder=Encoder(prefer_onnx=True))
    r, calls = pipe.retriever, []
    for query in r.prepare(list(QUESTIONS)):
        hits = r.rank_fused([(query, 1.0)], RANK_DEPTH)
        if not hits:
            continue
        sentence = pipe.articles[hits[0].article_id].sentences[hits[0].index].text
        preferred = answer._typed_span(sentence, query) if query.kind else None
        calls.append((sentence, query, preferred, answer._row(r.tokens, hits[0]), answer._row(pipe.syntax, hits[0])))
    shutil.rmtree(base, ignore_errors=True)
    for label, use_parse in (("with parses", True), ("without parses", False)):
        for sentence, query, preferred, vec, parse in calls:  # warm caches as a running bot has them
            extract.best_span(sentence, query, preferred=preferred, vectors=vec, parse=parse if use_parse else None)
        wall, cpu = [], []
        for _ in range(runs):
            for sentence, query, preferred, vec, parse in calls:
                w, c = time.perf_counter(), time.process_time()
                extract.best_span(sentence, query, preferred=preferred, vectors=vec, parse=parse if use_parse else None)
                cpu.append(time.process_time() - c)
                wall.append(time.perf_counter() - w)
        print(f"best_span {label}, {len(calls)} questions x {runs}: median wall {1000 * statistics.median(wall):.3f} ms, "
              f"median process {1000 * statistics.median(cpu):.3f} ms, mean process {1000 * statistics.fmean(cpu):.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/short_answers.pkl"))
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--fit", choices=("A", "B"), help="fit the feature weights on this split and print them")
    parser.add_argument("--write", action="store_true", help="with --fit: store the weights in bot/extract.py")
    parser.add_argument("--l2", type=float, help="with --fit: L2 penalty (default 0.5 with the syntax "
                        "features, 1 without: chosen by --choose-l2)")
    parser.add_argument("--choose-l2", action="store_true", help="pick the L2 penalty inside split A "
                        "(leave one article out), then stop")
    parser.add_argument("--power", type=float, default=2.0, help="with --fit: soft targets proportional to F1 ** power")
    parser.add_argument("--generic", action="store_true", help="the extractor alone, typed path off")
    parser.add_argument("--no-soft", action="store_true", help="soft-anchor (token vector) features off")
    parser.add_argument("--no-syntax", action="store_true", help="dependency-parse features off (the syntax-free weights)")
    parser.add_argument("--speed", action="store_true", help="time best_span on the bundled article, then stop")
    parser.add_argument("--snapshot", type=Path, help="store every gold/cited sentence's spans and scores here")
    parser.add_argument("--check", type=Path, help="compare the spans and scores with a --snapshot; exit 1 if any differ")
    args = parser.parse_args()
    if args.speed:
        speed()
        return
    global MODE
    MODE = "generic" if args.generic else "bot"
    if args.cache.exists():
        rows = pickle.loads(args.cache.read_bytes())
    else:
        rows = collect(args.sample)
        args.cache.write_bytes(pickle.dumps(rows))
    if not args.no_soft:
        VECTORS.update(sentence_vectors(rows, args.cache.with_suffix(".vectors.pkl")))
    if not args.no_syntax:
        SYNTAX.update(sentence_parses(rows, args.cache.with_suffix(".syntax.pkl")))
    if args.snapshot:
        args.snapshot.write_bytes(pickle.dumps(span_outputs(rows)))
        return
    if args.check:
        sys.exit(1 if check(rows, args.check) else 0)
    if args.choose_l2:
        choose_l2(rows)
        return
    if args.fit:
        l2 = args.l2 if args.l2 is not None else (0.5 if SYNTAX else 1.0)
        weights = fit(rows, args.fit, l2, args.power)
        if args.write:
            write_weights(weights, args.fit, "SYNTAX_WEIGHTS" if SYNTAX else "WEIGHTS")
        print(json.dumps(weights, sort_keys=True))
        extract.set_weights(weights, syntax=bool(SYNTAX))
    table(rows)
    if args.sweep:
        sweep(rows)


if __name__ == "__main__":
    main()
