"""The Telegram channel: python-telegram-bot's `Application`, fed by our own long polling or our webhook route.

Every update becomes an `Incoming` for the engine (or a short answer the channel gives itself, see
`telegram_inbound`); the engine's replies are rendered by `telegram_outbound`. Updates of different chats
are handled concurrently, those of one chat strictly in the order Telegram numbered them, so a user who
types fast is still answered step by step. Each update id is claimed by the engine, so an update that
Telegram delivers again (after a restart, or a webhook retry) is handled once. Poll votes take a fast lane
(`telegram_lane`): many stored in one transaction, each answered on its button.

```mermaid
flowchart LR
    TG[Telegram] -- getUpdates / POST /webhooks/telegram --> A[_arrived]
    A -- poll votes --> L[PressLane] --> E
    A --> Q[update queue] --> P[per-chat ordered processor] --> H[_on_update] --> E[Engine]
    E --> O[TelegramOutbound] --> TG
    W[OutboxWorker] --> S[TelegramSender] --> O
```
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from telegram import BotCommand, BotCommandScopeChat, CallbackQuery, ChatMemberUpdated, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, ApplicationBuilder, BaseUpdateProcessor, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from bot.channels.base import defer_replies, waiting_reply_due
from bot.channels.telegram_inbound import (
    ALLOWED_UPDATES,
    CHANNEL,
    MAX_DISPLAY_NAME,
    Notice,
    addressed_to_bot,
    fetch_photo,
    is_private,
    location_of,
    notice_text,
    own_phone,
    unsupported,
)
from bot.channels.telegram_lane import PressLane
from bot.channels.telegram_outbound import KEY_PREFIX, BotApi, TelegramOutbound, messages_in, outcome_of
from bot.channels.telegram_request import Transport, make_request
from bot.config import Settings
from bot.outbox_worker import SendResult
from handlers.i18n import SUPPORTED, _, current_locale, pick_locale, use_locale
from handlers.types import Incoming, Reply, replies_from_json
from storage.db import Store
from storage.outbox import OutboxMessage

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("sinergi.telegram")

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
KEY_RETENTION = timedelta(days=180)
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
# Updates of many chats at once: with a 50 ms round trip to Telegram, 64 in flight capped a 2-core machine at
# about 390 updates/s, 256 let it reach its CPU limit (about 490/s); each waits on the network, not the CPU.
CONCURRENT_UPDATES = 256
OFFICIAL_MENU_EVERY = 60.0  # seconds: someone made an official (in chat or by the CLI) gets their menu this soon
POLL_READ_MARGIN = 5.0   # seconds a long poll's answer may take beyond the poll's own timeout
MAX_POLL_PAUSE = 30.0


@dataclass
class _Line:
    """One chat's updates that have arrived and are not done yet; they go one at a time, in arrival order."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    count: int = 0
    hold: asyncio.Future[None] | None = None  # the press lane is storing this chat's press: the rest wait for it


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Up to `max_concurrent_updates` at once, but one chat's updates one after another, in order.

    An update takes its place in its chat's line when it arrives (`arrive`, before it waits in PTB's queue),
    so the press lane (`telegram_lane.py`) can see whether a chat has anything in line and hold the line while
    it stores a press. PTB starts one task per update in arrival order and its semaphore is fair, so the tasks
    of one chat queue on that chat's lock in arrival order too. `quiet` is set while no update is waiting to be
    handled (but for those waiting on the lane): the lane's work waits for it.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._lines: dict[int, _Line] = {}
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.processed = 0
        self.unfinished = 0     # updates arrived and not done
        self.held = 0           # of them, waiting for the press lane
        self.quiet = asyncio.Event()
        self.quiet.set()

    def arrive(self, update: Update) -> None:
        """Take the update's place in line; the channel calls this for every update it queues for PTB."""
        chat = update.effective_chat
        if chat is not None:
            self._lines.setdefault(chat.id, _Line()).count += 1
        self.unfinished += 1
        self.quiet.clear()

    def hold(self, chat_id: int) -> bool:
        """Hold a chat's line for the press lane; False (nothing held) when the chat has updates in line."""
        if chat_id in self._lines:
            return False
        self._lines[chat_id] = _Line(count=1, hold=asyncio.get_running_loop().create_future())
        return True

    def release(self, chat_id: int) -> None:
        """The press is stored (or handled): the chat's next updates may go."""
        line = self._lines[chat_id]
        if line.hold is not None:
            line.hold.set_result(None)
            line.hold = None
        self._leave(chat_id)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        line = self._lines.get(chat.id) if chat is not None else None
        try:
            if line is None:
                await coroutine
            else:
                if line.hold is not None:
                    await self._behind(line.hold)
                async with line.lock:
                    await coroutine
            self.count_processed()
        finally:
            if line is not None and chat is not None:
                self._leave(chat.id)
            self.unfinished -= 1
            self._settle()

    async def _behind(self, hold: asyncio.Future[None]) -> None:
        self.held += 1
        self._settle()
        try:
            await hold
        finally:
            self.held -= 1
            self._settle()

    def _leave(self, chat_id: int) -> None:
        line = self._lines[chat_id]
        line.count -= 1
        if line.count == 0:
            del self._lines[chat_id]

    def _settle(self) -> None:
        if self.unfinished <= self.held:
            self.quiet.set()
        else:
            self.quiet.clear()

    async def wait_processed(self, count: int) -> None:
        """Return once `count` updates have been processed in all (tests and benchmarks wait on this)."""
        if self.processed < count:
            future = asyncio.get_running_loop().create_future()
            self._waiters.append((count, future))
            await future

    def count_processed(self) -> None:
        """One more update handled (by PTB's tasks, or answered by the press lane)."""
        self.processed += 1
        if self._waiters:
            for waiter in [w for w in self._waiters if w[0] <= self.processed]:
                self._waiters.remove(waiter)
                if not waiter[1].done():
                    waiter[1].set_result(None)

    async def initialize(self) -> None:
        """Nothing to open: the lines live as long as a chat has updates in them."""

    async def shutdown(self) -> None:
        """Nothing to close."""


def build_application(settings: Settings, polling: BaseRequest, *, transport: Transport = "aiohttp",
                      concurrent_updates: int = CONCURRENT_UPDATES) -> Application:  # type: ignore[type-arg]
    """PTB's Application for our bot, built from settings (no job queue: our scheduler does that work; no
    Updater: the channel polls with `polling` itself, see `TelegramChannel._poll`)."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    # Opt in to PTB 22's coming default (time periods as timedelta); otherwise every 429 warns.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    return (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.reveal())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .request(make_request(transport, connection_pool_size=256))
        .get_updates_request(polling)
        .concurrent_updates(PerChatUpdateProcessor(concurrent_updates))
        .job_queue(None)
        .updater(None)
        .build()
    )


class TelegramChannel:
    """The Telegram adapter the process runs: start/stop, polling or the webhook route, health, the outbox sender.

    Every update comes in through `_arrived` as Telegram sent it: a press the press lane takes (a poll vote) is
    never parsed into PTB objects; anything else is parsed, takes its place in its chat's line and is queued
    for PTB's Application, which calls `_on_update`.
    """

    name = CHANNEL

    def __init__(self, app: App, *, transport: Transport = "aiohttp", concurrent_updates: int = CONCURRENT_UPDATES,
                 poll_timeout: float = 30.0) -> None:
        self.app = app
        self.settings = app.settings
        self.store = app.store
        self.webhook = app.settings.telegram_mode == "webhook"
        self.transport = transport
        self.poll_timeout = poll_timeout
        polling = make_request(transport, connection_pool_size=2, read_timeout=poll_timeout + POLL_READ_MARGIN)
        self.application = build_application(app.settings, polling, transport=transport,
                                              concurrent_updates=concurrent_updates)
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        self.outbound = TelegramOutbound(self.application.bot, app.store, app.settings.media_dir, app.clock)
        self.sender = TelegramSender(self.outbound, app.store, app.settings.default_locale)
        self._official_menus: dict[str, str] = {}  # chat id -> the locale of the official menu it was given
        self._menu_refresher: asyncio.Task[None] | None = None
        self.polling_api = BotApi(self.application.bot, polling)
        self.lane = PressLane(app.engine, self.processor, self._toast, self._usual_turn)
        self._polling: asyncio.Task[None] | None = None
        self._offset = 0   # the next update id to ask for; asking confirms every one before it

    @property
    def processor(self) -> PerChatUpdateProcessor:
        return self.application.update_processor  # type: ignore[return-value]

    async def start(self) -> None:
        await self.application.initialize()  # getMe: fails fast on a wrong token or base URL
        await self.store.telegram_keys.purge(self.app.clock() - KEY_RETENTION)
        await self.publish_commands()
        await self.application.start()
        self.lane.start()
        if self.webhook:
            assert self.settings.public_base_url and self.settings.telegram_webhook_secret
            await self.application.bot.set_webhook(
                self.settings.public_base_url + WEBHOOK_PATH, allowed_updates=ALLOWED_UPDATES,
                secret_token=self.settings.telegram_webhook_secret.reveal(),
            )
        else:
            await self.application.bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
            self._polling = asyncio.create_task(self._poll(), name="telegram-polling")
        self._menu_refresher = asyncio.create_task(self._refresh_official_menus_forever())
        log.info("telegram started as @%s mode=%s transport=%s", self.application.bot.username,
                 self.settings.telegram_mode, self.transport)

    async def stop(self) -> None:
        """Stop fetching (confirming what was taken), finish the updates already taken, close the HTTP sessions."""
        if self._menu_refresher is not None:
            self._menu_refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._menu_refresher
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)
            self._polling = None
            try:  # so that Telegram does not send again what this process took
                await self.polling_api.call("getUpdates", offset=self._offset, timeout=0)
            except TelegramError as error:
                log.warning("could not confirm the last updates taken; Telegram may send them again: %s", error)
        await self.lane.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def _poll(self) -> None:
        """Long polling, ours rather than PTB's Updater, so every update reaches `_arrived` as Telegram sent it;
        asking for the next ones confirms those taken. After a failure it waits 1 s, doubling up to 30 s, or as
        long as a 429 asks."""
        pause = 0.0
        while True:
            try:
                updates = await self.polling_api.call(
                    "getUpdates", offset=self._offset, timeout=int(self.poll_timeout),
                    allowed_updates=list(ALLOWED_UPDATES))
            except TelegramError as error:
                _polling_failed(error)
                pause = max(min(MAX_POLL_PAUSE, pause * 2 or 1.0), outcome_of(error).retry_after or 0.0)
                await asyncio.sleep(pause)
                continue
            pause = 0.0
            for raw in updates:
                self._offset = max(self._offset, int(raw["update_id"]) + 1)
                self._arrived(raw)

    def _arrived(self, raw: dict[str, Any]) -> None:
        """One update as Telegram sent it: to the press lane, or parsed and queued for PTB in its chat's line."""
        if self.lane.take(raw):
            return
        try:
            update = self._parsed(raw)
        except (TypeError, ValueError, KeyError):
            log.exception("telegram sent an update we cannot read; skipped")
            return
        self.processor.arrive(update)
        self.application.update_queue.put_nowait(update)  # PTB's queue has no bound

    async def _usual_turn(self, raw: dict[str, Any]) -> None:
        """A press the lane could not take in bulk, handled as any update (its chat's line is held meanwhile)."""
        await self.application.process_update(self._parsed(raw))

    def _parsed(self, raw: dict[str, Any]) -> Update:
        """PTB's Update. Of a pressed message only its chat and id are read (`after_press`): its text and keyboard
        are left out, which halves PTB's work on a button press (about 450 -> 210 µs here)."""
        query = raw.get("callback_query")
        message = query.get("message") if isinstance(query, dict) else None
        if isinstance(message, dict) and message.get("date"):
            pressed = {key: message[key] for key in ("message_id", "date", "chat") if key in message}
            raw = {**raw, "callback_query": {**query, "message": pressed}}  # type: ignore[dict-item]
        return Update.de_json(raw, self.application.bot)

    async def _toast(self, query_id: str, text: str | None) -> None:
        await self.outbound.api.call("answerCallbackQuery", callback_query_id=query_id, text=text)

    def web_routes(self) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self._on_webhook)] if self.webhook else []

    def health(self) -> dict[str, Any]:
        username = None
        with contextlib.suppress(RuntimeError):  # not known before getMe
            username = self.application.bot.username
        return {
            "mode": self.settings.telegram_mode,
            "transport": self.transport,
            "running": self.application.running,
            "bot": username,
            "updates_processed": self.processor.processed,
        }

    async def publish_commands(self) -> None:
        """The command menu: citizens' commands per language; officials' extra ones scoped to their chat."""
        registry = self.app.engine.registry
        citizen = [(name, msgid) for name, msgid, official in registry.command_help if not official]
        bot = self.application.bot
        default = self.settings.default_locale
        try:
            await bot.set_my_commands(_commands(citizen, default))
            for locale in SUPPORTED:
                if locale != default:
                    await bot.set_my_commands(_commands(citizen, locale), language_code=locale)
        except TelegramError as error:
            log.warning("could not set the command menu: %s", error)
            return
        await self.refresh_official_menus()

    async def refresh_official_menus(self) -> None:
        """Give each official's chat the official command menu, in their language, and take it back from
        whoever is no longer an official; only what changed since the last time is sent."""
        registry = self.app.engine.registry
        help_ = registry.command_help
        commands = [(name, msgid) for name, msgid, official in help_ if not official] + \
                   [(name, msgid) for name, msgid, official in help_ if official]
        default = self.settings.default_locale
        wanted = {chat_id: default for chat_id in self.settings.official_telegram_ids}
        wanted.update({user.external_id: user.locale or default for user in await self.store.users.officials()
                       if user.channel == CHANNEL})
        bot = self.application.bot
        for chat_id, locale in wanted.items():
            if self._official_menus.get(chat_id) == locale:
                continue
            try:
                await bot.set_my_commands(_commands(commands, locale), scope=BotCommandScopeChat(int(chat_id)))
                self._official_menus[chat_id] = locale
            except TelegramError as error:  # e.g. an official who has not opened the bot yet
                log.warning("could not set official commands for a chat: %s", error)
        for chat_id in [chat_id for chat_id in self._official_menus if chat_id not in wanted]:
            try:
                await bot.delete_my_commands(scope=BotCommandScopeChat(int(chat_id)))  # back to the citizen menu
                del self._official_menus[chat_id]
            except TelegramError as error:
                log.warning("could not take official commands back from a chat: %s", error)

    async def _refresh_official_menus_forever(self) -> None:
        while True:
            await asyncio.sleep(OFFICIAL_MENU_EVERY)
            try:
                await self.refresh_official_menus()
            except Exception:  # a failed refresh must not end the loop; the next one tries again
                log.exception("could not refresh the official command menus")

    async def _on_webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST: refuse unless it carries our secret; queue the update for the processor."""
        secret = self.settings.telegram_webhook_secret
        given = request.headers.get(SECRET_HEADER, "")
        if secret is None or not hmac.compare_digest(given.encode(), secret.reveal().encode()):
            log.warning("telegram webhook refused: wrong or missing secret token")
            return web.Response(status=403)
        if not self.application.running:
            return web.Response(status=503)  # Telegram retries later
        try:
            data = await request.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400)
        self._arrived(data)
        return web.Response()

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.my_chat_member is not None:
            await self._on_membership(update.my_chat_member)
        elif update.callback_query is not None:
            await self._on_press(update, update.callback_query)
        elif update.message is not None:
            await self._on_message(update, update.message)
        elif update.edited_message is not None:
            edited = update.edited_message
            if is_private(edited) and edited.location is None:  # live locations move by editing: no answer
                await self._notice(edited, "edited")

    async def _on_message(self, update: Update, message: Message) -> None:
        bot = self.application.bot
        if not is_private(message):
            if addressed_to_bot(message, bot.id, bot.username):
                await self._notice(message, "group")
            return
        if unsupported(message):
            await self._notice(message, "unsupported")
            return
        media = await fetch_photo(message, bot, self.settings.media_dir)
        if isinstance(media, str):
            await self._notice(message, media)
            return
        text = message.text or message.caption or ""
        location = location_of(message)
        phone = own_phone(message)
        if not (text or location or media or phone):
            return  # service messages (pins, joins) and other people's contact cards
        sender = message.from_user
        incoming = Incoming(
            CHANNEL, str(message.chat_id), text=text, location=location, media=(media,) if media else (),
            phone=phone, message_id=str(update.update_id),
            display_name=sender.full_name[:MAX_DISPLAY_NAME] if sender else None,
            language_hint=sender.language_code if sender else None,
        )
        replies = await self.app.engine.handle(incoming)
        await self._send(message.chat_id, replies, current_locale())  # the engine set the user's locale

    async def _on_press(self, update: Update, query: CallbackQuery) -> None:
        """Answer the press at once, let the engine act, then take the keyboard off the pressed message."""
        answered = asyncio.create_task(_answer(self.outbound, query))
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE or not query.data:
            await answered
            return
        payload = query.data
        if payload.startswith(KEY_PREFIX):  # an unknown key stays as it is: the engine calls it outdated
            payload = await self.store.telegram_keys.payload(payload) or payload
        incoming = Incoming(
            CHANNEL, str(chat.id), payload=payload, message_id=str(update.update_id),
            display_name=query.from_user.full_name[:MAX_DISPLAY_NAME], language_hint=query.from_user.language_code,
        )
        replies = await self.app.engine.handle(incoming)
        locale = current_locale()
        await answered
        if not replies:  # handled before (Telegram sent it again) or dropped: its message stays as it is
            return
        try:
            rest = await self.outbound.after_press(query, replies)
        except Forbidden:
            await self.store.users.mark_unreachable(CHANNEL, str(chat.id))
            return
        except TelegramError as error:
            if outcome_of(error).outcome != "retry":
                raise
            rest = list(replies)  # the pressed message keeps its keyboard; a later press of it is outdated
        await self._send(chat.id, rest, locale)

    async def _on_membership(self, change: ChatMemberUpdated) -> None:
        """A user who blocks the bot is unreachable until they write again."""
        if change.chat.type == ChatType.PRIVATE and change.new_chat_member.status == ChatMemberStatus.BANNED:
            await self.store.users.mark_unreachable(CHANNEL, str(change.chat.id))
            log.info("telegram user blocked the bot; marked unreachable")

    async def _notice(self, message: Message, notice: Notice) -> None:
        locale = await self._locale_for(message)
        with use_locale(locale):
            text = notice_text(notice, self.application.bot.username)
        await self._send(message.chat_id, [Reply(text)], locale)

    async def _send(self, chat_id: int, replies: Sequence[Reply], locale: str) -> None:
        """Reply now; what Telegram refuses for now (429, 5xx, a timeout) goes to the outbox with the replies
        after it, so the person still gets the whole answer, in order, once Telegram takes it."""
        waiting = await waiting_reply_due(self.app, CHANNEL, str(chat_id)) if replies else None
        if waiting is not None:
            await defer_replies(self.app, CHANNEL, str(chat_id), replies, after=waiting)  # behind the earlier one
            return
        for index, reply in enumerate(replies):
            for _message in range(messages_in(reply)):
                self.app.count_direct_send(CHANNEL)
            try:
                await self.outbound.send(chat_id, [reply], locale)
            except Forbidden:
                await self.store.users.mark_unreachable(CHANNEL, str(chat_id))
                log.info("telegram chat unreachable while replying; marked")
                return
            except TelegramError as error:
                result = outcome_of(error)
                if result.outcome != "retry":
                    raise
                await defer_replies(self.app, CHANNEL, str(chat_id), replies[index:], result.retry_after)
                log.warning("telegram reply deferred to the outbox error=%s", result.error)
                return

    async def _locale_for(self, message: Message) -> str:
        """The language of someone the engine did not see this time: their stored choice, else their app's."""
        user = await self.store.users.find(CHANNEL, str(message.chat_id))
        hint = message.from_user.language_code if message.from_user else None
        return pick_locale(user.locale if user else None, hint, default=self.settings.default_locale)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log first; then, if a private chat is waiting for an answer, say something kind."""
        log.error("telegram update failed", exc_info=context.error)
        message = update.effective_message if isinstance(update, Update) else None
        if message is None or not is_private(message):
            return
        with contextlib.suppress(TelegramError):
            with use_locale(await self._locale_for(message)):
                text = _("Sorry, something went wrong on our side. Please try again in a moment, or type MENU.")
            await self.application.bot.send_message(message.chat_id, text)


class TelegramSender:
    """Outbox delivery on Telegram: send, and say what Telegram's answer means for the message."""

    channel = CHANNEL

    def __init__(self, outbound: TelegramOutbound, store: Store, default_locale: str) -> None:
        self.outbound = outbound
        self.store = store
        self.default_locale = default_locale

    async def send(self, message: OutboxMessage) -> SendResult:
        try:
            chat_id = int(message.external_id)
            replies = replies_from_json(message.body)
        except (ValueError, TypeError, KeyError) as error:
            return SendResult("final", error=f"unreadable outbox message: {type(error).__name__}")
        locale = await self._recipient_locale(message, replies)
        try:
            last_id = await self.outbound.send(chat_id, replies, locale)
        except TelegramError as error:
            return outcome_of(error)
        return SendResult.sent(str(last_id) if last_id is not None else None)

    async def _recipient_locale(self, message: OutboxMessage, replies: Sequence[Reply]) -> str:
        """Texts are already in the recipient's language; only our own button words may need it."""
        if message.user_id is None or not any(reply.request or not reply.text for reply in replies):
            return self.default_locale
        user = await self.store.users.get(message.user_id)
        return pick_locale(user.locale if user else None, default=self.default_locale)


def _commands(entries: Sequence[tuple[str, str]], locale: str) -> list[BotCommand]:
    seen: set[str] = set()
    commands = []
    with use_locale(locale):
        for name, msgid in entries:
            if COMMAND_NAME.fullmatch(name) and name not in seen:
                seen.add(name)
                commands.append(BotCommand(name, _(msgid)[:256]))
    return commands[:100]


async def _answer(outbound: TelegramOutbound, query: CallbackQuery) -> None:
    """Stop the button's spinner; a query too old to answer is no reason to stop."""
    try:
        await outbound.answer_press(query)
    except BadRequest as error:
        log.debug("callback query not answered: %s", error.message)


def _polling_failed(error: TelegramError) -> None:
    log.warning("telegram polling failed, retrying: %s", error)
