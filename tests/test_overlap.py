"""The lexical half of a question runs on the other core while the model encodes it (bot/overlap.py):
it must run exactly once, give the very numbers computed after the embedding, and never be needed."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from bot.overlap import Worker
from bot.retrieval import Query

QUESTIONS = ["How much did Liaoning invest?", "Where is the integrated AMT workshop?",
             "What share of Heilongjiang's GDP is its digital economy?", "Who won the football match?"]


def test_a_released_job_runs_once_in_the_worker():
    worker, ran = Worker(), []
    job = worker.job(lambda: ran.append(threading.current_thread().name) or 42)
    job.release()
    time.sleep(0.5)  # the caller lets go of the GIL, as the model's forward pass does
    assert job.result() == 42
    job.release()  # released again after it ran: nothing more happens
    assert job.result() == 42 and ran == ["articlebot-overlap"]


def test_a_job_never_released_runs_in_the_caller():
    job = Worker().job(lambda: threading.current_thread().name)
    assert job.result() == threading.current_thread().name


def test_a_job_taken_by_the_caller_is_not_run_again_by_the_worker():
    worker, calls = Worker(), []
    blocker = threading.Event()
    first = worker.job(lambda: blocker.wait(5))  # keeps the worker busy
    first.release()
    second = worker.job(lambda: calls.append(1) or len(calls))
    second.release()  # queued behind the first: the caller takes it
    assert second.result() == 1
    blocker.set()
    first.result()
    third = worker.job(lambda: "after")
    third.release()
    assert third.result() == "after" and calls == [1]


def test_a_failing_job_raises_in_the_caller():
    job = Worker().job(lambda: 1 / 0)
    job.release()
    with pytest.raises(ZeroDivisionError):
        job.result()


def test_lexical_signals_found_during_encoding_equal_the_ones_found_after(pipeline):
    retriever = pipeline.retriever
    seen = []
    encode = retriever.encoder.encode_with_tokens

    def spy(texts, started=None):
        seen.append(started is not None)
        return encode(texts, started=started)

    retriever.encoder.encode_with_tokens = spy
    try:
        queries = retriever.prepare(QUESTIONS)
    finally:
        del retriever.encoder.encode_with_tokens
    assert seen == [True]
    for query in queries:
        assert query.lexical is not None and query.vector is not None and query.tokens is not None
        plain = Query(query.text, query.terms, query.kind, query.entities, query.vector, query.tokens,
                      query.token_ids, query.pairs)  # no precomputed columns: everything after the embedding
        every = retriever._every
        assert np.array_equal(retriever.features(query, every), retriever.features(plain, every))
        assert [(h.sentence, h.score) for h in retriever.rank(query, 10)] == \
            [(h.sentence, h.score) for h in retriever.rank(plain, 10)]
