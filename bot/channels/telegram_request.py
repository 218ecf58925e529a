"""python-telegram-bot's HTTP transport, on aiohttp or on PTB's default httpx.

Issue 9 measured PTB's httpx transport at about 830 µs of CPU per API call, slowing down with
`concurrent_updates` (httpcore walks its whole pool on each request); the same bot on aiohttp did twice
the throughput and kept it under concurrency and a 50 ms round trip. aiohttp is already a dependency, so
it is the default; httpx stays one argument away (`make_request("httpx")`) for comparison or a bug hunt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput

Transport = Literal["aiohttp", "httpx"]


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on one aiohttp session, opened in `initialize` and closed in `shutdown`.

    PTB's four timeouts map onto aiohttp as: pool + connect -> `connect` (waiting for a pooled
    connection or a new one), connect -> `sock_connect`, read -> `sock_read` (aiohttp starts it once the
    body is written). aiohttp has no write timeout, so the whole request is also bounded by the sum of
    the four; uploads use `media_write_timeout` as their write budget, as PTB's httpx transport does.
    """

    def __init__(self, connection_pool_size: int = 256, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data is not None and request_data.contains_files else None
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, self._media_write_timeout if files else self._write_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(
            total=_total(pool, connect, write, read), connect=_total(pool, connect),
            sock_connect=connect, sock_read=read,
        )
        body: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if files:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():  # type: ignore[union-attr]
                form.add_field(name, value)
            for name, (filename, content, mime_type) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime_type)
            body = form
        elif request_data is not None:  # JSON, which the Bot API takes for every call without a file: no form quoting
            body = request_data.json_payload
            headers = {"Content-Type": "application/json"}
        try:
            async with self._session.request(method, url, data=body, headers=headers, timeout=timeout) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise TimedOut("Pool or connect timeout: the request was not sent to Telegram") from error
        except TimeoutError as error:  # aiohttp's read timeout is a TimeoutError too
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if value is BaseRequest.DEFAULT_NONE else value  # type: ignore[return-value]


def _total(*parts: float | None) -> float | None:
    """The sum of the budgets, or no limit when any part has none."""
    return None if any(part is None for part in parts) else sum(parts)  # type: ignore[arg-type]


def make_request(transport: Transport, connection_pool_size: int, read_timeout: float | None = 5.0) -> BaseRequest:
    """A PTB request object on the chosen transport (aiohttp by default, see the module note)."""
    if transport == "aiohttp":
        return AiohttpRequest(connection_pool_size=connection_pool_size, read_timeout=read_timeout)
    if transport == "httpx":
        return HTTPXRequest(connection_pool_size=connection_pool_size, read_timeout=read_timeout)
    raise ValueError(f"unknown Telegram transport {transport!r}")

