"""Does one flooding chat starve the others? Five chats ask one question after another (closed loop)
while a sixth sends ``--flood`` messages at once; the same five chats are measured without the flood.

The real PTB Application, pipeline and model run in this process against the loopback Bot API server
(tests/botapi_server.py), with the production rate limiter (Telegram's 30 messages/s) and the per-chat
quota (``TELEGRAM_RATE_PER_MINUTE``, default 20). Latency: the user's message queued on the server
to the bot's reply arriving there.

    .venv/bin/python bench/flood.py --flood 300       # prints a table, writes bench/results/flood-*.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import ROOT, machine, percentiles

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

QUESTIONS = ("How much did Liaoning invest?", "Who owns FAW Jiefang Automotive Co?",
             "What does the article say about Harbin Electric Group?", "What is Jilin working on?")
CALM_CHATS, CALM_QUESTIONS, FLOODER = 5, 6, 666


def scenario(pipeline, state: Path, flood: int) -> dict:
    import threading

    from bot.telegram import TelegramBot, build_application
    from botapi_server import BotAPIServer, run_application

    latencies: list[float] = []
    with BotAPIServer() as server:
        settings = replace(pipeline.settings, telegram_token=server.token, telegram_api_base_url=server.url,
                           telegram_state_file=state / f"flood-{flood}.pickle")
        handlers = TelegramBot(settings, pipeline)
        with run_application(build_application(settings, pipeline, handlers)):
            def calm(chat: int) -> None:
                for k in range(CALM_QUESTIONS):
                    mark = server.mark()
                    started = time.monotonic()
                    server.user_message(chat, QUESTIONS[(chat + k) % len(QUESTIONS)])
                    [reply] = server.wait_for(chat_id=chat, after=mark, timeout=120)
                    latencies.append(reply.at - started)

            for _ in range(flood):
                server.user_message(FLOODER, QUESTIONS[0])
            threads = [threading.Thread(target=calm, args=(chat,)) for chat in range(1, CALM_CHATS + 1)]
            began = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            calm_done = time.monotonic() - began
            time.sleep(2.0)
            to_flooder = server.sent(FLOODER)
        answered = sum("Answer" in c.plain or "doesn't say" in c.plain for c in to_flooder)
        slowed = sum("faster than" in c.plain for c in to_flooder)
    return {"flood_messages": flood, "calm_questions": len(latencies), "calm_latency": percentiles(latencies),
            "calm_wall_s": round(calm_done, 2), "flooder_answered": answered, "flooder_told_to_slow_down": slowed,
            "flooder_messages_received": len(to_flooder)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flood", type=int, default=300)
    args = parser.parse_args()
    from bot.pipeline import Pipeline
    from bot.settings import Settings

    with tempfile.TemporaryDirectory(prefix="articlebot-flood-") as folder:
        pipeline = Pipeline.open(Settings.from_env(index_dir=Path(folder) / "index"), warn=lambda m: None)
        results = [scenario(pipeline, Path(folder), 0), scenario(pipeline, Path(folder), args.flood)]
    for r in results:
        lat = r["calm_latency"]
        print(f"flood {r['flood_messages']:4d}: calm chats {r['calm_questions']} answers "
              f"p50 {lat['p50_ms']:.0f} ms "
              f"p95 {lat['p95_ms']:.0f} ms max {lat['max_ms']:.0f} ms; flooder answered {r['flooder_answered']}, "
              f"told to slow down {r['flooder_told_to_slow_down']}, messages to flooder {r['flooder_messages_received']}")
    out = ROOT / "bench" / "results" / f"flood-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
