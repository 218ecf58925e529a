"""Settings, read once from the environment and `.env`, typed, failing fast with the setting's name."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from dotenv import dotenv_values

from storage.users import normalise_external_id


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


class Secret:
    """A value that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


SUPPORTED_LOCALES = ("id", "en")


@dataclass(frozen=True)
class Settings:
    database_path: Path = Path("data/sinergi.sqlite3")
    media_dir: Path = Path("data/media")
    telegram_bot_token: Secret | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_file_base_url: str = "https://api.telegram.org/file/bot"
    telegram_mode: str = "polling"
    telegram_webhook_secret: Secret | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: Secret | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str | None = None
    twilio_templates: Mapping[str, str] = field(default_factory=dict)
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    public_base_url: str | None = None
    official_telegram_ids: frozenset[str] = frozenset()
    official_whatsapp_numbers: frozenset[str] = frozenset()
    bot_timezone: str = "Asia/Jakarta"
    default_locale: str = "id"
    conversation_timeout_minutes: int = 30
    draft_retention_days: int = 30
    inbound_id_retention_days: int = 7
    outbox_retention_days: int = 90
    log_level: str = "INFO"
    telegram_send_rate: float = 25.0        # outbox messages/s overall (Telegram allows about 30)
    telegram_chat_send_rate: float = 1.0    # outbox messages/s to one chat
    whatsapp_send_rate: float = 10.0        # outbox messages/s per sender (Twilio default; up to 50 on request)
    whatsapp_media_send_rate: float = 1.5   # outbox messages/s with a photo

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_whatsapp_from)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
        """Environment wins over `.env`; unknown keys are ignored, malformed known keys are fatal."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if env is None else env)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, v: Mapping[str, str]) -> Settings:
        def text(key: str) -> str | None:
            raw = v.get(key, "").strip()
            return raw or None

        def secret(key: str) -> Secret | None:
            raw = text(key)
            return Secret(raw) if raw else None

        def url(key: str, default: str | None) -> str | None:
            raw = text(key)
            if raw is None:
                return default
            if not raw.startswith(("http://", "https://")):
                raise SettingsError(f"{key} must be an http(s) URL, got {raw!r}")
            return raw.rstrip("/") if key in ("PUBLIC_BASE_URL", "TWILIO_API_BASE_URL") else raw

        def integer(key: str, default: int, low: int, high: int) -> int:
            raw = text(key)
            if raw is None:
                return default
            try:
                number = int(raw)
            except ValueError:
                raise SettingsError(f"{key} must be a whole number, got {raw!r}") from None
            if not low <= number <= high:
                raise SettingsError(f"{key} must be between {low} and {high}, got {number}")
            return number

        def rate(key: str, default: float) -> float:
            raw = text(key)
            if raw is None:
                return default
            try:
                number = float(raw)
            except ValueError:
                raise SettingsError(f"{key} must be a number of messages per second, got {raw!r}") from None
            if not 0.01 <= number <= 10_000:
                raise SettingsError(f"{key} must be between 0.01 and 10000 messages per second, got {raw}")
            return number

        def id_list(key: str, channel: str) -> frozenset[str]:
            raw = text(key) or ""
            items = [item.strip() for item in raw.split(",") if item.strip()]
            for item in items:
                digits = item.removeprefix("whatsapp:").removeprefix("+")
                if not (digits.isascii() and digits.isdigit()):
                    raise SettingsError(f"{key} must be a comma list of numeric ids or phone numbers, got {item!r}")
            return frozenset(normalise_external_id(item, channel) for item in items)

        mode = (text("TELEGRAM_MODE") or "polling").lower()
        if mode not in ("polling", "webhook"):
            raise SettingsError(f"TELEGRAM_MODE must be 'polling' or 'webhook', got {mode!r}")
        timezone = text("BOT_TIMEZONE") or "Asia/Jakarta"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"BOT_TIMEZONE is not a known time zone: {timezone!r}") from None
        locale = text("DEFAULT_LOCALE") or "id"
        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError):
            raise SettingsError(f"DEFAULT_LOCALE is not a known locale: {locale!r}") from None
        if locale not in SUPPORTED_LOCALES:
            raise SettingsError(f"DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}, got {locale!r}")
        whatsapp_from = text("TWILIO_WHATSAPP_FROM")
        if whatsapp_from and not whatsapp_from.startswith("whatsapp:+"):
            raise SettingsError(f"TWILIO_WHATSAPP_FROM must look like 'whatsapp:+62…', got {whatsapp_from!r}")
        twilio = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM")
        missing = [key for key in twilio if not text(key)]
        if 0 < len(missing) < len(twilio):
            raise SettingsError(f"WhatsApp needs all of {', '.join(twilio)}; missing {', '.join(missing)}")
        webhook_secret = secret("TELEGRAM_WEBHOOK_SECRET")
        if mode == "webhook" and text("TELEGRAM_BOT_TOKEN"):
            if not webhook_secret:
                raise SettingsError("TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_MODE=webhook")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", webhook_secret.reveal()):
                raise SettingsError("TELEGRAM_WEBHOOK_SECRET must be 1-256 of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
            if not text("PUBLIC_BASE_URL"):
                raise SettingsError("PUBLIC_BASE_URL is required when TELEGRAM_MODE=webhook (Telegram calls it)")
        log_level = (text("LOG_LEVEL") or "INFO").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
        database_path = Path(text("DATABASE_PATH") or "data/sinergi.sqlite3")
        templates = {
            key.removeprefix("TWILIO_TEMPLATE_").lower(): value.strip()
            for key, value in v.items()
            if key.startswith("TWILIO_TEMPLATE_") and value.strip()
        }
        return cls(
            database_path=database_path,
            media_dir=Path(text("MEDIA_DIR") or database_path.parent / "media"),
            telegram_bot_token=secret("TELEGRAM_BOT_TOKEN"),
            telegram_api_base_url=url("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot") or "",
            telegram_file_base_url=url("TELEGRAM_FILE_BASE_URL", "https://api.telegram.org/file/bot") or "",
            telegram_mode=mode,
            telegram_webhook_secret=webhook_secret,
            twilio_account_sid=text("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=secret("TWILIO_AUTH_TOKEN"),
            twilio_whatsapp_from=whatsapp_from,
            twilio_api_base_url=url("TWILIO_API_BASE_URL", None),
            twilio_templates=templates,
            http_host=text("HTTP_HOST") or "127.0.0.1",
            http_port=integer("HTTP_PORT", 8080, 1, 65535),
            public_base_url=url("PUBLIC_BASE_URL", None),
            official_telegram_ids=id_list("OFFICIAL_TELEGRAM_IDS", "telegram"),
            official_whatsapp_numbers=id_list("OFFICIAL_WHATSAPP_NUMBERS", "whatsapp"),
            bot_timezone=timezone,
            default_locale=locale,
            conversation_timeout_minutes=integer("CONVERSATION_TIMEOUT_MINUTES", 30, 1, 24 * 60),
            draft_retention_days=integer("DRAFT_RETENTION_DAYS", 30, 1, 3650),
            inbound_id_retention_days=integer("INBOUND_ID_RETENTION_DAYS", 7, 1, 3650),
            outbox_retention_days=integer("OUTBOX_RETENTION_DAYS", 90, 1, 3650),
            log_level=log_level,
            telegram_send_rate=rate("TELEGRAM_SEND_RATE", 25.0),
            telegram_chat_send_rate=rate("TELEGRAM_CHAT_SEND_RATE", 1.0),
            whatsapp_send_rate=rate("WHATSAPP_SEND_RATE", 10.0),
            whatsapp_media_send_rate=rate("WHATSAPP_MEDIA_SEND_RATE", 1.5),
        )

