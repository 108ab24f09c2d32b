"""Fusion and confidence experiments on dumped SQuAD signals (bench/squad_signals.py).

Ranking: hit@1/@3 on SQuAD v1.1 answerable questions for single signals, the shipped weights, and a
logistic fit on half the articles scored on the other half (fixed split, both ways).
Confidence: a logistic fit of "the top sentence answers it" on v2.0 + off-topic questions, scored
article-wise held out. Not part of the product.
"""
from __future__ import annotations

import sys

import numpy as np

from bot.answer import CONFIDENCE_BIAS, CONFIDENCE_WEIGHTS
from bot.retrieval import SIGNALS, Weights


def ranked(r, w):
    s = r["feats"] @ w
    return np.argsort(-s, kind="stable"), s


def hits(rows, w):
    h1 = h3 = n = 0
    for r in rows:
        order, _ = ranked(r, w)
        h1 += r["gold"][order[0]]
        h3 += r["gold"][order[:3]].any()
        n += 1
    return h1 / n, h3 / n, n


def rrf(rows, k: int = 60):
    """The issue's reference: reciprocal-rank fusion of BM25 and dense (LlamaIndex/Haystack style)."""
    h1 = h3 = 0
    b, d = SIGNALS.index("bm25"), SIGNALS.index("dense")
    for r in rows:
        score = sum(1.0 / (k + 1 + np.argsort(np.argsort(-r["feats"][:, i], kind="stable"), kind="stable"))
                    for i in (b, d))
        order = np.argsort(-score, kind="stable")
        h1 += r["gold"][order[0]]
        h3 += r["gold"][order[:3]].any()
    return h1 / len(rows), h3 / len(rows)


def fit_rank(rows):
    from sklearn.linear_model import LogisticRegression

    X = np.vstack([r["feats"] for r in rows])
    y = np.concatenate([r["gold"] for r in rows])
    return LogisticRegression(C=1.0, max_iter=3000).fit(X, y).coef_[0]


CONF = ["dense", "window", "coverage", "maxsim", "entity", "missing", "rival", "no_number", "margin"]


def conf_features(r, w):
    order, s = ranked(r, w)
    top = dict(zip(SIGNALS, r["feats"][order[0]]))
    margin = s[order[0]] - s[order[1]] if len(order) > 1 else 1.0
    return [top["dense"], top["window"], top["coverage"], top["maxsim"], top["entity"], r["missing"],
            r.get("rival", 0.0), r.get("no_number", 0.0), margin], not r["impossible"]


def main(path, ranking_only: bool = False):
    rows = list(np.load(path, allow_pickle=True))
    v1 = [r for r in rows if r["source"].endswith("v1.1-sample") and r["origin"] == "squad" and r["gold"].any()]
    print("v1.1 answerable with a gold sentence:", len(v1))
    for i, name in enumerate(SIGNALS):
        w = np.zeros(len(SIGNALS)); w[i] = 1
        print(f"  {name:10s} @1={hits(v1, w)[0]:.3f} @3={hits(v1, w)[1]:.3f}")
    shipped = Weights().vector()
    print("  shipped    @1=%.3f @3=%.3f n=%d" % hits(v1, shipped))
    print("  reciprocal-rank fusion of bm25 and dense (k=60) @1=%.3f @3=%.3f" % rrf(v1))
    if "gold_start" in v1[0]:  # `articlebot eval`'s gold: the sentence holding answer_start
        strict = [dict(r, gold=r["gold_start"]) for r in v1 if r["gold_start"].any()]
        print("  gold = sentence holding answer_start: shipped @1=%.3f @3=%.3f n=%d" % hits(strict, shipped),
              "| rank fusion @1=%.3f @3=%.3f" % rrf(strict))
    arts = sorted({r["article"] for r in v1})
    a, b = set(arts[::2]), set(arts[1::2])
    for train, test in ((a, b), (b, a)):
        w = fit_rank([r for r in v1 if r["article"] in train])
        t = [r for r in v1 if r["article"] in test]
        print("  fit on", sorted(train), np.round(w / w[0], 2))
        print("     held-out @1=%.3f @3=%.3f n=%d" % hits(t, w), "| shipped there @1=%.3f @3=%.3f" % hits(t, shipped)[:2])

    if ranking_only:  # a pooled dump (squad_signals.py --pool) has no unanswerable questions
        return
    # confidence: v2 (answerable + impossible) and off-topic questions
    from sklearn.linear_model import LogisticRegression

    pool = [r for r in rows if r["source"].endswith("v2.0-sample")]
    X, y, grp, impossible, foreign = [], [], [], [], []
    for r in pool:
        f, ok = conf_features(r, shipped)
        X.append(f); y.append(ok); grp.append(r["article"]); impossible.append(r["impossible"])
        foreign.append(r["origin"] == "foreign")
    X, y, grp, impossible, foreign = map(np.array, (X, y, grp, impossible, foreign))
    model = LogisticRegression(C=1.0, max_iter=3000).fit(X, y)
    print("confidence fit on all v2+foreign:", dict(zip(CONF, np.round(model.coef_[0], 2))), round(model.intercept_[0], 2))
    shipped_z = np.array([CONFIDENCE_BIAS + sum(CONFIDENCE_WEIGHTS.get(n, 0) * x[i] for i, n in enumerate(CONF)) for x in X])
    for name, probs in (("shipped", 1 / (1 + np.exp(-shipped_z))),
                        ("held-out fit", _held_out(X, y, grp))):
        for thr in (0.2, 0.3, 0.4, 0.5, 0.6):
            abst = probs < thr
            ans_rate = (~abst[~impossible]).mean()
            noans_rec = abst[impossible].mean()
            prec = impossible[abst].mean() if abst.any() else 0
            print(f"  {name:12s} thr={thr:.1f} answered(HasAns)={ans_rate:.3f} abstain recall(NoAns)={noans_rec:.3f} "
                  f"[adversarial {abst[impossible & ~foreign].mean():.3f}, off-topic {abst[foreign].mean():.3f}] "
                  f"abstain precision={prec:.3f}")


def _held_out(X, y, grp):
    from sklearn.linear_model import LogisticRegression

    probs = np.zeros(len(y))
    for g in sorted(set(grp)):
        m = LogisticRegression(C=1.0, max_iter=3000).fit(X[grp != g], y[grp != g])
        probs[grp == g] = m.predict_proba(X[grp == g])[:, 1]
    return probs


if __name__ == "__main__":
    main(sys.argv[1], "--ranking" in sys.argv[2:])


def coordinate_ascent(rows, start: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Greedy per-weight search maximising hit@1 (+ hit@3 / 10 as tie-break) on ``rows``."""
    grid = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3]
    w = start.copy()

    def objective(v):
        h1, h3, _ = hits(rows, v)
        return h1 + h3 / 10

    best = objective(w)
    for _ in range(rounds):
        for i in range(1, len(w)):  # dense stays 1.0: the scale
            for value in grid:
                trial = w.copy()
                trial[i] = value
                score = objective(trial)
                if score > best + 1e-9:
                    best, w = score, trial
    return w


def ascent_report(path):
    rows = list(np.load(path, allow_pickle=True))
    v1 = [r for r in rows if r["source"].endswith("v1.1-sample") and r["origin"] == "squad" and r["gold"].any()]
    arts = sorted({r["article"] for r in v1})
    a, b = set(arts[::2]), set(arts[1::2])
    for train, test in ((a, b), (b, a)):
        w = coordinate_ascent([r for r in v1 if r["article"] in train], Weights().vector())
        t = [r for r in v1 if r["article"] in test]
        print("ascent on", sorted(train), dict(zip(SIGNALS, np.round(w, 2))))
        print("   held-out @1=%.3f @3=%.3f" % hits(t, w)[:2], "| shipped there @1=%.3f @3=%.3f" % hits(t, Weights().vector())[:2])
