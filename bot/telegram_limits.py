"""Flow control for the Telegram bot: outgoing calls (flood limits, transient errors), incoming questions.

Why a subclass of PTB's ``AIORateLimiter``: it already throttles every outgoing call (30/s overall,
20/min per group) and waits out a 429's ``retry_after``, but it does not retry a 5xx or a timeout.
A reply lost to one "Bad Gateway" is a question left unanswered, so transient errors are retried here
with a short exponential back-off, each retry going through the limiter again. Client errors
(400 Bad Request, 403 Forbidden, 401) are never retried: repeating them cannot help. Neither is a
message call whose request reached the server but whose answer did not come back in time (a read or
write timeout): Telegram has most likely delivered it, and sending it again shows the user a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)
# "typing…" is not a message: throttling it would spend the 30-per-second budget that replies need (each
# question costs one), and retrying it is pointless (the indicator lasts 5 s). It goes out directly.
UNTHROTTLED = frozenset({"sendChatAction"})


def maybe_delivered(endpoint: str, exc: NetworkError) -> bool:
    """A send/edit call that timed out after its request went out (httpx read or write timeout): the
    server may have acted on it, so repeating it could show the user the same message twice. Connect
    and pool timeouts, 5xx and dropped connections before an answer are safe to repeat."""
    if not isinstance(exc, TimedOut) or not endpoint.startswith(("send", "edit", "copy", "forward")):
        return False
    return type(exc.__cause__).__name__ in ("ReadTimeout", "WriteTimeout")


class RetryingRateLimiter(AIORateLimiter):
    """``AIORateLimiter`` (429s waited out, ``max_retries`` times) that also retries 5xx and timeouts."""

    def __init__(self, transient_retries: int = 3, backoff: float = 0.5, max_retries: int = 3,
                 **kwargs: Any) -> None:
        super().__init__(max_retries=max_retries, **kwargs)
        self.transient_retries = transient_retries
        self.backoff = backoff

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # noqa: ANN001
        if endpoint in UNTHROTTLED:
            return await callback(*args, **kwargs)
        for attempt in range(self.transient_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except (BadRequest, RetryAfter):
                raise
            except NetworkError as exc:  # 5xx, timeouts, connection errors
                if attempt == self.transient_retries or maybe_delivered(endpoint, exc):
                    raise
                delay = self.backoff * 2 ** attempt
                log.warning("Bot API %s failed (%s); retry %d of %d in %.1f s", endpoint, exc, attempt + 1,
                            self.transient_retries, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


class ChatQuota:
    """At most ``per_minute`` questions per chat in any sliding minute (0 = unlimited).

    In memory on purpose: a restart forgiving everyone is harmless, and it keeps the persistence file
    to conversations only. A flooding chat is told to slow down once per window, then ignored: a
    notice per refused message would spend Telegram's 30 messages/s budget that other chats' answers
    need (bench/flood.py measured 300 flood messages pushing other chats' p95 from 0.2 s to 8.6 s)."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._times: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}  # chat -> when it was last told to slow down

    def take(self, chat_id: int, now: float | None = None) -> float:
        """Count a question; 0 when allowed, else the seconds until the chat may ask again."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        times = self._times.setdefault(chat_id, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.per_minute:
            return max(self.window - (now - times[0]), 0.1)
        times.append(now)
        if len(self._times) > 10_000:  # forget idle chats so memory stays bounded
            self._times = {c: t for c, t in self._times.items() if t and now - t[-1] < self.window}
            self._warned = {c: t for c, t in self._warned.items() if now - t < self.window}
        return 0.0

    def should_warn(self, chat_id: int, now: float | None = None) -> bool:
        """True for the first refused question of a window (send the notice), False after it (stay quiet)."""
        now = time.monotonic() if now is None else now
        if now - self._warned.get(chat_id, -self.window) < self.window:
            return False
        self._warned[chat_id] = now
        return True
