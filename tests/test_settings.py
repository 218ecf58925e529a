"""Settings: typed, defaults from DESIGN.md, failing fast with the setting's name, secrets hidden."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError


def test_defaults_match_the_design() -> None:
    s = Settings.from_mapping({})
    assert s.database_path == Path("data/sinergi.sqlite3")
    assert s.telegram_api_base_url == "https://api.telegram.org/bot"
    assert s.telegram_file_base_url == "https://api.telegram.org/file/bot"
    assert s.telegram_mode == "polling"
    assert (s.http_host, s.http_port) == ("127.0.0.1", 8080)
    assert s.bot_timezone == "Asia/Jakarta" and s.default_locale == "id"
    assert not s.telegram_enabled and not s.whatsapp_enabled
    assert s.official_telegram_ids == frozenset()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HTTP_PORT": "eighty"}, "HTTP_PORT"),
        ({"HTTP_PORT": "70000"}, "HTTP_PORT"),
        ({"TELEGRAM_MODE": "push"}, "TELEGRAM_MODE"),
        ({"BOT_TIMEZONE": "Mars/Olympus"}, "BOT_TIMEZONE"),
        ({"DEFAULT_LOCALE": "fr"}, "DEFAULT_LOCALE"),
        ({"DEFAULT_LOCALE": "xx-nope"}, "DEFAULT_LOCALE"),
        ({"PUBLIC_BASE_URL": "sinergi.example.go.id"}, "PUBLIC_BASE_URL"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
        ({"OFFICIAL_TELEGRAM_IDS": "123,abc"}, "OFFICIAL_TELEGRAM_IDS"),
        ({"TWILIO_WHATSAPP_FROM": "+6281234"}, "TWILIO_WHATSAPP_FROM"),
        ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_MODE": "webhook"}, "TELEGRAM_WEBHOOK_SECRET"),
        ({"CONVERSATION_TIMEOUT_MINUTES": "0"}, "CONVERSATION_TIMEOUT_MINUTES"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_a_wrong_value_fails_with_the_setting_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_mapping(env)


def test_lists_and_whatsapp_numbers_are_normalised() -> None:
    s = Settings.from_mapping({
        "OFFICIAL_TELEGRAM_IDS": " 111, 222 ,",
        "OFFICIAL_WHATSAPP_NUMBERS": "whatsapp:+6281200000001,+6281200000002",
        "TWILIO_TEMPLATE_BROADCAST": "HX123",
    })
    assert s.official_telegram_ids == frozenset({"111", "222"})
    assert s.official_whatsapp_numbers == frozenset({"+6281200000001", "+6281200000002"})
    assert s.twilio_templates == {"broadcast": "HX123"}


def test_secrets_never_show_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    token = "123456789:AAHsecretsecretsecretsecretsecret12"
    s = Settings.from_mapping({"TELEGRAM_BOT_TOKEN": token, "TWILIO_AUTH_TOKEN": "twiliosecret",
                               "TWILIO_ACCOUNT_SID": "AC123", "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886"})
    assert token not in repr(s) and "twiliosecret" not in repr(s)
    assert str(s.telegram_bot_token) == "**********"
    assert s.telegram_bot_token is not None and s.telegram_bot_token.reveal() == token
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("settings %s", s)
    assert token not in caplog.text


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HTTP_PORT=9000\nDEFAULT_LOCALE=en\n")
    s = Settings.load(env={"HTTP_PORT": "9100"}, env_file=env_file)
    assert s.http_port == 9100 and s.default_locale == "en"


def test_cli_reports_a_bad_setting_and_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HTTP_PORT", "abc")
    assert main(["chat"]) == 2
    assert "HTTP_PORT" in capsys.readouterr().err
