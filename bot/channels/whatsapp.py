"""WhatsApp through Twilio: signed webhooks in, numbered text menus out, the 24-hour window respected.

Inbound: Twilio POSTs each message to `/webhooks/twilio/whatsapp`. The request must carry a valid
`X-Twilio-Signature`, computed over `PUBLIC_BASE_URL` + path (the URL Twilio called, so it works behind
a reverse proxy). It is answered at once with an empty TwiML `<Response/>` and handled in the
background, one message after another per user, so slow work never makes Twilio retry; the replies
go out through the REST API (twilio's async client).

Outbound from the outbox: within 24 hours of the user's last message, free-form text; outside it
only an approved template (`TWILIO_TEMPLATE_<KIND>` = a Content SID) filled from the row's
`template_vars`; with no template the row is held as `needs_template`. Status callbacks
(`/webhooks/twilio/status`) move the row on to delivered, read or failed.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import aiohttp
from aiohttp import web
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from yarl import URL

from bot.channels.base import defer_replies, waiting_reply_due
from bot.channels.media import MAX_PHOTO_BYTES, PHOTO_SUFFIXES, save_photo
from bot.channels.text_menu import render_text, split_message
from bot.config import Settings, SettingsError, normalise_external_id
from bot.outbox_worker import SendResult
from handlers.i18n import _, use_locale
from handlers.types import MAX_TEXT, Incoming, Location, Media, Reply, clean_text, replies_from_json
from storage.clock import from_db
from storage.outbox import OutboxMessage

if TYPE_CHECKING:
    from bot.app import App
    from storage.db import Store
    from storage.users import User

log = logging.getLogger("sinergi.whatsapp")

CHANNEL = "whatsapp"
INBOUND_PATH = "/webhooks/twilio/whatsapp"
STATUS_PATH = "/webhooks/twilio/status"

MAX_BODY = 1600                                   # Twilio's limit for one message body
SERVICE_WINDOW = timedelta(hours=23, minutes=55)  # WhatsApp's 24 hours, less a margin for queues and clocks
OUTSIDE_WINDOW = 63016                            # "free-form message outside the 24-hour window"
UNREACHABLE = frozenset({21211, 21610, 21614, 63003})  # invalid number, unsubscribed, not mobile, not on WhatsApp
MAX_MEDIA = 10                                    # Twilio sends at most ten media per message
MAX_NAME = 64
MAX_PENDING = 2000                                # messages accepted but not yet handled, all users together
REST_TIMEOUT = 15.0
MEDIA_TIMEOUT = 30.0
REPLY_ATTEMPTS = 3
MAX_PREPARED = 10_000                             # recipients read ahead for the outbox (a few batches' worth)
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
PHONE = re.compile(r"\+\d{6,15}")
TWILIO_API_HOST = re.compile(r"api(\.[a-z0-9-]+){0,2}\.twilio\.com")  # api.twilio.com, regional api.<edge>.<region>…

# Twilio's delivery statuses in the order they happen; a late or repeated callback never moves a row back.
STATUS_RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5,
               "undelivered": 6, "failed": 6, "canceled": 6}

_retry_after: contextvars.ContextVar[str | None] = contextvars.ContextVar("twilio_retry_after", default=None)


def check_settings(settings: Settings) -> None:
    """Refuse to run WhatsApp with settings that cannot work, naming the setting."""
    if not settings.public_base_url:
        raise SettingsError("PUBLIC_BASE_URL is required for WhatsApp: the public URL Twilio calls, "
                            "used to check X-Twilio-Signature (e.g. https://sinergi.example.go.id)")
    for kind, content_sid in settings.twilio_templates.items():
        if not CONTENT_SID.fullmatch(content_sid):
            raise SettingsError(f"TWILIO_TEMPLATE_{kind.upper()} must be a Content SID (HX and 32 hex digits), "
                                f"got {content_sid!r}")


# --- rendering ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """One Twilio message: a text body or one media URL (WhatsApp shows one medium per message)."""

    body: str | None = None
    media_url: str | None = None

    def fields(self) -> dict[str, Any]:
        return {"body": self.body} if self.body is not None else {"media_url": [self.media_url]}


def render_pieces(replies: Sequence[Reply]) -> list[Piece]:
    """A turn's replies as WhatsApp messages: one text (split over 1,600 characters), then the photos.

    Options become a numbered list with the number in bold; the engine maps a typed number or label
    back to the option. Photos go as media only when they have a public URL; else the text says so.
    Files (exports) are stored on our server only and WhatsApp takes media by public URL: the text says
    where to get them instead.
    """
    texts: list[str] = []
    media: list[str] = []
    for reply in replies:
        text = render_text(reply, bold=("*", "*"))
        if reply.request == "location":
            text += "\n\n" + _("To share a location in WhatsApp: tap 📎 (or +), choose *Location*, then "
                               "*Send your current location*. You can also simply type the name of your desa.")
        elif reply.request == "photo":
            text += "\n\n" + _("To send a photo: tap the camera icon, or 📎 (or +) and then *Gallery*.")
        public = [item for item in reply.media if item.startswith(("https://", "http://"))]
        if len(public) < len(reply.media):
            text += "\n\n" + _("(This message comes with a photo that cannot be shown on WhatsApp.)")
        if reply.files:
            text += "\n\n" + _("(Files cannot be sent on WhatsApp. You can get this file by opening Sinergi on "
                                 "Telegram, or ask for it at the district office.)")
        if text.strip():
            texts.append(text.strip())
        media.extend(public)
    pieces = [Piece(body=chunk) for chunk in split_message("\n\n".join(texts), MAX_BODY)] if texts else []
    return pieces + [Piece(media_url=url) for url in media]


# --- inbound parsing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InboundMessage:
    """What one signed webhook said, bounded, before its media is fetched."""

    sid: str
    external_id: str
    text: str
    payload: str | None
    display_name: str | None
    location: Location | None
    media: tuple[tuple[str, str], ...]   # (MediaUrl, MediaContentType)


def parse_inbound(form: Mapping[str, Any]) -> InboundMessage | None:
    """The webhook's fields we use; None when it names no WhatsApp sender or no MessageSid."""
    def field(name: str, limit: int) -> str:
        value = form.get(name)
        return value[:limit] if isinstance(value, str) else ""

    sid = field("MessageSid", 64)
    sender = normalise_external_id(field("From", 40))
    if not sid or not field("From", 40).startswith("whatsapp:") or not PHONE.fullmatch(sender):
        return None
    text = field("Body", MAX_TEXT * 2) or field("ButtonText", 200)
    try:
        count = min(max(int(field("NumMedia", 3) or 0), 0), MAX_MEDIA)
    except ValueError:
        count = 0
    media = tuple(
        (field(f"MediaUrl{index}", 1000), field(f"MediaContentType{index}", 100).lower())
        for index in range(count) if field(f"MediaUrl{index}", 1000)
    )
    return InboundMessage(
        sid=sid,
        external_id=sender,
        text=text,
        payload=field("ButtonPayload", 200) or None,
        display_name=clean_text(field("ProfileName", MAX_NAME * 2))[:MAX_NAME] or None,
        location=_location(field("Latitude", 32), field("Longitude", 32),
                           ", ".join(part for part in (field("Label", 200), field("Address", 300)) if part)),
        media=media,
    )


def _location(latitude: str, longitude: str, address: str) -> Location | None:
    if not latitude or not longitude:
        return None
    try:
        location = Location(float(latitude), float(longitude), clean_text(address)[:300] or None)
    except ValueError:
        return None
    return location if location.valid else None


def media_kind(content_type: str) -> str:
    if content_type in PHOTO_SUFFIXES:
        return "photo"
    for prefix, kind in (("audio/", "voice"), ("video/", "video"), ("application/", "document"), ("text/", "document")):
        if content_type.startswith(prefix):
            return kind
    return "other"



# --- the REST side --------------------------------------------------------------------------------------

class TwilioHttp(AsyncHttpClient):
    """The twilio client's transport on one aiohttp session, with a total timeout per request.

    The library's own `AsyncTwilioHttpClient` builds `aiohttp.BasicAuth`, deprecated since aiohttp 3.14
    (twilio/twilio-python#931); this one sends the Authorization header itself and keeps each
    answer's Retry-After for the caller (the same task reads it right after the call).
    """

    def __init__(self, timeout: float) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), is_async=True, timeout=timeout)
        self.session = aiohttp.ClientSession()

    async def request(self, method: str, uri: str, params: Mapping[str, Any] | None = None,
                      data: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
                      auth: tuple[str, str] | None = None, timeout: float | None = None,  # noqa: ASYNC109 - twilio's interface
                      allow_redirects: bool = False) -> Response:
        all_headers = dict(headers or {})
        if auth is not None:
            all_headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
        form = _pairs(data)
        if form:  # encoded here: aiohttp's FormData builds a multipart writer for every request (a quarter of a send)
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        async with self.session.request(
            method.upper(), uri, params=_pairs(params), data=_urlencoded(form) if form else None,
            headers=all_headers, timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as response:
            text = await response.text()
            _retry_after.set(response.headers.get("Retry-After"))
            return Response(response.status, text, response.headers)

    async def close(self) -> None:
        await self.session.close()


def _pairs(fields: Mapping[str, Any] | None) -> list[tuple[str, str]] | None:
    """Form or query fields with list values (MediaUrl) repeated, as Twilio expects."""
    if not fields:
        return None
    return [(key, str(item)) for key, value in fields.items()
            for item in (value if isinstance(value, list | tuple) else [value])]


def _urlencoded(pairs: list[tuple[str, str]]) -> bytes:
    """`urlencode`, with each name and value quoted once: a broadcast repeats all but the number (26 µs a send)."""
    return "&".join(f"{_quoted(name)}={_quoted(value)}" for name, value in pairs).encode()


@functools.lru_cache(maxsize=256)
def _quoted(text: str) -> str:
    return quote_plus(text)


def _seconds(header: str | None) -> float | None:
    try:
        return min(max(float(header), 0.0), 3600.0) if header else None
    except ValueError:
        return None


def result_of_error(status: int, code: int | None) -> SendResult:
    """What a Twilio error means for the message: try again later, or stop (and why)."""
    error = f"twilio status={status} code={code}"
    if code == OUTSIDE_WINDOW:
        return SendResult("final", error=error, state="needs_template")
    if code in UNREACHABLE:
        return SendResult("final", error=error, unreachable=True)
    if status == 429 or code == 20429 or status >= 500:
        return SendResult("retry", error=error, retry_after=_seconds(_retry_after.get()))
    return SendResult("final", error=error)


class TwilioRest:
    """Sends messages through `messages.create_async`; the client lives from `open` to `close`."""

    def __init__(self, settings: Settings) -> None:
        assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_whatsapp_from
        self.settings = settings
        self.sender = settings.twilio_whatsapp_from
        self.status_callback = f"{settings.public_base_url}{STATUS_PATH}"
        self.retry_wait = 0.5   # first pause between attempts of a direct reply; doubles each time
        self.last_error: str | None = None
        self._http: TwilioHttp | None = None
        self._client: Client | None = None

    async def open(self) -> None:
        """Create the client inside the running loop (its aiohttp session needs one)."""
        self._http = TwilioHttp(REST_TIMEOUT)
        sid, token = self.settings.twilio_account_sid, self.settings.twilio_auth_token
        assert sid and token
        self._client = Client(sid, token.reveal(), http_client=self._http)
        if self.settings.twilio_api_base_url:
            self._client.api.base_url = self.settings.twilio_api_base_url
            self._client.edge = self._client.region = None  # use the override as given, never rewrite its host

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._http = self._client = None

    async def create(self, to: str, fields: dict[str, Any], *, patient: bool = False) -> SendResult:
        """One message to `+62…`; a patient send waits and tries again on 429/5xx before giving up."""
        attempts = REPLY_ATTEMPTS if patient else 1
        result = SendResult("retry", error="not sent")
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(min(result.retry_after or self.retry_wait * 2 ** (attempt - 1), 5.0))
            result = await self._create_once(to, fields)
            if result.outcome != "retry":
                break
        if result.outcome != "sent":
            self.last_error = result.error
        return result

    async def _create_once(self, to: str, fields: dict[str, Any]) -> SendResult:
        if self._client is None:
            return SendResult("retry", error="channel not started")
        _retry_after.set(None)
        try:
            message = await self._client.messages.create_async(to=f"whatsapp:{to}", from_=self.sender, **fields)
        except (TwilioRestException, TwilioServiceException) as error:
            return result_of_error(int(error.status), int(error.code) if error.code else None)
        except (aiohttp.ClientError, TimeoutError) as error:
            return SendResult("retry", error=f"network {type(error).__name__}")
        return SendResult.sent(message.sid)

    async def send_pieces(self, to: str, pieces: Sequence[Piece], *, status_callback: bool,
                          patient: bool) -> tuple[SendResult, int]:
        """Send in order; returns the result and how many pieces went out before it.

        Pieces after the first are always sent patiently: giving up on them and retrying the whole
        message later would repeat what the user already has.
        """
        first_sid = None
        extra = {"status_callback": self.status_callback} if status_callback else {}
        for index, piece in enumerate(pieces):
            result = await self.create(to, piece.fields() | extra, patient=patient or index > 0)
            if result.outcome != "sent":
                return result, index
            first_sid = first_sid or result.provider_message_id
        return SendResult.sent(first_sid), len(pieces)


# --- outbox delivery --------------------------------------------------------------------------------------

def content_variables(template_vars: str | None) -> str | None:
    """The row's template_vars as Twilio ContentVariables: text values on one line each (WhatsApp's rule)."""
    if not template_vars:
        return None
    values = json.loads(template_vars)
    if not isinstance(values, dict):
        raise ValueError("template_vars must be a JSON object")
    return json.dumps(
        {str(key): " ".join(str(value).split())[:1000] for key, value in values.items()}, ensure_ascii=False
    )


def in_service_window(user: User | None, now: datetime) -> bool:
    """Inside WhatsApp's customer-service window: the user wrote to us less than 24 hours ago."""
    last = from_db(user.last_inbound_at) if user else None
    return last is not None and now - last < SERVICE_WINDOW


class WhatsAppSender:
    """Delivers outbox rows: free-form inside the 24-hour window, an approved template outside it."""

    channel = CHANNEL

    def __init__(self, store: Store, rest: TwilioRest, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.rest = rest
        self.settings = settings
        self.clock = clock
        self._recipients: dict[str, User] = {}  # of the batches the worker claimed, until their send

    async def prepare(self, messages: Sequence[OutboxMessage]) -> None:
        """Read a claimed batch's recipients in one query (one each cost 15-70 µs a send). The batch goes out
        within about a second, well inside the 5 minutes SERVICE_WINDOW keeps in hand; someone who writes in
        between gets the template rather than free-form text, which is still allowed."""
        if len(self._recipients) > MAX_PREPARED:  # sends the worker gave up on (a stop) leave theirs here
            self._recipients.clear()
        self._recipients.update(await self.store.users.find_many(CHANNEL, {m.external_id for m in messages}))

    async def send(self, message: OutboxMessage) -> SendResult:
        user = self._recipients.pop(message.external_id, None)  # opt-out is checked by the worker
        if user is None:
            user = await self.store.users.find(CHANNEL, message.external_id)
        locale = user.locale if user and user.locale else self.settings.default_locale
        if in_service_window(user, self.clock()):
            with use_locale(locale):
                pieces = render_pieces(replies_from_json(message.body))
            result, done = await self.rest.send_pieces(message.external_id, pieces, status_callback=True,
                                                       patient=False)
            if done and result.outcome != "sent":  # the first part arrived: sending the row again would repeat it
                return SendResult("final", error=f"{done} of {len(pieces)} parts sent; {result.error}",
                                  unreachable=result.unreachable)
            return result
        templates = self.settings.twilio_templates  # TWILIO_TEMPLATE_REPORT_STATUS, or …_REPORT_STATUS_EN for English
        content_sid = templates.get(f"{message.kind}_{locale}") or templates.get(message.kind)
        if not content_sid:
            return SendResult("final", state="needs_template",
                              error=f"outside the 24-hour window; no TWILIO_TEMPLATE_{message.kind.upper()}")
        try:
            variables = content_variables(message.template_vars)
        except ValueError as error:
            return SendResult("final", error=f"bad template_vars: {error}")
        fields = {"content_sid": content_sid, "status_callback": self.rest.status_callback}
        if variables is not None:
            fields["content_variables"] = variables
        return await self.rest.create(message.external_id, fields)


# --- the channel --------------------------------------------------------------------------------------

class UserLanes:
    """One lane per user: their messages are handled one after another, in arrival order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending = 0
        self._lanes: dict[str, deque[Callable[[], Awaitable[None]]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: str, job: Callable[[], Awaitable[None]]) -> bool:
        if self.pending >= self.limit:
            return False
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = deque()
            task = asyncio.create_task(self._run(key, lane), name=f"whatsapp-lane-{len(self._tasks)}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        lane.append(job)
        self.pending += 1
        return True

    async def _run(self, key: str, lane: deque[Callable[[], Awaitable[None]]]) -> None:
        while lane:
            try:
                await lane[0]()
            except Exception:
                log.exception("whatsapp message handling failed")
            finally:
                lane.popleft()
                self.pending -= 1
        del self._lanes[key]

    async def drain(self, grace_seconds: float | None = None) -> None:
        """Wait until every accepted message is handled (cancel what is left after `grace_seconds`)."""
        while self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            if pending:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                return


class WhatsAppChannel:
    name = CHANNEL

    def __init__(self, app: App) -> None:
        check_settings(app.settings)
        settings = app.settings
        assert settings.public_base_url and settings.twilio_auth_token and settings.twilio_account_sid
        self.app = app
        self.store = app.store
        self.settings = settings
        self.public_base_url = settings.public_base_url
        self.validator = RequestValidator(settings.twilio_auth_token.reveal())
        self.rest = TwilioRest(settings)
        self.sender = WhatsAppSender(app.store, self.rest, settings, app.clock)
        self.lanes = UserLanes(MAX_PENDING)
        self.state = "stopped"
        self._in_flight: set[str] = set()
        self._media: aiohttp.ClientSession | None = None
        self._media_auth = {"Authorization": aiohttp.encode_basic_auth(settings.twilio_account_sid,
                                                                         settings.twilio_auth_token.reveal())}
        self._media_origin = URL(settings.twilio_api_base_url).origin() if settings.twilio_api_base_url else None

    async def start(self) -> None:
        await self.rest.open()
        self._media = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=MEDIA_TIMEOUT))
        self.state = "running"

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Refuse new webhooks (Twilio tries again later), finish the accepted ones, close the clients."""
        if self.state == "stopped":
            return
        self.state = "stopping"
        await self.lanes.drain(grace_seconds)
        await self.rest.close()
        if self._media is not None:
            await self._media.close()
            self._media = None
        self.state = "stopped"

    def web_routes(self) -> list[web.RouteDef]:
        return [web.post(INBOUND_PATH, self.inbound_webhook), web.post(STATUS_PATH, self.status_webhook)]

    def health(self) -> dict[str, Any]:
        return {"state": self.state, "queued": self.lanes.pending, "last_error": self.rest.last_error}

    async def drain(self) -> None:
        """Wait until every accepted inbound message has been handled and answered."""
        await self.lanes.drain()

    # -- webhooks

    async def _verified_form(self, request: web.Request) -> Mapping[str, Any] | None:
        """The form Twilio signed, or None (logged once) when the signature is missing or wrong."""
        form: Mapping[str, Any] = {}
        if request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()  # bodies over the server's client_max_size are refused with 413 here
            signature = request.headers.get("X-Twilio-Signature", "")
            if signature and self.validator.validate(self.public_base_url + request.raw_path, form, signature):
                return form
        log.warning("refused a request to %s without a valid X-Twilio-Signature", request.path)
        return None

    async def inbound_webhook(self, request: web.Request) -> web.Response:
        form = await self._verified_form(request)
        if form is None:
            return web.Response(status=403, text="invalid signature")
        if self.state != "running":
            return web.Response(status=503, text="not running")
        message = parse_inbound(form)
        if message is None:
            log.info("whatsapp webhook without a WhatsApp sender or MessageSid ignored")
        elif message.sid in self._in_flight:
            log.info("duplicate whatsapp message_sid=%s ignored", message.sid)
        elif self.lanes.submit(message.external_id, functools.partial(self._handle, message)):
            self._in_flight.add(message.sid)
        else:
            log.warning("whatsapp backlog full (%d); message_sid=%s refused", self.lanes.pending, message.sid)
            return web.Response(status=503, text="busy")
        return web.Response(text=str(MessagingResponse()), content_type="text/xml")

    async def status_webhook(self, request: web.Request) -> web.Response:
        form = await self._verified_form(request)
        if form is None:
            return web.Response(status=403, text="invalid signature")
        sid = str(form.get("MessageSid", ""))[:64]
        status = str(form.get("MessageStatus", "")).strip().lower()[:20]
        code = str(form.get("ErrorCode", "")).strip()[:10] or None
        if sid and status in STATUS_RANK:
            await self._record_status(sid, status, code)
        return web.Response(status=204)

    async def _record_status(self, sid: str, status: str, code: str | None) -> None:
        async with self.store.transaction():
            delivery = await self.store.deliveries.find(sid)
            if delivery is None or delivery.channel != CHANNEL:
                log.info("status %s for unknown message_sid=%s", status, sid)
                return
            if STATUS_RANK[status] <= STATUS_RANK.get(delivery.delivery_status or "", -1):
                return  # late or repeated: never move a row back
            state = delivery.state
            if status in ("delivered", "read"):
                state = status
            elif status in ("failed", "undelivered"):
                state = "needs_template" if code == str(OUTSIDE_WINDOW) else "failed"
            elif status == "canceled":
                state = "cancelled"
            await self.store.deliveries.record(delivery.outbox_id, status, code, state, self.app.clock())
            if state == "failed" and code and code.isdigit() and int(code) in UNREACHABLE:
                await self.store.users.mark_unreachable(CHANNEL, delivery.external_id)
        log.info("outbox id=%s delivery %s error_code=%s", delivery.outbox_id, status, code)

    # -- handling one message, in its user's lane

    async def _handle(self, message: InboundMessage) -> None:
        try:
            if await self.store.inbound.seen(CHANNEL, message.sid):
                log.info("duplicate whatsapp message_sid=%s ignored", message.sid)
                return
            media = tuple([await self._fetch_media(url, content_type) for url, content_type in message.media])
            incoming = Incoming(
                CHANNEL, message.external_id, text=message.text, payload=message.payload,
                display_name=message.display_name, location=message.location, media=media,
                message_id=message.sid,
            )
            replies = await self.app.engine.handle(incoming)
            if replies:
                await self._reply(message.external_id, replies)
        finally:
            self._in_flight.discard(message.sid)

    async def _reply(self, to: str, replies: list[Reply]) -> None:
        waiting = await waiting_reply_due(self.app, CHANNEL, to)
        if waiting is not None:
            await defer_replies(self.app, CHANNEL, to, replies, after=waiting)  # behind the earlier one, in order
            return
        user = await self.store.users.find(CHANNEL, to)
        with use_locale(user.locale if user and user.locale else self.settings.default_locale):
            pieces = render_pieces(replies)
        for piece in pieces:
            self.app.count_direct_send(CHANNEL, media=piece.media_url is not None)
        result, done = await self.rest.send_pieces(to, pieces, status_callback=False, patient=True)
        if result.outcome == "retry":  # Twilio kept refusing: the outbox keeps the rest and tries again later
            rest = [Reply(piece.body or "", media=(piece.media_url,) if piece.media_url else ())
                    for piece in pieces[done:]]
            await defer_replies(self.app, CHANNEL, to, rest, result.retry_after)
            log.warning("whatsapp reply deferred to the outbox error=%s", result.error)
        elif result.outcome == "final":
            log.warning("whatsapp reply failed error=%s", result.error)
            if result.unreachable:
                await self.store.users.mark_unreachable(CHANNEL, to)

    # -- media

    def _trusted_media_url(self, url: str) -> bool:
        """Only Twilio's own API host (or the configured REST base), and only our account's media."""
        try:
            parsed = URL(url)
        except ValueError:
            return False
        if self._media_origin is not None and parsed.origin() == self._media_origin:
            trusted_host = True
        else:
            trusted_host = parsed.scheme == "https" and bool(TWILIO_API_HOST.fullmatch(parsed.host or ""))
        account = f"/2010-04-01/Accounts/{self.settings.twilio_account_sid}/"
        return trusted_host and parsed.path.startswith(account) and ".." not in parsed.path

    async def _fetch_media(self, url: str, declared_type: str) -> Media:
        """Download a photo with the account's credentials into the media folder, checked by size and type.

        Other media (voice, video, documents) are not downloaded: the flows only use photos, and
        knowing something else arrived is enough to answer it.
        """
        kind = media_kind(declared_type)
        if kind != "photo":
            return Media(kind, None, declared_type or None)
        if not self._trusted_media_url(url):
            log.warning("whatsapp media from an untrusted address refused")
            return Media(kind, None, declared_type)
        data = await self._download(url)
        saved = await asyncio.to_thread(save_photo, data, self.settings.media_dir) if data is not None else None
        return saved or Media(kind, None, declared_type)

    async def _download(self, url: str) -> bytes | None:
        assert self._media is not None
        try:
            async with self._media.get(url, headers=self._media_auth, max_redirects=3) as response:
                if response.status != 200:
                    log.warning("whatsapp media download answered %s", response.status)
                    return None
                if (response.content_length or 0) > MAX_PHOTO_BYTES:
                    log.warning("whatsapp media refused: %s bytes", response.content_length)
                    return None
                data = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > MAX_PHOTO_BYTES:
                        log.warning("whatsapp media refused: over %d bytes", MAX_PHOTO_BYTES)
                        return None
                return bytes(data)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("whatsapp media download failed: %s", type(error).__name__)
            return None

