"""Run a python-telegram-bot ``Application`` on its own thread and event loop, as ``run_polling`` would.

Tests and benchmarks stay synchronous (blocking waits on :class:`botapi_server.BotAPIServer`) while the
bot runs exactly its production start-up and shut-down sequence.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def run_application(app: Any, webhook: dict[str, Any] | None = None, poll_timeout: float = 1.0) -> Iterator[Any]:
    """Run a PTB ``Application`` on its own thread and event loop, the way ``run_polling`` (or, given
    ``webhook`` options, ``run_webhook``) does: initialize, post_init, start the updater and the
    application; on exit stop both, post_stop, shutdown (which flushes persistence), post_shutdown.
    Signal handling is left out (it belongs to the main thread)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop: asyncio.Event | None = None
    failure: list[BaseException] = []

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        try:
            await app.initialize()
            if app.post_init:
                await app.post_init(app)
            if webhook is not None:
                await app.updater.start_webhook(**webhook)
            else:
                await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout)
            await app.start()
        except BaseException as exc:
            failure.append(exc)
            started.set()
            raise
        started.set()
        await stop.wait()
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
            if app.post_stop:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), name="ptb-application", daemon=True)
    thread.start()
    started.wait(30)
    if failure:
        thread.join(5)
        raise failure[0]
    try:
        yield app
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
