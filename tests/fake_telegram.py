"""A fake Telegram Bot API on 127.0.0.1: real HTTP, real Update JSON, every call recorded.

It implements what Sinergi's bot uses (getMe, getUpdates with long polling, sendMessage, sendPhoto,
sendDocument, editMessageText, editMessageReplyMarkup, answerCallbackQuery, getFile and file downloads, setMyCommands,
deleteMyCommands, setWebhook, deleteWebhook) and answers like Telegram does, including its errors, which a test can
inject (`fail("sendMessage", 429, retry_after=3)`, 403 blocked, 400 chat not found, 5xx).

`TelegramUser` plays one person: `await user.send("halo")`, `await user.click("Bahasa Indonesia")`,
`await user.share_location(...)`, `await user.send_photo(jpeg_bytes)`; each call delivers one Update
(by getUpdates, or POSTed to the bot's webhook with its secret), waits until the bot has processed it,
and returns what the bot did in that chat meanwhile (`user.toast`: what it showed on a pressed button).

`FakeTelegram(delay=0.05)` answers every call 50 ms late, as a distant server would; benchmarks also pass
`record=False` (keep no call list), `on_call` (see each successful call as it is answered) and `limits`
(`tests.fake_limits.SendLimits`: a rate with 429 past it, server errors, blocked users, on every send).
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from tests.fake_limits import SendLimits

TOKEN = "123456789:AAFakeTokenForSinergiTests_0123456789ab"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Sinergi", "username": "SinergiTestBot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "scope", "entities", "link_preview_options",
               "reply_parameters"}
NUMBER_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout"}
SENDING = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    filenames: dict[str, str] = field(default_factory=dict)  # upload field -> the file name it was sent under
    result: Any = None                  # what the fake answered, when it succeeded
    at: float = field(default_factory=time.monotonic)  # when it arrived, to measure the bot's pace

    @property
    def chat_id(self) -> int | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str:
        """The text as the user sees it (HTML entities resolved)."""
        raw = self.params.get("text") or self.params.get("caption") or ""
        return html.unescape(raw) if self.params.get("parse_mode") == "HTML" else raw

    @property
    def markup(self) -> dict[str, Any] | None:
        return self.params.get("reply_markup")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every button of the inline or reply keyboard, row by row."""
        markup = self.markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [button if isinstance(button, dict) else {"text": button} for row in rows for button in row]


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None
    times: int


class FakeTelegram:
    def __init__(self, token: str = TOKEN, *, delay: float = 0.0, record: bool = True,
                 on_call: Callable[[Call], None] | None = None, limits: SendLimits | None = None) -> None:
        self.token = token
        self.limits = limits
        self.record = record
        self.on_call = on_call
        self.calls: list[Call] = []
        self.latency = delay          # seconds each API call takes to answer: the round trip to a real server
        self.webhook: dict[str, Any] | None = None
        self.files: dict[str, tuple[str, bytes]] = {}       # file_id -> (file_path, content)
        self._updates: list[dict[str, Any]] = []            # not yet confirmed by an offset
        self._update_ids = itertools.count(500_000)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self._called = asyncio.Event()
        self._failures: dict[str, list[Failure]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        self._arrived.set()  # release a long poll still waiting, so the server stops at once
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- what a test does -------------------------------------------------------------------------

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Make an update available to getUpdates (numbered, unless it already is)."""
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        self._arrived.set()
        return update

    async def post_webhook(self, update: dict[str, Any], url: str, secret: str | None = "registered") -> int:
        """POST an update as Telegram would: to `url`, with the secret token registered by setWebhook."""
        update.setdefault("update_id", next(self._update_ids))
        if secret == "registered":
            secret = (self.webhook or {}).get("secret_token")
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with aiohttp.ClientSession() as session, session.post(url, json=update, headers=headers) as answer:
            return answer.status

    def fail(self, method: str, status: int, description: str = "", *, retry_after: int | None = None,
             chat_id: int | None = None, times: int = 1) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with an error."""
        default = {429: "Too Many Requests: retry after {n}", 403: "Forbidden: bot was blocked by the user",
                   400: "Bad Request: chat not found", 500: "Internal Server Error", 502: "Bad Gateway"}
        text = description or default.get(status, "Error").format(n=retry_after)
        self._failures.setdefault(method, []).append(Failure(status, text, retry_after, chat_id, times))

    def add_file(self, content: bytes, suffix: str = "jpg") -> str:
        """Make a file downloadable through getFile; returns its file_id."""
        number = next(self._file_ids)
        file_id = f"FILE{number:06d}"
        self.files[file_id] = (f"photos/file_{number}.{suffix}", content)
        return file_id

    def of(self, method: str | tuple[str, ...], chat_id: int | None = None) -> list[Call]:
        methods = (method,) if isinstance(method, str) else method
        return [c for c in self.calls if c.method in methods and (chat_id is None or c.chat_id == chat_id)]

    async def wait_for(self, method: str, chat_id: int | None = None, count: int = 1, within: float = 5.0) -> None:
        """Wait until the bot has made `count` calls of `method` (to `chat_id`, if given)."""
        async with asyncio.timeout(within):
            while len(self.of(method, chat_id)) < count:
                self._called.clear()
                await self._called.wait()

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        return self._messages[(chat_id, message_id)]

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def add_message(self, chat_id: int, text: str, reply_markup: dict[str, Any] | None = None) -> dict[str, Any]:
        """A message the bot sent earlier (a pushed poll, say), kept as Telegram keeps it; returns it."""
        return self._store_message({"chat_id": chat_id, "reply_markup": reply_markup}, text=text)

    # --- the Bot API -----------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files, filenames = await _read_params(request)
        call = Call(method, params, files, filenames)
        if self.record:
            self.calls.append(call)
        self._called.set()
        if self.latency:
            await asyncio.sleep(self.latency)
        failure = self._failure_for(method, params.get("chat_id"))
        if failure is not None:
            return _error(failure.status, failure.description, failure.retry_after)
        if self.limits is not None and method in ("sendMessage", "sendPhoto"):
            verdict = self.limits.decide(str(params.get("chat_id")))
            if verdict.outcome == "limited":
                return _error(429, f"Too Many Requests: retry after {verdict.retry_after}", verdict.retry_after)
            if verdict.outcome == "blocked":
                return _error(403, "Forbidden: bot was blocked by the user")
            if verdict.outcome == "error":
                return _error(502, "Bad Gateway")
        handler = getattr(self, "_" + method, None)
        if handler is None:
            return _error(404, "Not Found")
        result = await handler(params, files)
        if isinstance(result, web.Response):
            return result
        call.result = result
        if self.on_call is not None:
            self.on_call(call)
        return web.json_response({"ok": True, "result": result})

    def _failure_for(self, method: str, chat_id: int | None) -> Failure | None:
        for failure in self._failures.get(method, []):
            if failure.chat_id is None or failure.chat_id == chat_id:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures[method].remove(failure)
                return failure
        return None

    async def _getMe(self, _params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        return BOT_USER

    async def _getUpdates(self, params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        offset = params.get("offset") or 0
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and params.get("timeout"):
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout=float(params["timeout"]))
            except TimeoutError:
                pass
        return self._updates[: params.get("limit") or 100]

    async def _deleteWebhook(self, _params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        self.webhook = None
        return True

    async def _setWebhook(self, params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        self.webhook = params
        return True

    async def _setMyCommands(self, _params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        return True

    async def _deleteMyCommands(self, _params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        return True

    async def _answerCallbackQuery(self, _params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        return True

    async def _sendMessage(self, params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        if not params.get("text"):
            return _error(400, "Bad Request: message text is empty")
        if len(Call("sendMessage", params).text) > 4096:
            return _error(400, "Bad Request: message is too long")
        return self._store_message(params, text=Call("sendMessage", params).text)

    async def _sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if "photo" not in files and not params.get("photo"):
            return _error(400, "Bad Request: there is no photo in the request")
        file_id = self.add_file(files.get("photo", b""))
        size = len(files.get("photo", b""))
        return self._store_message(params, photo=[{"file_id": file_id, "file_unique_id": file_id,
                                                    "width": 800, "height": 600, "file_size": size}])

    async def _sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if "document" not in files and not params.get("document"):
            return _error(400, "Bad Request: there is no document in the request")
        content = files.get("document", b"")
        file_id = self.add_file(content, "bin")
        return self._store_message(params, document={"file_id": file_id, "file_unique_id": file_id,
                                                     "file_size": len(content)})

    async def _editMessageText(self, params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        message = self._messages.get((params.get("chat_id"), params.get("message_id")))  # type: ignore[arg-type]
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        message["text"] = Call("editMessageText", params).text
        _set_markup(message, params.get("reply_markup"))
        return message

    async def _editMessageReplyMarkup(self, params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        message = self._messages.get((params.get("chat_id"), params.get("message_id")))  # type: ignore[arg-type]
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        if message.get("reply_markup") == params.get("reply_markup"):
            return _error(400, "Bad Request: message is not modified: specified new message content and reply "
                               "markup are exactly the same as a current content and reply markup of the message")
        _set_markup(message, params.get("reply_markup"))
        return message

    async def _getFile(self, params: dict[str, Any], _files: dict[str, bytes]) -> Any:
        known = self.files.get(str(params.get("file_id")))
        if known is None:
            return _error(400, "Bad Request: invalid file_id")
        path, content = known
        return {"file_id": params["file_id"], "file_unique_id": params["file_id"], "file_size": len(content),
                "file_path": path}

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        for path, content in self.files.values():
            if path == request.match_info["path"]:
                return web.Response(body=content, content_type="application/octet-stream")
        return web.Response(status=404)

    def _store_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params["chat_id"]
        message = {"message_id": self.next_message_id(), "date": int(time.time()), "from": BOT_USER,
                   "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"}, **content}
        _set_markup(message, params.get("reply_markup"))
        self._messages[(chat_id, message["message_id"])] = message
        return message


def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
    """Telegram keeps only inline keyboards on a message; reply keyboards live in the user's app."""
    if markup and "inline_keyboard" in markup:
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes], dict[str, str]]:
    if request.method == "GET":
        raw: dict[str, Any] = dict(request.query)
    elif request.content_type == "application/json":
        raw = await request.json()
    else:
        raw = dict(await request.post())
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    filenames: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, web.FileField):
            files[key] = value.file.read()
            filenames[key] = value.filename
        elif isinstance(value, str) and key in JSON_FIELDS:
            params[key] = json.loads(value)
        elif isinstance(value, str) and key in NUMBER_FIELDS and value.lstrip("-").isdigit():
            params[key] = int(value)
        else:
            params[key] = value
    return params, files, filenames


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


# --- people ----------------------------------------------------------------------------------------


class Processor(Protocol):
    """What the bot tells about its progress (Sinergi's PerChatUpdateProcessor)."""

    processed: int

    async def wait_processed(self, count: int) -> None: ...


class TelegramUser:
    """One person in a private chat with the bot, sending real Update JSON and reading what came back."""

    def __init__(self, fake: FakeTelegram, processor: Processor, user_id: int = 7001,
                 first_name: str = "Budi", last_name: str | None = "Santoso", language_code: str | None = "id",
                 webhook_url: str | None = None) -> None:
        self.fake = fake
        self.processor = processor
        self.webhook_url = webhook_url
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            self.user["last_name"] = last_name
        if language_code:
            self.user["language_code"] = language_code
        self.chat = {"id": user_id, "type": "private", "first_name": first_name}
        self.received: list[Call] = []   # what the bot did in this chat after the last update
        self.pressed: str | None = None  # the id of the last callback query this person sent

    @property
    def id(self) -> int:
        return self.user["id"]

    async def send(self, text: str, **extra: Any) -> list[Call]:
        content: dict[str, Any] = {"text": text, **extra}
        if text.startswith("/"):
            command = text.split()[0]
            content.setdefault("entities", [{"type": "bot_command", "offset": 0, "length": len(command)}])
        return await self.deliver(self.message_update(**content))

    async def click(self, label: str) -> list[Call]:
        """Press the inline button labelled `label` on the latest message that shows it."""
        for message_id, button in self._inline_buttons():
            if button["text"] == label:
                message = self.fake.message(self.id, message_id)
                return await self.press(button["callback_data"], message)
        raise AssertionError(f"no button {label!r}; the chat shows {self.labels}")

    async def press(self, data: str, message: dict[str, Any]) -> list[Call]:
        return await self.deliver(self.press_update(data, message))

    def press_update(self, data: str, message: dict[str, Any]) -> dict[str, Any]:
        """The update Telegram sends when this person presses the button carrying `data` on `message`."""
        query = {"id": f"cq{next(self.fake._update_ids)}", "from": self.user, "chat_instance": "42",
                 "data": data, "message": message}
        self.pressed = query["id"]
        return {"callback_query": query}

    async def tap(self, label: str) -> list[Call]:
        """Tap a plain reply-keyboard button: Telegram sends its label as text."""
        return await self.send(label)

    async def share_location(self, latitude: float, longitude: float) -> list[Call]:
        return await self.deliver(self.message_update(location={"latitude": latitude, "longitude": longitude}))

    async def send_photo(self, content: bytes, caption: str | None = None, file_size: int | None = None) -> list[Call]:
        """A photo as Telegram offers it: a thumbnail and the full size (`file_size` may claim another size)."""
        thumb_id, file_id = self.fake.add_file(content), self.fake.add_file(content)
        sizes = [{"file_id": thumb_id, "file_unique_id": thumb_id, "width": 90, "height": 90, "file_size": 900},
                 {"file_id": file_id, "file_unique_id": file_id, "width": 1280, "height": 960,
                  "file_size": len(content) if file_size is None else file_size}]
        extra = {"caption": caption} if caption else {}
        return await self.deliver(self.message_update(photo=sizes, **extra))

    async def send_document(self, content: bytes, mime_type: str, file_name: str,
                            file_size: int | None = None) -> list[Call]:
        file_id = self.fake.add_file(content, file_name.rsplit(".", 1)[-1])
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": file_name,
                    "mime_type": mime_type, "file_size": len(content) if file_size is None else file_size}
        return await self.deliver(self.message_update(document=document))

    async def share_contact(self, phone_number: str, own: bool = True) -> list[Call]:
        contact = {"phone_number": phone_number, "first_name": self.user["first_name"],
                   "user_id": self.id if own else self.id + 1}
        return await self.deliver(self.message_update(contact=contact))

    def message_update(self, **content: Any) -> dict[str, Any]:
        return {"message": {"message_id": self.fake.next_message_id(), "date": int(time.time()),
                            "chat": self.chat, "from": self.user, **content}}

    async def deliver(self, update: dict[str, Any]) -> list[Call]:
        """Hand one update to the bot, wait until it has been processed, return what the bot did."""
        before = len(self.fake.calls)
        target = self.processor.processed + 1
        if self.webhook_url:
            status = await self.fake.post_webhook(update, self.webhook_url)
            assert status == 200, f"webhook answered {status}"
        else:
            self.fake.queue_update(update)
        await processed(self.processor, target)
        self.received = [c for c in self.fake.calls[before:] if c.chat_id == self.id]
        return self.received

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.received if c.method in ("sendMessage", "sendPhoto", "editMessageText")]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def toast(self) -> str | None:
        """What the bot showed on the last button pressed (answerCallbackQuery's text): None if nothing."""
        answers = [c for c in self.fake.of("answerCallbackQuery") if c.params.get("callback_query_id") == self.pressed]
        return answers[-1].params.get("text") if answers else None

    @property
    def labels(self) -> list[str]:
        """Labels of the latest keyboard the bot showed in this chat (inline or reply keyboard)."""
        for call in reversed(self.fake.of(SENDING, self.id)):
            if call.buttons:
                return [button["text"] for button in call.buttons]
        return []

    def _inline_buttons(self) -> list[tuple[int, dict[str, Any]]]:
        """Buttons still pressable in the chat, newest message first."""
        found = []
        messages = [m for (chat, _id), m in self.fake._messages.items() if chat == self.id]
        for message in sorted(messages, key=lambda m: -m["message_id"]):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                found.extend((message["message_id"], button) for button in row)
        return found


async def processed(processor: Processor, count: int, within: float = 5.0) -> None:
    """Wait until the bot has processed `count` updates; fail the test if it takes longer than `within` s."""
    async with asyncio.timeout(within):
        await processor.wait_processed(count)
