"""Answer many chats' questions together, off the event loop.

Why: the bot's event loop must keep taking updates and sending replies while the model embeds a
question (tens of milliseconds to seconds on a CPU). And one batched embedding call for twenty
questions costs far less than twenty calls, so questions that arrive within a few milliseconds of each
other are collected and answered with one ``pipeline.answer_many`` in a worker thread.

Why conversations are copied: PTB deep-copies ``chat_data`` for persistence on the event loop; a worker
thread mutating the same ``Conversation`` at that moment could break the copy. So the worker gets a
private copy (``Conversation.copy``: the turns, sharing the frozen hits) and the caller stores the
updated copy back on the loop. Callers keep one request per chat in flight at a time (the Telegram
adapter holds a per-chat lock), so no update is lost.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from .answer import Answer
from .conversation import Conversation
from .pipeline import Pipeline

log = logging.getLogger(__name__)


@dataclass
class _Job:
    question: str | None  # None: next-best evidence for the conversation's last question (/more)
    conversation: Conversation
    future: asyncio.Future


class AnswerBatcher:
    """A queue in front of the pipeline: collect questions for ``window`` seconds, answer them in one
    call in a worker thread, hand each caller its answer and its updated conversation.

    One batch runs at a time; questions arriving meanwhile form the next batch, so batches grow
    exactly when the bot is busy."""

    def __init__(self, pipeline: Pipeline, window: float = 0.01, max_batch: int = 64) -> None:
        self.pipeline = pipeline
        self.window = window
        self.max_batch = max_batch
        self.batches: list[int] = []  # size of each batch answered (for logs and benchmarks)
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="articlebot-answer-batcher")

    async def stop(self) -> None:
        """Stop taking work; callers still waiting get a CancelledError."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        while self._queue is not None and not self._queue.empty():
            self._queue.get_nowait().future.cancel()

    async def ask(self, question: str, conversation: Conversation) -> tuple[Answer, Conversation]:
        """Answer ``question`` in the context of (a copy of) ``conversation``."""
        return await self._submit(question, conversation)

    async def more(self, conversation: Conversation) -> tuple[Answer, Conversation]:
        """Next-best evidence for the conversation's last question."""
        return await self._submit(None, conversation)

    async def _submit(self, question: str | None, conversation: Conversation) -> tuple[Answer, Conversation]:
        if self._queue is None or self._task is None:
            raise RuntimeError("the answer batcher is not running")
        future = asyncio.get_running_loop().create_future()
        job = _Job(question, conversation.copy(), future)
        self._queue.put_nowait(job)
        answer = await future
        return answer, job.conversation

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.window
            while len(batch) < self.max_batch:
                remaining = deadline - loop.time()
                try:
                    batch.append(self._queue.get_nowait() if remaining <= 0 else
                                 await asyncio.wait_for(self._queue.get(), remaining))
                except (asyncio.QueueEmpty, asyncio.TimeoutError):
                    break
            batch = [job for job in batch if not job.future.done()]  # callers that gave up
            if not batch:
                continue
            self.batches.append(len(batch))
            results = await asyncio.to_thread(self._answer, batch)
            for job, result in zip(batch, results):
                if job.future.done():
                    continue
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)

    def _answer(self, batch: list[_Job]) -> list[Any]:
        """Runs in a worker thread. Questions go through one ``answer_many``; if that fails (one bad
        question), each is answered alone so the others still get their answers."""
        results: list[Any] = [None] * len(batch)
        asks = [i for i, job in enumerate(batch) if job.question is not None]
        if asks:
            before = {i: batch[i].conversation.copy() for i in asks} if len(asks) > 1 else {}
            try:
                answers = self.pipeline.answer_many([batch[i].question for i in asks],
                                                    [batch[i].conversation for i in asks])
                for i, answer in zip(asks, answers):
                    results[i] = answer
            except Exception as exc:  # noqa: BLE001 - isolate the failing question below
                if len(asks) == 1:
                    results[asks[0]] = exc
                else:
                    log.debug("batched answering failed; answering %d questions one by one", len(asks))
                    for i in asks:  # from the state before the failed batch, so no turn is recorded twice
                        batch[i].conversation = before[i]
                        results[i] = _capture(self.pipeline.answer, batch[i].question, before[i])
        for i, job in enumerate(batch):
            if job.question is None:
                results[i] = _capture(self.pipeline.more, job.conversation)
        return results


def _capture(function, *args: Any) -> Any:
    """The function's result, or the exception it raised (delivered to that caller only)."""
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - handed to the caller, who reports it
        return exc
