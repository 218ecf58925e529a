"""Logging: one line per event, no message bodies at INFO, never a secret, phone numbers masked."""

from __future__ import annotations

import logging
import re
import sys
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


def setup_logging(level: str = "INFO", stream=sys.stderr, secrets: Iterable[str] = ()) -> None:  # type: ignore[no-untyped-def]
    # Our lines name no thread, process or source line: not looking them up halves a record's cost, which
    # the engine pays on every message at INFO (see the Python logging HOWTO, "Optimization").
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # type: ignore[attr-defined]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "aiosqlite", "apscheduler", "telegram.ext", "twilio.http_client"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
