"""Dump retrieval signals for the SQuAD sample, for fusion and confidence experiments.

Per question: the feature matrix of every sentence of its article, which sentences hold a gold answer,
and the pipeline's abstention inputs. Off-topic questions are made by asking each article questions
taken from the other articles (a fixed-seed sample). Used by bench/fit_fusion.py; not product code.
"""
from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from bot.answer_types import asks_count, has_number
from bot.corpus import article_from_paragraphs
from bot.squad import gold_offset, sentence_at
from bot.embedding import shared_encoder
from bot.pipeline import Pipeline
from bot.settings import Settings
from bot.store import embed_articles


def main(paths: list[str], out: str) -> None:
    enc = shared_encoder()
    rows = []
    rng = random.Random(13)
    arts = [(Path(p).stem, a) for p in paths for a in json.loads(Path(p).read_text())["data"]]
    all_questions = [(a["title"], q["question"]) for _, a in arts for p in a["paragraphs"] for q in p["qas"]
                     if not q.get("is_impossible")]
    for source, art in arts:
        t = time.time()
        article = article_from_paragraphs(art["title"], art["title"], [p["context"] for p in art["paragraphs"]])
        pipe = Pipeline(Settings(), embed_articles((article,), enc, 96, 1), enc)
        retr = pipe.retriever
        qs = [(q["question"], [a["text"] for a in q.get("answers", [])], bool(q.get("is_impossible")), "squad")
              for p in art["paragraphs"] for q in p["qas"]]
        # the stricter gold of `articlebot eval`: the sentence holding an answer's answer_start
        starts = [{sentence_at(article, o) for a in q.get("answers", [])
                   if (o := gold_offset(article, i, p["context"], a["answer_start"], a["text"])) is not None}
                  for i, p in enumerate(art["paragraphs"]) for q in p["qas"]]
        foreign = [q for title, q in all_questions if title != art["title"]]
        qs += [(q, [], True, "foreign") for q in rng.sample(foreign, 60)]
        starts += [set()] * 60
        queries = retr.prepare([q for q, *_ in qs])
        cand = np.arange(retr.index.n_sentences)
        for (question, golds, impossible, origin), query, held in zip(qs, queries, starts):
            feats = retr.features(query, cand)
            gold = np.array([any(g.lower() in s.text.lower() for g in golds) for s in article.sentences])
            hits = retr.rank(query, 2)
            rows.append(dict(source=source, article=art["title"], question=question, kind=query.kind or "",
                             feats=feats, gold=gold, impossible=impossible, origin=origin,
                             gold_start=np.isin(np.arange(len(article.sentences)), sorted(held - {None})),
                             missing=pipe.missing(query, hits), rival=pipe.rival(query, hits),
                             no_number=float(bool(hits) and asks_count(question)
                                             and not has_number(article.sentences[hits[0].index].text))))
        print(source, art["title"], len(qs), f"{time.time() - t:.1f}s", file=sys.stderr)
    np.save(out, np.array(rows, dtype=object), allow_pickle=True)


if __name__ == "__main__":
    main(sys.argv[1:-1], sys.argv[-1])
