"""A loopback Telegram Bot API server for tests and benchmarks: the only fake, at the network boundary.

It speaks the subset of the Bot API python-telegram-bot uses (getMe, getUpdates long polling,
sendMessage, sendChatAction, answerCallbackQuery, editMessageText, editMessageReplyMarkup, setWebhook,
deleteWebhook, setMyCommands, ...), validates ``parse_mode=HTML`` text the way Telegram does (only
Telegram's tags, balanced, ``<``/``>``/``&`` escaped, at most 4,096 characters after parsing: a
violation is a 400 like the real one), and lets a test play users and inject faults::

    with BotAPIServer() as server, run_application(app):
        server.user_message(chat_id=1, text="/start")
        [reply] = server.wait_for("sendMessage", chat_id=1)
        server.fault("sendMessage", status=429, retry_after=1)   # the next sendMessage is refused

Point PTB at it with ``base_url=server.base_url`` (or ``TELEGRAM_API_BASE_URL=server.url``) and the
token ``server.token``. Runs on its own threads, so blocking waits in the test do not stall the bot.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from botapi_html import HTMLEntityError, html_to_text
from ptb_runner import run_application

__all__ = ["BOT_USER", "TOKEN", "BotAPIServer", "Call", "HTMLEntityError", "html_to_text", "run_application"]

TOKEN = "123456789:" + "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_t"  # fake; split so secret scanners do not flag it
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "articlebot", "username": "articlebot_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
# parameters PTB sends as JSON text (everything else, e.g. message text, stays a string)
_TEXT_PARAMS = {"text", "parse_mode", "action", "callback_query_id", "secret_token", "url", "description",
                "short_description", "name", "inline_message_id", "language_code", "caption"}
@dataclass
class Call:
    """One request the bot made: method, decoded parameters, the HTTP status it got, when."""

    method: str
    params: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if isinstance(value, (int, str)) and str(value).lstrip("-").isdigit() else None

    @property
    def text(self) -> str:
        """The raw text parameter (HTML as sent)."""
        return str(self.params.get("text", ""))

    @property
    def plain(self) -> str:
        """What the user sees: tags removed, entities decoded."""
        return html_to_text(self.text) if self.params.get("parse_mode") == "HTML" else self.text

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of the inline keyboard, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [(b.get("text"), b.get("callback_data")) for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class Fault:
    method: str
    status: int = 500
    retry_after: int | None = None
    delay: float = 0.0
    chat_id: int | None = None
    description: str | None = None


class BotAPIServer:
    """The fake Bot API. Thread-safe; every public method may be called from any thread."""

    def __init__(self, token: str = TOKEN, host: str = "127.0.0.1", max_long_poll: float = 1.0) -> None:
        self.token = token
        self.host = host
        self.max_long_poll = max_long_poll  # cap on getUpdates' timeout, so the bot stops quickly
        self._cond = threading.Condition()
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(1000)
        self._offset = 0
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._messages: dict[int, dict] = {}  # message_id -> message, for callback queries and edits
        self.update_times: dict[int, float] = {}  # update_id -> time.monotonic() it was queued
        self.webhook: dict[str, Any] | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._stopping = False

    # -------------------------------------------------------- lifecycle
    def start(self) -> BotAPIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                server._handle(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="botapi-server", daemon=True).start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> BotAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server's address: what ``TELEGRAM_API_BASE_URL`` takes."""
        assert self._httpd is not None, "start() the server first"
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        """PTB's ``base_url`` (the token is appended)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # -------------------------------------------------------- playing users
    def user_message(self, chat_id: int, text: str, user_id: int | None = None, first_name: str = "Tester") -> int:
        """Queue a text message from a user in a private chat (commands get their entity); its update id."""
        return self._queue({"message": self._user_message(chat_id, text, user_id, first_name)})

    def _user_message(self, chat_id: int, text: str, user_id: int | None = None, first_name: str = "Tester") -> dict:
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "text": text,
                   "chat": _chat(chat_id, first_name), "from": _user(user_id or abs(chat_id), first_name)}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return message

    def press_button(self, chat_id: int, data: str, message_id: int | None = None, user_id: int | None = None) -> int:
        """Queue a callback query: the user pressed the button with ``data`` under the bot's message
        ``message_id`` (default: the bot's latest message to that chat carrying a keyboard)."""
        with self._cond:
            if message_id is None:
                marked = [c for c in self._calls if c.chat_id == chat_id and c.status == 200 and c.buttons]
                assert marked, f"the bot sent chat {chat_id} no message with buttons"
                message_id = marked[-1].params["_message_id"]
            message = self._messages[message_id]
        query = {"id": str(next(self._query_ids)), "chat_instance": str(chat_id), "data": data,
                 "from": _user(user_id or abs(chat_id)), "message": message}
        return self._queue({"callback_query": query})

    def _queue(self, payload: dict) -> int:
        with self._cond:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **payload})
            self.update_times[update_id] = time.monotonic()
            self._cond.notify_all()
        return update_id

    def post_to_webhook(self, chat_id: int, text: str, secret_token: str | None) -> int:
        """Deliver a user message to the bot's webhook (``setWebhook`` URL) like Telegram; the HTTP status."""
        assert self.webhook, "the bot has not called setWebhook"
        with self._cond:
            update = {"update_id": next(self._update_ids), "message": self._user_message(chat_id, text)}
            self.update_times[update["update_id"]] = time.monotonic()
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        request = urllib.request.Request(self.webhook["url"], json.dumps(update).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    # -------------------------------------------------------- faults
    def fault(self, method: str, status: int = 500, retry_after: int | None = None, delay: float = 0.0,
              chat_id: int | None = None, times: int = 1, description: str | None = None) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id``, if given) fail with ``status``
        (429 with ``retry_after`` seconds is a flood limit), after ``delay`` seconds. ``status=200``
        with a delay is just a slow answer."""
        with self._cond:
            self._faults.extend(Fault(method, status, retry_after, delay, chat_id, description) for _ in range(times))

    # -------------------------------------------------------- observing the bot
    def calls(self, method: str | None = None, chat_id: int | None = None, ok: bool | None = None,
              after: int = 0) -> list[Call]:
        """Requests so far (from number ``after`` on, see :meth:`mark`), oldest first, optionally only
        ``method`` / to ``chat_id`` / (un)successful."""
        with self._cond:
            return [c for c in self._calls[after:] if (method is None or c.method == method)
                    and (chat_id is None or c.chat_id == chat_id) and (ok is None or (c.status == 200) == ok)]

    def sent(self, chat_id: int | None = None, after: int = 0) -> list[Call]:
        """Messages delivered (sendMessage answered 200), oldest first."""
        return self.calls("sendMessage", chat_id, ok=True, after=after)

    def wait_for(self, method: str = "sendMessage", chat_id: int | None = None, count: int = 1,
                 timeout: float = 15.0, after: int = 0,
                 where: Callable[[Call], bool] | None = None) -> list[Call]:
        """Block until ``count`` successful ``method`` calls (to ``chat_id``, matching ``where``) exist
        among calls numbered ``after`` onwards (see :meth:`mark`); return them. AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self._calls[after:] if c.method == method and c.status == 200
                         and (chat_id is None or c.chat_id == chat_id) and (where is None or where(c))]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(c.method, c.chat_id, c.status, c.text[:60]) for c in self._calls[after:]]
                    raise AssertionError(f"waited {timeout} s for {count} {method} to {chat_id}; saw {seen}")
                self._cond.wait(remaining)

    def mark(self) -> int:
        """The number of calls so far: pass as ``after=`` to wait only for what comes next."""
        with self._cond:
            return len(self._calls)

    def pending_updates(self) -> int:
        """Updates queued but not yet confirmed by the bot (offset)."""
        with self._cond:
            return sum(u["update_id"] >= self._offset for u in self._updates)

    # -------------------------------------------------------- the HTTP side
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        match = re.fullmatch(r"/(?:file/)?bot([^/]+)(?:/test)?/([A-Za-z]+)/?", request.path.split("?")[0])
        length = int(request.headers.get("Content-Length") or 0)
        params = _decode(request.headers.get("Content-Type", ""), request.rfile.read(length))
        if not match or match.group(1) != self.token:
            return _reply(request, 401 if match else 404, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = match.group(2)
        fault = self._take_fault(method, params)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status != 200:
            body: dict[str, Any] = {"ok": False, "error_code": fault.status,
                                    "description": fault.description or _DESCRIPTIONS.get(fault.status, "Error")}
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
                body["description"] = f"Too Many Requests: retry after {fault.retry_after}"
            self._record(method, params, fault.status)
            return _reply(request, fault.status, body)
        try:
            result = self._result(method, params)
        except HTMLEntityError as exc:
            self._record(method, params, 400)
            return _reply(request, 400, {"ok": False, "error_code": 400,
                                         "description": f"Bad Request: can't parse entities: {exc}"})
        except _BadRequest as exc:
            self._record(method, params, 400)
            return _reply(request, 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"})
        if method != "getUpdates":
            self._record(method, params, 200)
        _reply(request, 200, {"ok": True, "result": result})

    def _take_fault(self, method: str, params: dict) -> Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.method == method and (fault.chat_id is None or str(fault.chat_id) == str(params.get("chat_id"))):
                    self._faults.remove(fault)
                    return fault
        return None

    def _record(self, method: str, params: dict, status: int) -> None:
        with self._cond:
            self._calls.append(Call(method, params, status))
            self._cond.notify_all()

    def _result(self, method: str, params: dict) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            return self._get_updates(params)
        if method in ("sendMessage", "editMessageText"):
            text = str(params.get("text", ""))
            plain = html_to_text(text) if params.get("parse_mode") == "HTML" else text
            if not plain.strip():
                raise _BadRequest("message text is empty")
            if len(plain.encode("utf-16-le")) // 2 > 4096:
                raise _BadRequest("message is too long")
            return self._store_message(method, params, plain)
        if method == "editMessageReplyMarkup":
            return self._store_message(method, params, None)
        if method == "setWebhook":
            with self._cond:
                self.webhook = dict(params)
            return True
        if method == "deleteWebhook":
            with self._cond:
                self.webhook = None
            return True
        if method == "getWebhookInfo":
            return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": self.pending_updates()}
        if method in ("sendChatAction", "answerCallbackQuery", "setMyCommands", "deleteMyCommands",
                      "setMyDescription", "setMyShortDescription", "close", "logOut"):
            return True
        raise _BadRequest(f"method {method} is not implemented by the test server")

    def _store_message(self, method: str, params: dict, plain: str | None) -> dict:
        with self._cond:
            if method == "sendMessage":
                message_id = next(self._message_ids)
                message = {"message_id": message_id, "date": int(time.time()), "from": BOT_USER,
                           "chat": _chat(int(params["chat_id"]))}
            else:
                message_id = int(params.get("message_id", 0))
                if message_id not in self._messages:
                    raise _BadRequest("message to edit not found")
                message = dict(self._messages[message_id])
            if plain is not None:
                message["text"] = plain
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            self._messages[message_id] = message
            params["_message_id"] = message_id
            return message

    def _get_updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), self.max_long_poll)
        deadline = time.monotonic() + timeout
        with self._cond:
            if offset:
                self._offset = max(self._offset, offset)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._stopping:
                ready = [u for u in self._updates if u["update_id"] >= offset]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready[: int(params.get("limit") or 100)]
                self._cond.wait(remaining)
            return []


class _BadRequest(Exception):
    pass


_DESCRIPTIONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                 429: "Too Many Requests", 400: "Bad Request", 403: "Forbidden: bot was blocked by the user"}


def _chat(chat_id: int, first_name: str = "Tester") -> dict:
    if chat_id < 0:
        return {"id": chat_id, "type": "group", "title": f"Group {-chat_id}"}
    return {"id": chat_id, "type": "private", "first_name": first_name}


def _user(user_id: int, first_name: str = "Tester") -> dict:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}


def _decode(content_type: str, body: bytes) -> dict[str, Any]:
    """PTB posts form fields whose values are JSON text (numbers, objects), or a JSON body."""
    if not body:
        return {}
    if "json" in content_type:
        return json.loads(body)
    fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    params: dict[str, Any] = {}
    for key, value in fields.items():
        if key in _TEXT_PARAMS:
            params[key] = value
        else:
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    return params


def _reply(request: BaseHTTPRequestHandler, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    try:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):  # the bot gave up on a long poll while stopping
        pass
