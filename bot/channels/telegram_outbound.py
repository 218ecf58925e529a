"""Replies rendered on Telegram, and Telegram's answers turned into outcomes the outbox can act on.

A `Reply` becomes: its photos, then its text (HTML parse mode, every character escaped, split at
paragraphs below Telegram's limit) with the keyboard on the last piece: inline buttons for options, or
a one-time reply keyboard with a "Kirim lokasi" button when a location is asked; then its files as
documents (CSV and data exports). Only photos and files inside the media folder are ever sent. Button
payloads that do not fit Telegram's 64-byte callback_data travel as a short key stored in SQLite.

Text and keyboards go out through `BotApi`: plain JSON on the bot's own request object, so PTB's transport,
timeouts and errors apply, without building PTB objects for every button and parsing every answer back into a
`Message` (together half of the channel's CPU per update, benchmarks/RESULTS.md). Photos and documents still
use PTB's upload code.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telegram import Bot, CallbackQuery, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import BaseRequest, RequestData

from bot.channels.text_menu import split_message
from bot.outbox_worker import SendResult
from handlers.i18n import _, use_locale
from handlers.types import Option, Reply
from storage.db import Store

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput

log = logging.getLogger("sinergi.telegram")

TEXT_LIMIT = 4000            # Telegram allows 4096 characters; the margin covers emoji counted twice
CALLBACK_DATA_BYTES = 64
KEY_PREFIX = "~"             # callback_data starting with this is a key into telegram_callback_keys
TWO_COLUMN_LABEL = 16        # labels up to this long sit two to a row
REMEMBERED_KEYBOARDS = 10_000
# A 400 answer with these words means the chat cannot receive anything from us.
UNREACHABLE_WORDS = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated")
# Edits of a pressed message may fail harmlessly (already edited, too old, deleted).
HARMLESS_EDIT_WORDS = ("message is not modified", "message to edit not found", "message can't be edited")


def callback_data(payload: str) -> str:
    """The payload itself when it fits, else a short key derived from it (the same payload, the same key)."""
    if not payload.startswith(KEY_PREFIX) and len(payload.encode()) <= CALLBACK_DATA_BYTES:
        return payload
    digest = hashlib.sha256(payload.encode()).digest()[:18]
    return KEY_PREFIX + base64.urlsafe_b64encode(digest).decode()


def inline_keyboard(options: Sequence[Option]) -> dict[str, Any]:
    buttons = [{"text": option.label, "callback_data": callback_data(option.payload)} for option in options]
    width = 2 if all(len(option.label) <= TWO_COLUMN_LABEL for option in options) else 1
    return {"inline_keyboard": [buttons[i:i + width] for i in range(0, len(buttons), width)]}


def request_keyboard(reply: Reply) -> dict[str, Any]:
    """The share-location (or share-contact) button, with the options as plain buttons below it.

    A plain button sends its label as text; the engine matches a typed label to the offered option.
    """
    if reply.request == "location":
        share = {"text": _("Send location"), "request_location": True}
    else:
        share = {"text": _("Share my phone number"), "request_contact": True}
    rows = [[share]] + [[{"text": option.label}] for option in reply.options]
    return {"keyboard": rows, "resize_keyboard": True, "one_time_keyboard": True}


REMOVE_KEYBOARD = {"remove_keyboard": True}


def messages_in(reply: Reply) -> int:
    """How many messages `TelegramOutbound` makes of a reply: its photos, its text (one piece below the
    limit, as nearly all are) and its files."""
    return len(reply.media) + bool(reply.text or reply.options or reply.request) + len(reply.files)


class _JsonParameters(RequestData):
    """Parameters already in Bot API form (PTB's docs allow encoding `json_parameters` yourself)."""

    def __init__(self, parameters: dict[str, str]) -> None:
        super().__init__()
        self._encoded = parameters

    @property
    def json_parameters(self) -> dict[str, str]:
        return self._encoded


class BotApi:
    """A Bot API method called with plain values; answers as Telegram sends them (a dict, or True, or a list).

    On the bot's request object, or on another one of PTB's (the channel polls on its own, see telegram.py).
    """

    def __init__(self, bot: Bot, request: BaseRequest | None = None) -> None:
        self.bot = bot
        self.request = request or bot.request

    async def call(self, method: str, *, read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
                   **params: Any) -> Any:
        encoded = {name: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                   for name, value in params.items() if value is not None}
        return await self.request.post(f"{self.bot.base_url}/{method}", _JsonParameters(encoded),
                                       read_timeout=read_timeout)


def outcome_of(error: TelegramError) -> SendResult:
    """What the outbox should do after Telegram refused a message."""
    reason = f"{type(error).__name__}: {error.message}"[:300]
    if isinstance(error, RetryAfter):
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return SendResult("retry", retry_after=seconds, error=reason)
    if isinstance(error, Forbidden):  # blocked, deactivated, kicked, never started the bot
        return SendResult("final", error=reason, unreachable=True)
    if isinstance(error, BadRequest):  # the same request would fail again
        unreachable = any(words in error.message.lower() for words in UNREACHABLE_WORDS)
        return SendResult("final", error=reason, unreachable=unreachable)
    if isinstance(error, ChatMigrated):
        return SendResult("final", error=reason)
    if isinstance(error, NetworkError):  # timeouts, connection errors, 5xx
        return SendResult("retry", error=reason)
    return SendResult("retry", error=reason)  # e.g. an invalid token: keep the message until it is fixed


class TelegramOutbound:
    """Sends a chat its replies in order; one per process, shared by direct replies and the outbox."""

    def __init__(self, bot: Bot, store: Store, media_dir: Path, clock: Callable[[], datetime]) -> None:
        self.bot = bot
        self.api = BotApi(bot)
        self.store = store
        self.media_dir = media_dir.resolve()
        self.clock = clock
        self._reply_keyboards: dict[int, None] = {}  # chats shown a request keyboard not yet removed

    async def send(self, chat_id: int, replies: Sequence[Reply], locale: str) -> int | None:
        """Send every reply (our own words, like the location button, in `locale`); returns the last message id."""
        with use_locale(locale):
            return await self._send(chat_id, replies)

    async def _send(self, chat_id: int, replies: Sequence[Reply]) -> int | None:
        last_id = None
        for reply in replies:
            for path in reply.media:
                photo = self._media_file(path)
                if photo is None:
                    log.warning("reply photo outside the media folder or missing; skipped")
                    continue
                last_id = (await self.bot.send_photo(chat_id, photo)).message_id
            text = reply.text or (_("Please choose:") if reply.options or reply.request else "")
            if text:
                markup = await self._markup(chat_id, reply)
                pieces = split_message(text, TEXT_LIMIT)
                for index, piece in enumerate(pieces):
                    sent = await self.api.call(
                        "sendMessage", chat_id=chat_id, text=html.escape(piece, quote=False),
                        parse_mode=ParseMode.HTML, reply_markup=markup if index == len(pieces) - 1 else None,
                    )
                    last_id = sent["message_id"]
            for path in reply.files:
                document = self._media_file(path)
                if document is None:
                    log.warning("reply file outside the media folder or missing; skipped")
                    continue
                last_id = (await self.bot.send_document(chat_id, document, filename=document.name)).message_id
        return last_id

    async def answer_press(self, query: CallbackQuery) -> None:
        """Stop the button's spinner."""
        await self.api.call("answerCallbackQuery", callback_query_id=query.id)

    async def after_press(self, query: CallbackQuery, replies: Sequence[Reply]) -> list[Reply]:
        """Take the keyboard off the pressed message so it cannot be pressed twice.

        A first reply marked `edit` replaces the pressed message instead; the rest is returned to send.
        """
        message = query.message
        if not isinstance(message, Message):  # too old for Telegram to show us
            return list(replies)
        first = replies[0] if replies else None
        pressed = {"chat_id": message.chat_id, "message_id": message.message_id}
        try:
            if (first is not None and first.edit and first.text and not first.media and not first.files
                    and not first.request and len(first.text) <= TEXT_LIMIT):
                await self.api.call("editMessageText", **pressed, text=html.escape(first.text, quote=False),
                                    parse_mode=ParseMode.HTML,
                                    reply_markup=await self._inline(first) if first.options else None)
                return list(replies[1:])
            await self.api.call("editMessageReplyMarkup", **pressed)
        except BadRequest as error:
            if not any(words in error.message.lower() for words in HARMLESS_EDIT_WORDS):
                raise
            log.debug("pressed message not edited: %s", error.message)
        return list(replies)

    async def _markup(self, chat_id: int, reply: Reply) -> dict[str, Any] | None:
        if reply.request in ("location", "contact"):
            self._reply_keyboards[chat_id] = None
            if len(self._reply_keyboards) > REMEMBERED_KEYBOARDS:
                del self._reply_keyboards[next(iter(self._reply_keyboards))]
            return request_keyboard(reply)
        if reply.options:
            return await self._inline(reply)
        if chat_id in self._reply_keyboards:
            del self._reply_keyboards[chat_id]
            return REMOVE_KEYBOARD
        return None

    async def _inline(self, reply: Reply) -> dict[str, Any]:
        """The option buttons, after storing the key of every payload too long for callback_data."""
        keyed = [(data, option.payload) for option in reply.options
                 if (data := callback_data(option.payload)) != option.payload]
        if keyed:
            await self.store.telegram_keys.remember(keyed, self.clock())
        return inline_keyboard(reply.options)

    def _media_file(self, path: str) -> Path | None:
        """Only files in our media folder are sent, whatever path a reply names."""
        resolved = Path(path).resolve()
        if resolved.is_relative_to(self.media_dir) and resolved.is_file():
            return resolved
        return None
