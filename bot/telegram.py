"""articlebot as a Telegram bot, on python-telegram-bot v22: commands, questions, buttons, run loop.

Thin like every face: the core answers, :mod:`bot.telegram_format` words it, this module wires PTB.
What experienced PTB users expect, and why each piece is here:

* one :class:`Conversation` per chat in ``context.chat_data``, kept by ``PicklePersistence`` (written
  once per round, atomically: :mod:`bot.telegram_state`) so a restart keeps context (chat data only:
  no bot data, never the token);
* ``concurrent_updates`` so one slow question does not hold up other chats, with a per-chat lock so a
  chat's own questions are answered, and replied to, in order;
* the model never runs on the event loop: :class:`AnswerBatcher` answers questions of many chats in one
  batched call in a worker thread;
* outgoing calls through :class:`RetryingRateLimiter` (flood limits, 429 ``retry_after``, 5xx and
  timeouts retried); one error handler that logs the update id and apologises to the chat;
* access control and a per-chat question quota in a handler group that runs before all others.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import sys
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from telegram import (Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters,
                      Update)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, ContextTypes,
                          Defaults, MessageHandler, PersistenceInput, TypeHandler, filters)

from .answer import Answer
from .conversation import Conversation
from .errors import ArticlebotError, BadQuestion, ConfigError
from .pipeline import Pipeline, clean_question
from .settings import Settings
from .telegram_batching import AnswerBatcher
from .telegram_config import (ALLOWED_UPDATES, HEARTBEAT_SECONDS, RedactToken, api_urls, check_health, check_token,
                              heartbeat_file, prepare_state_file, processed_file, webhook_options)
from .telegram_dedup import ProcessedUpdates
from .telegram_format import (COMMANDS, answer_messages, greeting_messages, help_messages, notice,
                              sources_messages)
from .telegram_limits import ChatQuota, RetryingRateLimiter
from .telegram_state import StatePersistence

log = logging.getLogger(__name__)

CONVERSATION = "conversation"  # the chat_data key
SOURCES, MORE = "sources", "more"  # callback data (Telegram allows at most 64 bytes)
TYPING_REFRESH = 4.5  # Telegram shows "typing…" for about 5 seconds per sendChatAction
PERSISTENCE_INTERVAL = 30.0
REFUSAL = "Sorry, this bot is private: this chat is not on its list of allowed chats."
SORRY = "Sorry, something went wrong while answering. Please try again."


# ---------------------------------------------------------------- handlers
class TelegramBot:
    """The handlers and their state: the pipeline, the batcher, per-chat locks and quotas."""

    def __init__(self, settings: Settings, pipeline: Pipeline) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.batcher = AnswerBatcher(pipeline, window=settings.telegram_batch_window_ms / 1000)
        self.quota = ChatQuota(settings.telegram_rate_per_minute)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._heartbeat: asyncio.Task | None = None
        self.processed = ProcessedUpdates(processed_file(settings))

    def install(self, app: Application) -> None:
        app.add_handler(TypeHandler(Update, self.skip_processed), group=-2)
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        app.add_handler(CommandHandler("start", self.start))
        app.add_handler(CommandHandler("help", self.help))
        app.add_handler(CommandHandler(["source", "sources"], self.sources))
        app.add_handler(CommandHandler("reset", self.reset))
        app.add_handler(CommandHandler("more", self.more))
        asked = (filters.TEXT & ~filters.COMMAND) | filters.CAPTION  # a photo's caption is a question too
        app.add_handler(MessageHandler(asked & filters.UpdateType.MESSAGES, self.question))
        app.add_handler(MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, self.unknown_command))
        app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT
                                       & ~filters.CAPTION & ~filters.StatusUpdate.ALL, self.not_text))
        app.add_handler(CallbackQueryHandler(self.sources_button, pattern=f"^{SOURCES}$"))
        app.add_handler(CallbackQueryHandler(self.more_button, pattern=f"^{MORE}$"))
        app.add_handler(TypeHandler(Update, self.mark_processed), group=1)  # after the answer went out
        app.add_error_handler(self.on_error)

    # -------------------------------------------------------- lifecycle (post_init / post_shutdown)
    async def post_init(self, app: Application) -> None:
        await self.batcher.start()
        with suppress(TelegramError):  # the command menu is a nicety; never a reason not to start
            await app.bot.set_my_commands([BotCommand(name, what) for name, what in COMMANDS])
        self._heartbeat = asyncio.create_task(self._beat(heartbeat_file(self.settings)), name="articlebot-heartbeat")

    async def post_shutdown(self, app: Application) -> None:
        await self.batcher.stop()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        with suppress(OSError):
            heartbeat_file(self.settings).unlink()

    async def _beat(self, path: Path) -> None:
        """Touch a file while the event loop is alive: the Docker HEALTHCHECK reads its age."""
        while True:
            with suppress(OSError):
                path.touch()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    # -------------------------------------------------------- exactly once (see bot/telegram_dedup.py)
    async def skip_processed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self.processed.seen(update.update_id):
            log.info("update %s was answered before a restart; not answering it again", update.update_id)
            raise ApplicationHandlerStop

    async def mark_processed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.processed.record(update.update_id)

    # -------------------------------------------------------- access control
    async def gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs before every other handler: refuse chats not on ``TELEGRAM_ALLOWED_CHAT_IDS`` (if set)."""
        allowed = self.settings.telegram_allowed_chat_ids
        chat = update.effective_chat
        if not allowed or (chat is not None and chat.id in allowed):
            return
        log.info("refused update %s from chat %s (not allowed)", update.update_id, chat.id if chat else None)
        if update.callback_query is not None:
            await update.callback_query.answer(REFUSAL, show_alert=True)
        elif update.effective_message is not None and chat is not None:
            await update.effective_message.reply_text(notice(REFUSAL))
        raise ApplicationHandlerStop

    # -------------------------------------------------------- commands
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._send(update, context, greeting_messages(list(self.pipeline.articles.values())))

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._send(update, context, help_messages())

    async def sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._send(update, context, sources_messages(self.pipeline.articles.values()))

    async def reset(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        async with self._lock(update.effective_chat.id):
            context.chat_data.pop(CONVERSATION, None)
        await self._send(update, context, ["Conversation cleared: ask me something new."])

    async def more(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._answer(update, context, None)

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        command = (update.effective_message.text or "").split()[0]
        await self._send(update, context, [notice(f"Unknown command {command}; type /help for what I understand.")])

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A sticker, a photo without a caption, a voice note: say what the bot reads (private chats only)."""
        await self._send(update, context, [notice("I read text only: type your question about the article.")])

    async def question(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any text that is not a command (or an edited one, or a caption): check it cheaply here, then
        answer it off the loop. "@thisbot" in a group is an address, not part of the question."""
        message = update.effective_message
        text = without_mention(message.text or message.caption or "", context.bot.username)
        try:
            clean_question(text, self.settings.max_question_chars)
        except BadQuestion as exc:
            await self._send(update, context, [notice(str(exc))])
            return
        wait = self.quota.take(update.effective_chat.id)
        if wait and not self.quota.should_warn(update.effective_chat.id):
            log.info("chat %s is over its quota; update %s ignored", update.effective_chat.id, update.update_id)
            return
        if wait:
            await self._send(update, context, [notice(
                f"You are asking faster than {self.settings.telegram_rate_per_minute} questions a minute; "
                f"please wait {math.ceil(wait)} s.")])
            return
        await self._answer(update, context, text)

    # -------------------------------------------------------- buttons
    async def sources_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await self.sources(update, context)

    async def more_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if update.effective_chat is None:  # a message too old for Telegram to tell us its chat
            await query.answer("That message is too old; send /more instead.")
            return
        await query.answer()
        answer = await self._answer(update, context, None)
        if answer is not None and answer.more and not answer.citations:
            with suppress(BadRequest):  # nothing more to show: retire the button it was pressed on
                await query.edit_message_reply_markup(keyboard(answer))

    # -------------------------------------------------------- answering
    async def _answer(self, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str | None) -> Answer | None:
        """Answer ``question`` (None: /more) in this chat's conversation and reply, in order per chat."""
        chat_id = update.effective_chat.id
        async with self._lock(chat_id), self._typing(context, chat_id):
            conversation = context.chat_data.get(CONVERSATION)
            if not isinstance(conversation, Conversation):
                conversation = self.pipeline.new_conversation()
            try:
                if question is None:
                    answer, conversation = await self.batcher.more(conversation)
                else:
                    answer, conversation = await self.batcher.ask(question, conversation)
            except ArticlebotError as exc:
                await self._send(update, context, [notice(str(exc))])
                return None
            context.chat_data[CONVERSATION] = conversation
            await self._send(update, context, answer_messages(answer), keyboard(answer))
            return answer

    async def _send(self, update: Update, context: ContextTypes.DEFAULT_TYPE, messages: list[str],
                    markup: InlineKeyboardMarkup | None = None) -> None:
        """Send HTML messages to the update's chat; the first replies to the user's message (or to the
        message whose button was pressed), the last carries the keyboard."""
        message = update.effective_message
        reply = ReplyParameters(message.message_id, allow_sending_without_reply=True) if message else None
        for number, text in enumerate(messages):
            await context.bot.send_message(update.effective_chat.id, text,
                                           reply_parameters=reply if number == 0 else None,
                                           reply_markup=markup if number == len(messages) - 1 else None)

    @asynccontextmanager
    async def _typing(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> AsyncIterator[None]:
        """Show "typing…" while the body runs, if it runs longer than ``telegram_typing_delay_ms``:
        concurrently with the work (a slow sendChatAction never delays the answer), refreshed every few
        seconds while it lasts. A quick answer needs no indicator, and under load the saved API calls
        were a third of the event loop's work."""
        done = asyncio.Event()

        async def keep_typing() -> None:
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), self.settings.telegram_typing_delay_ms / 1000)
            while not done.is_set():
                try:
                    await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
                except TelegramError as exc:
                    log.debug("typing indicator for chat %s failed: %s", chat_id, exc)
                with suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(done.wait(), TYPING_REFRESH)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            done.set()
            await task

    def _lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    # -------------------------------------------------------- errors
    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """One bad update never stops the bot: log it with its id, apologise to the chat if we can."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed: %s", update_id, context.error, exc_info=context.error)
        if isinstance(context.error, TimedOut):  # the reply may well have arrived: no apology for it
            return
        if isinstance(update, Update) and update.effective_chat is not None:
            with suppress(TelegramError):
                await context.bot.send_message(update.effective_chat.id, SORRY)


def keyboard(answer: Answer) -> InlineKeyboardMarkup:
    """"Sources" always; "More" while there may be more evidence for the last question."""
    buttons = [InlineKeyboardButton("Sources", callback_data=SOURCES)]
    if not (answer.more and not answer.citations):
        buttons.append(InlineKeyboardButton("More", callback_data=MORE))
    return InlineKeyboardMarkup([buttons])


# ---------------------------------------------------------------- application
def build_application(settings: Settings, pipeline: Pipeline, bot: TelegramBot | None = None) -> Application:
    """The PTB Application for ``settings``: handlers, persistence, rate limiter, concurrency, URLs.
    Pass ``bot`` to keep a handle on the handlers' state (tests and benchmarks read batch sizes)."""
    token = check_token(settings.telegram_token)
    prepare_state_file(settings.telegram_state_file)
    bot = bot or TelegramBot(settings, pipeline)
    persistence = StatePersistence(settings.telegram_state_file, update_interval=PERSISTENCE_INTERVAL,
                                   store_data=PersistenceInput(bot_data=False, user_data=False, callback_data=False))
    builder = (Application.builder().token(token)
               .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
               .persistence(persistence).concurrent_updates(True).rate_limiter(RetryingRateLimiter())
               .post_init(bot.post_init).post_shutdown(bot.post_shutdown))
    if settings.telegram_api_base_url:
        base_url, base_file_url = api_urls(settings.telegram_api_base_url)
        builder = builder.base_url(base_url).base_file_url(base_file_url)
    app = builder.build()
    bot.install(app)
    return app


def run_telegram(settings: Settings, *, webhook_url: str | None = None, listen: str | None = None,
                 port: int | None = None, healthcheck: bool = False) -> int:
    """``articlebot telegram``: check the configuration before loading anything, then poll (or serve
    the webhook) until SIGINT/SIGTERM; PTB then stops cleanly and flushes the persistence file."""
    flags = {"telegram_webhook_url": webhook_url, "telegram_webhook_listen": listen, "telegram_webhook_port": port}
    settings = replace(settings, **{k: v for k, v in flags.items() if v is not None})
    settings.validate()
    if healthcheck:
        return check_health(settings)
    token = check_token(settings.telegram_token)
    webhook = webhook_options(settings)
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # httpx logs request URLs, which hold the token
    username = _bot_api_call(token, asyncio.run, introduce(settings, token))  # fail fast, before the model loads

    from .terminal import open_with_progress

    app = build_application(settings, open_with_progress(settings))
    mode = f"webhook {settings.telegram_webhook_url}" if webhook else "long polling"
    print(f"articlebot: @{username} running ({mode}); Ctrl-C or SIGTERM stops it", file=sys.stderr, flush=True)
    if webhook:
        _bot_api_call(token, app.run_webhook, **webhook, bootstrap_retries=3)
    else:
        _bot_api_call(token, app.run_polling, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3)
    return 0


def without_mention(text: str, username: str | None) -> str:
    """``text`` with every "@username" of this bot taken out (any case, as Telegram matches it)."""
    if not username or "@" not in text:
        return text
    return re.sub(rf"(?<![\w@])@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)


async def introduce(settings: Settings, token: str) -> str:
    """getMe: the bot's username, proving the token and the Bot API address work."""
    urls = api_urls(settings.telegram_api_base_url) if settings.telegram_api_base_url else None
    bot = Bot(token, *(urls or ()))
    async with bot:
        return bot.username


def _bot_api_call(token: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``function``; a refused token or an unreachable Bot API becomes one clear line (no token)."""
    try:
        return function(*args, **kwargs)
    except InvalidToken:
        raise ConfigError("the Bot API rejected TELEGRAM_BOT_TOKEN (unauthorized); check it with @BotFather") from None
    except NetworkError as exc:
        raise ArticlebotError(f"cannot reach the Telegram Bot API: {str(exc).replace(token, '<token>')}") from None
