"""Work that does not need the question's embedding, done on the other core while the model runs.

Why: encoding a question with onnxruntime keeps about 1.5 of this machine's 2 cores busy (measured:
3.0 s of CPU in 2.1 s of wall time over 360 questions), and a question's lexical evidence (its terms,
BM25, coverage, the answer-kind signal) needs none of the embedding. Done in a worker thread while the
model runs, it costs the answer ~0.3 ms less and the model ~0.04 ms more.

The job must start only once the model has released the GIL: a job started before the encoder's own
Python part (tokenizer, input arrays) holds the GIL that part needs, and the two then run in turn (an
earlier attempt, which submitted the job before encoding, measured no gain). So the encoder calls
:meth:`Job.release` right before the forward pass, and :meth:`Job.result` runs a job no worker took in
the calling thread: the answer never depends on the worker being there.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_PENDING, _RUNNING, _DONE = range(3)


class Job(Generic[T]):
    """One piece of work, run exactly once: by the worker if released in time, else by :meth:`result`."""

    def __init__(self, work: Callable[[], T], worker: Worker) -> None:
        self._work = work
        self._worker = worker
        self._state = _PENDING
        self._claim = threading.Lock()
        self._done = threading.Lock()  # held until the job has run; waiting for it is acquiring it. A
        self._done.acquire()  # plain lock, not an Event: its Condition is Python code, on every question
        self._value: T | None = None
        self._error: BaseException | None = None

    def release(self) -> None:
        """Hand the job to the worker thread (the caller is about to release the GIL for a while)."""
        if self._state == _PENDING:
            self._worker.put(self)

    def run(self) -> None:
        """Run the job unless someone already did or is doing it."""
        with self._claim:
            if self._state != _PENDING:
                return
            self._state = _RUNNING
        try:
            self._value = self._work()
        except BaseException as exc:  # handed to the caller of result(), which raises it there
            self._error = exc
        finally:
            self._state = _DONE
            self._done.release()

    def result(self) -> T:
        """The job's value (its exception re-raised here), running it now if no worker has started it."""
        if self._state != _DONE:  # usually done by then (the model takes longer): no lock is taken
            self.run()
            with self._done:  # whoever runs it releases this once it has finished
                pass
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class Worker:
    """One daemon thread taking released jobs in order, started on first use."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def job(self, work: Callable[[], T]) -> Job[T]:
        return Job(work, self)

    def put(self, job: Job) -> None:
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="articlebot-overlap", daemon=True)
                    self._thread.start()
        self._jobs.put(job)

    def _loop(self) -> None:
        while True:
            self._jobs.get().run()


shared_worker = Worker()  # one thread for the process: a question's jobs are short and taken in order
