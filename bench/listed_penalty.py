"""SQuAD effect of demoting sentences that name the asked name only in a list of its siblings
(bot/rivals.py ``listed_only`` / ``demote_listed``), from a bench/squad_signals.py dump.

Ranking: answer-sentence@1/@3 on the v1.1 answerable questions (and under the stricter answer_start
gold) for several penalties. Abstention: the v2.0 + off-topic table at the default threshold, with the
confidence inputs that depend on the top sentence (rival, no_number) recomputed for the new top.
Usage: .venv/bin/python bench/listed_penalty.py /tmp/sig.npy v1.1-sample.json v2.0-sample.json
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from bot.answer import CONFIDENCE_BIAS, CONFIDENCE_WEIGHTS
from bot.answer_types import asks_count, has_number
from bot.corpus import article_from_paragraphs
from bot.lexical import entity_terms
from bot.retrieval import SIGNALS, Weights
from bot.rivals import listed_only, rivalled, sibling_map

PENALTIES = (0.0, 0.25, 0.5, 0.75, 1.0, 2.0)


def main(dump: str, files: list[str]) -> None:
    texts = {}
    for f in files:
        for a in json.load(open(f))["data"]:
            article = article_from_paragraphs(a["title"], a["title"], [p["context"] for p in a["paragraphs"]])
            texts[Path(f).stem, a["title"]] = [s.text for s in article.sentences]  # v2.0 reuses titles
    siblings = {title: sibling_map(t) for title, t in texts.items()}
    rows = list(np.load(dump, allow_pickle=True))
    w = Weights().vector()
    for r in rows:
        r["key"] = r["source"], r["article"]
        names, sib = entity_terms(r["question"]), siblings[r["key"]]
        r["listed"] = np.array([listed_only(names, t, sib) for t in texts[r["key"]]], dtype=float)
        r["base"] = r["feats"] @ w
    v1 = [r for r in rows if r["source"].endswith("v1.1-sample") and r["origin"] == "squad" and r["gold"].any()]
    pool = [r for r in rows if r["source"].endswith("v2.0-sample")]
    print(f"v1.1 answerable: {len(v1)}; with a listed-only sentence: {sum(r['listed'].any() for r in v1)}")
    for penalty in PENALTIES:
        h1 = h3 = s1 = s3 = strict = moved = 0
        for r in v1:
            order = np.argsort(-(r["base"] - penalty * r["listed"]), kind="stable")
            moved += order[0] != np.argmax(r["base"])
            h1 += r["gold"][order[0]]
            h3 += r["gold"][order[:3]].any()
            if r["gold_start"].any():
                strict += 1
                s1 += r["gold_start"][order[0]]
                s3 += r["gold_start"][order[:3]].any()
        print(f"penalty {penalty:4.2f}: @1={h1 / len(v1):.4f} @3={h3 / len(v1):.4f} "
              f"(answer_start gold @1={s1 / strict:.4f} @3={s3 / strict:.4f}); top changed for {moved} | "
              + abstention(pool, texts, siblings, penalty))


def abstention(pool: list[dict], texts: dict, siblings: dict, penalty: float, threshold: float = 0.4) -> str:
    """The fit_fusion.py table row at ``threshold``, with the re-ranked top sentence."""
    answered_has = declined_no = declined_adv = declined_off = declined = wrong_declines = 0
    n_has = n_no = n_adv = n_off = 0
    for r in pool:
        top = int(np.argmax(r["base"] - penalty * r["listed"]))
        text = texts[r["key"]][top]
        values = dict(zip(SIGNALS, r["feats"][top]), missing=r["missing"],
                      rival=float(bool(entity_terms(r["question"]))
                                  and rivalled(entity_terms(r["question"]), text, siblings[r["key"]])),
                      no_number=float(asks_count(r["question"]) and not has_number(text)))
        z = CONFIDENCE_BIAS + sum(wt * values.get(name, 0.0) for name, wt in CONFIDENCE_WEIGHTS.items())
        abstained = 1 / (1 + math.exp(-z)) < threshold
        if r["impossible"]:
            n_no += 1
            declined_no += abstained
            if r["origin"] == "foreign":
                n_off += 1
                declined_off += abstained
            else:
                n_adv += 1
                declined_adv += abstained
        else:
            n_has += 1
            answered_has += not abstained
            wrong_declines += abstained
        declined += abstained
    return (f"thr {threshold}: answered(HasAns)={answered_has / n_has:.3f} NoAns declined={declined_no / n_no:.3f} "
            f"[adversarial {declined_adv / n_adv:.3f}, off-topic {declined_off / n_off:.3f}] "
            f"precision={(declined - wrong_declines) / max(declined, 1):.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
