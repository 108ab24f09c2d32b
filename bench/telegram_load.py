"""Telegram throughput: 20 chats asking at once through the real PTB Application and the loopback
Bot API server (tests/botapi_server.py), with the real pipeline and model.

The bot runs as ``articlebot telegram`` in its own process, the way it is deployed; the fake server
and the simulated users share this process. Each chat is a user who asks, waits for the answer, and asks the next question at once (closed loop,
20 questions always in flight), for ``seconds`` after a warm-up. Answers/s counts replies delivered
(``sendMessage`` answered 200 that reply to the user's message); a reply lost is a question sent and
never answered by the end (after a grace period). Latency is from queuing the user's message on the
server to the bot's reply arriving there: long polling, batching, answering, HTTP all included.

Telegram itself allows a bot about 30 messages a second overall, and the production rate limiter
(``RetryingRateLimiter``, PTB's ``AIORateLimiter``) enforces exactly that. The capacity run lifts that
cap (``overall_max_rate=0``) to measure what the bot can do on two cores; the second run keeps it, to
show the limiter holds the bot at Telegram's limit without losing replies.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, percentiles

sys.path.insert(0, str(ROOT / "tests"))

CHATS = 20
QUESTIONS = (
    "How much did Liaoning invest?",
    "What share of Heilongjiang's GDP is its digital economy?",
    "Which provinces are driving digital transformation?",
    "What is Jilin working on?",
    "Where is the integrated AMT workshop?",
    "Who is FAW Jiefang a subsidiary of?",
    "What does Harbin Turbine Company belong to?",
    "What is fueling high-quality development in the region?",
)


BOT_PROCESS = """
import sys
import bot.telegram as telegram
from bot.telegram_limits import RetryingRateLimiter

if sys.argv[1] == "uncapped":
    class Uncapped(RetryingRateLimiter):
        def __init__(self, **kwargs):
            super().__init__(overall_max_rate=0, **kwargs)

    telegram.RetryingRateLimiter = Uncapped
from bot.cli import main

sys.exit(main(sys.argv[2:]))
"""


def _run(base: Path, seconds: float, uncapped: bool) -> dict:
    """Start ``articlebot telegram`` as its own process (as deployed: its own interpreter and GIL)
    against a loopback Bot API server in this process; play the users; stop it with SIGTERM."""
    from botapi_server import BotAPIServer

    with BotAPIServer() as server:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_API_BASE_URL": server.url,
               "TELEGRAM_RATE_PER_MINUTE": "0", "TELEGRAM_STATE_FILE": str(base / f"state-{uncapped}.pickle"),
               "HF_HUB_OFFLINE": "1"}
        command = [sys.executable, "-c", BOT_PROCESS, "uncapped" if uncapped else "capped", "telegram",
                   "--corpus", str(base / "corpus"), "--index", str(base / "index")]
        log = open(base / f"bot-{uncapped}.log", "w")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log, text=True)
        try:
            server.wait_for("deleteWebhook", timeout=120)  # run_polling's last step before polling
            result = _drive(server, seconds)
            result["bot_cpu_s"] = _cpu_seconds(process.pid)
            return result
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU the bot process used so far (from /proc), to show how much of 2 cores it took."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def _drive(server, seconds: float, warmup: float = 3.0, grace: float = 10.0) -> dict:
    """One thread plays all chats: it reads new calls from the server incrementally (no per-chat
    waiting threads competing for the two cores with the bot) and sends each chat its next question
    as soon as its answer arrives."""
    sent_at: dict[int, float] = {}
    asked = {chat: 0 for chat in range(1, CHATS + 1)}
    latencies: list[float] = []
    answered_times: list[float] = []
    cursor = 0
    lock = threading.Lock()

    def ask(chat: int) -> None:
        with lock:
            sent_at[chat] = time.monotonic()
            asked[chat] += 1
        server.user_message(chat, QUESTIONS[(chat + asked[chat]) % len(QUESTIONS)])

    for chat in asked:
        ask(chat)
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    outstanding = set(asked)
    sending = True
    while outstanding or sending:
        now = time.monotonic()
        if sending and now >= stop_at:
            sending = False
        if not sending and now > stop_at + grace:
            break
        new = server.calls(after=cursor)
        cursor += len(new)
        calls = [c for c in new if c.method == "sendMessage" and c.status == 200]
        if not calls:
            time.sleep(0.002)
            continue
        for call in calls:
            chat = call.chat_id
            if chat not in outstanding or not call.params.get("reply_parameters"):
                continue  # a continuation message of a long answer, or not one of ours
            latency = call.at - sent_at[chat]
            outstanding.discard(chat)
            if sent_at[chat] >= measure_from and call.at <= stop_at:
                latencies.append(latency)
                answered_times.append(call.at)
            if sending:
                ask(chat)
                outstanding.add(chat)
    window = seconds
    return {"chats": CHATS, "seconds": window, "sent": sum(asked.values()),
            "lost": len(outstanding), "answered_in_window": len(latencies),
            "answers_per_s": round(len(latencies) / window, 1), "latency": percentiles(latencies)}


def telegram(seconds: float = 15.0) -> dict:
    base = Path(tempfile.mkdtemp(prefix="articlebot-telegram-"))
    shutil.copytree(ROOT / "corpus", base / "corpus")
    subprocess.run([str(ROOT / ".venv" / "bin" / "articlebot"), "index", "--corpus", str(base / "corpus"),
                    "--index", str(base / "index")], check=True, capture_output=True)
    capacity = _run(base, seconds, uncapped=True)
    limited = _run(base, seconds, uncapped=False)
    shutil.rmtree(base, ignore_errors=True)
    return {**capacity, "bot": "articlebot telegram in its own process, ONNX query encoder",
            "with_telegram_flood_limit_30_per_s": limited}
