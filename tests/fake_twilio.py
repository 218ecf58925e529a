"""A fake Twilio REST API on 127.0.0.1: the real twilio client talks to it over real HTTP.

It answers `POST /2010-04-01/Accounts/{sid}/Messages.json` as Twilio does (HTTP basic auth checked,
201 with the message resource as JSON, errors as Twilio's JSON error body), records every accepted
message, serves media files behind the same auth, and can be told to fail the next sends with a
chosen status and error code (429 with Retry-After, 500, 63016, 21610, …). With `limits`
(`tests.fake_limits.SendLimits`) every send also meets a rate limit, server errors and blocked recipients.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
import time
from collections import deque
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any

from aiohttp import encode_basic_auth, web

from storage.clock import utc_now
from tests.fake_limits import SendLimits

# A 16x16 baseline JPEG (CPython's Lib/test/imghdrdata/python.jpg, PSF licence): a real photo, just small.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8Q"
    "EBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"
    "EBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQID"
    "BAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/"
    "2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx"
    "4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+"
    "Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolv"
    "w4KOp1KM6iCNvngZHwetf//Z"
)

ERROR_MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21610: "Attempt to send to unsubscribed recipient",
    63016: "Failed to send freeform message because you are outside the allowed window. "
           "If you are using WhatsApp, please use a Message Template.",
}


@dataclass(frozen=True)
class Failure:
    status: int
    code: int
    retry_after: str | None = None


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str, limits: SendLimits | None = None) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.limits = limits
        self.messages: list[dict[str, Any]] = []     # accepted messages, fields as Twilio received them
        self.refused: list[dict[str, Any]] = []      # sends answered with an error
        self.media_downloads: list[str] = []          # media sids fetched with valid credentials
        self.unauthorised = 0
        self.latency = 0.0                            # seconds each send takes to answer
        self.arrivals: list[float] = []               # monotonic time of every send, accepted or refused
        self._failures: deque[Failure | None] = deque()  # None: accept this one
        self._media: dict[str, tuple[bytes, str]] = {}
        self._runner: web.AppRunner | None = None
        self._media_ids = itertools.count(1)
        self.url = ""

    async def start(self) -> str:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._create_message)
        app.router.add_get("/2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}", self._media_file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, status: int, code: int, *, retry_after: str | None = None, times: int = 1,
                  after: int = 0) -> None:
        """Accept `after` sends, then answer the next `times` sends with this error."""
        self._failures.extend([None] * after + [Failure(status, code, retry_after)] * times)

    def add_media(self, data: bytes = JPEG, content_type: str = "image/jpeg") -> str:
        """A media URL as Twilio puts it in an inbound webhook (fetching it needs the account's credentials)."""
        media_sid = f"ME{next(self._media_ids):032x}"
        self._media[media_sid] = (data, content_type)
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/{new_sid('MM')}/Media/{media_sid}"

    def to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["To"] == f"whatsapp:{number}"]

    def _authorised(self, request: web.Request) -> bool:
        expected = encode_basic_auth(self.account_sid, self.auth_token)
        ok = (request.headers.get("Authorization") == expected and request.match_info["account"] == self.account_sid)
        if not ok:
            self.unauthorised += 1
        return ok

    @staticmethod
    def _error(status: int, code: int, headers: dict[str, str] | None = None) -> web.Response:
        body = {"code": code, "message": ERROR_MESSAGES.get(code, "Error"),
                "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
        return web.json_response(body, status=status, headers=headers)

    async def _create_message(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 20003)
        self.arrivals.append(time.monotonic())
        if self.latency:
            await asyncio.sleep(self.latency)
        form = await request.post()
        fields: dict[str, Any] = {key: form[key] for key in form if key != "MediaUrl"}
        fields["MediaUrl"] = [str(url) for url in form.getall("MediaUrl", [])]
        failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            self.refused.append(fields | {"error": failure.code})
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
            return self._error(failure.status, failure.code, headers)
        if not fields.get("To") or not fields.get("From"):
            return self._error(400, 21211)
        if self.limits is not None:
            verdict = self.limits.decide(str(fields["To"]))
            if verdict.outcome == "limited":
                return self._error(429, 20429, {"Retry-After": str(verdict.retry_after)})
            if verdict.outcome == "blocked":
                return self._error(400, 21610)
            if verdict.outcome == "error":
                return self._error(500, 20500)
        if not (fields.get("Body") or fields["MediaUrl"] or fields.get("ContentSid")):
            return self._error(400, 21602)
        sid = new_sid("SM")
        self.messages.append(fields | {"sid": sid})
        now = format_datetime(utc_now(), usegmt=True)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        return web.json_response({
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": fields.get("Body", ""),
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": fields["From"], "messaging_service_sid": None,
            "num_media": str(len(fields["MediaUrl"])), "num_segments": "1", "price": None, "price_unit": None,
            "sid": sid, "status": "queued", "to": fields["To"], "uri": uri,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        }, status=201)

    async def _media_file(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._error(401, 20003)
        found = self._media.get(request.match_info["media"])
        if found is None:
            return self._error(404, 20404)
        self.media_downloads.append(request.match_info["media"])
        data, content_type = found
        return web.Response(body=data, content_type=content_type)
