"""Logging: one line per event, no message bodies at INFO, never a secret, phone numbers masked."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Iterable

_PHONE = re.compile(r"(?<![\w.])(\+?62|0)8\d{3,}(\d{3})\b")
# A Telegram bot token, also inside an API URL (".../bot123456:AAH.../sendMessage").
_TOKEN = re.compile(r"(?:(?<=bot)|\b)\d{6,12}:[A-Za-z0-9_-]{30,}")
_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Masks phone numbers, bot tokens and the configured secrets wherever they slipped into a log line,
    the traceback of a logged exception included (a failed request's URL carries the bot token)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<secret>")
        return _TOKEN.sub("<token>", _PHONE.sub(lambda m: f"{m.group(1)}8…{m.group(2)}", text))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.mask(message)
        # the formatter reads the line already formatted: formatting it once is a third of a record's cost
        record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


class LineFormatter(logging.Formatter):
    """The default line, with the date and time formatted once a second instead of once a line."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second, self._stamp = -1, ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime(self.default_time_format, self.converter(second))
        return self.default_msec_format % (self._stamp, record.msecs)


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes lines a batch at a time: a write to the pipe per line was a tenth of a message's cost.

    A warning or an error goes out at once with every line before it; other lines within `interval`
    seconds (a timer thread, only while lines wait), when `capacity` lines wait, and at exit."""

    def __init__(self, stream, interval: float = 0.5, capacity: int = 512) -> None:  # type: ignore[no-untyped-def]
        super().__init__(stream)
        self.interval, self.capacity = interval, capacity
        self.waiting: list[str] = []
        self._timer: threading.Timer | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.waiting.append(self.format(record))
            if record.levelno >= logging.WARNING or len(self.waiting) >= self.capacity:
                self.flush()
            elif self._timer is None:
                self._timer = threading.Timer(self.interval, self.flush)
                self._timer.daemon = True
                self._timer.start()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._timer is not None and self._timer is not threading.current_thread():
                self._timer.cancel()
            self._timer = None
            if self.waiting and not getattr(self.stream, "closed", False):
                lines, self.waiting = self.waiting, []
                self.stream.write("\n".join(lines) + self.terminator)
            super().flush()

    def close(self) -> None:
        """The waiting lines go out now; no timer writes after the stream's owner closed it."""
        self.flush()
        super().close()


def setup_logging(level: str = "INFO", stream=sys.stderr, secrets: Iterable[str] = ()) -> None:  # type: ignore[no-untyped-def]
    # Our lines name no thread, process or source line: not looking them up halves a record's cost, which
    # the engine pays on every message at INFO (see the Python logging HOWTO, "Optimization").
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # type: ignore[attr-defined]
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(LineFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "aiosqlite", "apscheduler", "telegram.ext", "twilio.http_client"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
