"""Translation for flows: the engine sets the locale (a ContextVar) per message; flows just call `_`.

Catalogs are the `.po` files in `locales/<lang>/LC_MESSAGES/`, read with Babel at first use, so no
compile step is needed. msgids are English (the gettext convention); Indonesian is the default UI.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.dates import format_timedelta
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED = ("id", "en")
DEFAULT = "id"

_locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT)
_timezone: contextvars.ContextVar[ZoneInfo] = contextvars.ContextVar(
    "timezone", default=ZoneInfo("Asia/Jakarta")  # noqa: B039 - ZoneInfo is immutable
)
_catalogs: dict[str, dict[str, str]] = {}


def load_catalog(locale: str, folder: Path = LOCALES_DIR) -> dict[str, str]:
    """Merge every domain's `.po` file of one language into msgid -> msgstr (fuzzy and empty skipped)."""
    merged: dict[str, str] = {}
    for po_file in sorted((folder / locale / "LC_MESSAGES").glob("*.po")):
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        for message in catalog:
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
                merged[message.id] = message.string  # type: ignore[assignment]
    return merged


def _catalog(locale: str) -> dict[str, str]:
    catalog = _catalogs.get(locale)
    if catalog is None:
        catalog = _catalogs[locale] = load_catalog(locale)
    return catalog


def gettext(message: str) -> str:
    return _catalog(_locale.get()).get(message, message)


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction; translate it later with `_` where the locale is known."""
    return message


def current_locale() -> str:
    return _locale.get()


def pick_locale(*candidates: str | None, default: str = DEFAULT) -> str:
    """The first candidate we support, by language (so 'en-US' and 'id_ID' work), else the default."""
    for candidate in candidates:
        if candidate in SUPPORTED:  # a stored choice: the engine asks this on every message
            return candidate  # type: ignore[return-value]
        language = _language(candidate[:32]) if candidate else None
        if language in SUPPORTED:
            return language  # type: ignore[return-value]
    return default


@functools.lru_cache(maxsize=256)
def _language(candidate: str) -> str | None:
    """Babel's parse costs more than the rest of a turn's routing; app language codes repeat, so remember them."""
    try:
        return Locale.parse(candidate.replace("-", "_")).language
    except (UnknownLocaleError, ValueError):
        return None


def set_locale(locale: str) -> contextvars.Token[str]:
    return _locale.set(locale if locale in SUPPORTED else DEFAULT)


def set_timezone(tz: ZoneInfo) -> None:
    _timezone.set(tz)


def current_timezone() -> ZoneInfo:
    return _timezone.get()


@contextmanager
def use_locale(locale: str | None) -> Iterator[None]:
    """Translate for someone else for a moment (a notification to another user)."""
    token = set_locale(locale or DEFAULT)
    try:
        yield
    finally:
        _locale.reset(token)


def _day_pattern() -> str:
    """Babel's full Indonesian pattern pads the day ('03 Desember'); people write 'Kamis, 3 Desember 2026'."""
    return "EEEE, d MMMM y" if _locale.get() == "id" else "full"


def format_datetime(moment: datetime) -> str:
    """'Senin, 30 November 2026 pukul 09.00 WIB' in the district's time zone."""
    tz = _timezone.get()
    local = moment.astimezone(tz)
    day = _babel_format_date(local.date(), format=_day_pattern(), locale=_locale.get())
    pattern = "HH.mm" if _locale.get() == "id" else "HH:mm"
    clock = _babel_format_datetime(local, pattern, tzinfo=tz, locale=_locale.get())
    zone = local.tzname() or ""
    return _("{day} at {time} {zone}").format(day=day, time=clock, zone=zone).strip()


def format_date(day: date | datetime, format: str | None = None) -> str:
    """'Senin, 30 November 2026' by default, '30 Nov 2026' with "medium", in the district's time zone."""
    if isinstance(day, datetime):
        day = day.astimezone(_timezone.get()).date()
    return _babel_format_date(day, format=format or _day_pattern(), locale=_locale.get())


def format_number(number: int | float | Decimal) -> str:
    return format_decimal(number, locale=_locale.get())


def format_duration(delta: timedelta) -> str:
    """'3 menit', '2 jam' in the user's locale, rounded the way people say it."""
    return format_timedelta(delta, locale=_locale.get())
