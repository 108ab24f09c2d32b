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


class CommandRun:
    """A running ``articlebot telegram -v`` process; ``out``/``err`` are filled once it has stopped."""

    def __init__(self, process: Any) -> None:
        self.process = process
        self.out = ""
        self.err = ""


@contextmanager
def telegram_command(server: Any, settings: Any, state: Any, timeout: float = 60.0) -> Iterator[CommandRun]:
    """Start the real command against ``server`` with the corpus and index of ``settings`` and the
    state file ``state``; on leaving the block send SIGTERM and collect its output (kill if it hangs)."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_API_BASE_URL": server.url,
           "TELEGRAM_STATE_FILE": str(state), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "bot", "telegram", "-v", "--corpus", str(settings.corpus_dir),
               "--index", str(settings.index_dir)]
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = CommandRun(process)
    try:
        yield run
        process.send_signal(signal.SIGTERM)
        run.out, run.err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
