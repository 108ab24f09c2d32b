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


def main_pooled(path: str, out: str) -> None:
    """``--pool``: every article of ``path`` in ONE corpus; each question's rows cover all sentences, its
    gold sentences only those of its own article (the issue's pooled measure)."""
    enc = shared_encoder()
    data = json.loads(Path(path).read_text())["data"]
    articles = [article_from_paragraphs(a["title"], a["title"], [p["context"] for p in a["paragraphs"]]) for a in data]
    pipe = Pipeline(Settings(), embed_articles(tuple(articles), enc, 96, 1), enc)
    retr, cand = pipe.retriever, np.arange(pipe.retriever.index.n_sentences)
    rows = []
    for a, (art, article) in enumerate(zip(data, articles)):
        t = time.time()
        base = int(retr.index.article_offset[a])
        qs = [(q["question"], [x["text"] for x in q["answers"]]) for p in art["paragraphs"] for q in p["qas"]]
        for (question, golds), query in zip(qs, retr.prepare([q for q, _ in qs])):
            gold = np.zeros(len(cand), bool)
            gold[base:base + len(article.sentences)] = [any(g.lower() in s.text.lower() for g in golds)
                                                         for s in article.sentences]
            rows.append(dict(source=Path(path).stem, article=art["title"], question=question, kind=query.kind or "",
                             feats=retr.features(query, cand), gold=gold, impossible=False, origin="squad"))
        print("pooled", art["title"], len(qs), f"{time.time() - t:.1f}s", file=sys.stderr)
    np.save(out, np.array(rows, dtype=object), allow_pickle=True)


if __name__ == "__main__":
    if sys.argv[1] == "--pool":  # squad_signals.py --pool v1.1.json out.npy; then fit_fusion.py out.npy --ranking
        main_pooled(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:-1], sys.argv[-1])
