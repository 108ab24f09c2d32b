"""A conversation: the bounded history of one person's questions and what answered them.

Each face keeps one per person (REPL session, ``ask --json`` stdin stream, Telegram chat). The history
lets ``/more`` continue from the last ranking and lets follow-up questions be resolved.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from .retrieval import Hit


@dataclass
class Turn:
    """One exchange: what was asked, what was searched, and the ranking that answered it."""

    question: str
    resolved: str
    hits: list[Hit]
    shown: int  # how many hits have been shown so far (for /more)
    at: float = field(default_factory=time.time)


class Conversation:
    """History of turns, forgotten after ``idle_seconds`` of silence; picklable for persistence."""

    def __init__(self, max_turns: int = 8, idle_seconds: float = 1800.0) -> None:
        self.max_turns = max_turns
        self.idle_seconds = idle_seconds
        self.turns: deque[Turn] = deque(maxlen=max_turns)

    def reset(self) -> None:
        self.turns.clear()

    def expire(self, now: float | None = None) -> None:
        """Forget everything if the last turn is older than the idle limit."""
        now = time.time() if now is None else now
        if self.turns and now - self.turns[-1].at > self.idle_seconds:
            self.reset()

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def resolve(self, question: str) -> str:
        """The query to search for ``question`` in this context (the follow-up issue extends this)."""
        return question

    def record(self, turn: Turn) -> None:
        self.turns.append(turn)
