"""Logs hold ids and timings, never message bodies or secrets; the areas import command works."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logging_setup import RedactingFilter, setup_logging
from tests.fake_telegram import FakeTelegram
from tests.support import Chat, FakeClock
from tests.telegram_support import running_bot, telegram_settings
from tests.whatsapp_support import AUTH_TOKEN, whatsapp_harness

BOT_TOKEN = "123456789:AAHsecretsecretsecretsecretsecret12"


async def test_one_info_line_per_message_without_the_body(chat: Chat, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sinergi.engine"):
        await chat.send("rahasia pribadi saya 08123456789", message_id="m-1")
    lines = [r for r in caplog.records if r.name == "sinergi.engine"]
    assert len(lines) == 1
    line = lines[0].getMessage()
    assert "message_id=m-1" in line and "ms=" in line and "state=None->onboarding.language" in line
    assert "rahasia" not in caplog.text and "08123456789" not in caplog.text


def test_phone_numbers_and_tokens_are_masked_if_they_slip_into_a_log() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "from %s token %s", ("+6281234567890",
                               "123456789:AAHsecretsecretsecretsecretsecret12"), None)
    RedactingFilter().filter(record)
    text = record.getMessage()
    assert "+6281234567890" not in text and "890" in text
    assert "AAHsecret" not in text


@pytest.fixture
def process_log() -> Iterator[io.StringIO]:
    """The process's own logging set-up (`setup_logging`, as `sinergi run` does) writing to a buffer."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    stream = io.StringIO()
    setup_logging("INFO", stream=stream, secrets=[AUTH_TOKEN])
    try:
        yield stream
    finally:
        root.handlers[:], root.level = saved
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def logged(stream: io.StringIO) -> str:
    """What a reader of the process's stderr has seen once the waiting lines went out."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    return stream.getvalue()


def test_lines_go_out_in_batches_but_a_warning_at_once(process_log: io.StringIO) -> None:
    log = logging.getLogger("sinergi.test")
    log.info("handled message_id=1")
    log.info("handled message_id=2")
    log.warning("flood user=1234")
    assert process_log.getvalue().splitlines()[-3:][0].endswith("handled message_id=1")
    assert process_log.getvalue().rstrip().endswith("WARNING sinergi.test flood user=1234")
    log.info("handled message_id=3")
    deadline = time.monotonic() + 5
    while "message_id=3" not in process_log.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)  # the timer writes it within half a second, with no further line to push it
    line = process_log.getvalue().splitlines()[-1]
    assert line.endswith("INFO sinergi.test handled message_id=3")
    log.info("handled message_id=4")
    handler = logging.getLogger().handlers[0]
    handler.close()  # as at exit: what waits goes out, and no timer writes to a closed stream later
    assert process_log.getvalue().rstrip().endswith("handled message_id=4")
    process_log.close()
    log.info("handled message_id=5")
    time.sleep(0.7)  # the timer finds the stream closed and writes nothing (no error in its thread)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO .*", line)


def test_a_token_in_a_logged_traceback_is_masked(process_log: io.StringIO) -> None:
    url = f"https://api.telegram.org/bot{BOT_TOKEN}/sendMessage"
    try:
        try:
            raise ConnectionError(f"cannot reach {url} for chat +6281234567890")
        except ConnectionError as cause:
            raise RuntimeError(f"Twilio said no to {AUTH_TOKEN}") from cause
    except RuntimeError:
        logging.getLogger("sinergi.test").exception("sending failed")
    text = logged(process_log)
    assert "Traceback" in text and "ConnectionError" in text and "sending failed" in text
    assert "bot<token>/sendMessage" in text
    assert "AAHsecret" not in text and AUTH_TOKEN not in text and "+6281234567890" not in text


async def test_no_message_body_or_number_at_info_from_telegram_and_whatsapp(
    process_log: io.StringIO, tmp_path: Path, clock: FakeClock
) -> None:
    body = "rumah saya di RT 3 kebanjiran, nomor saya 081298765432"
    fake = await FakeTelegram().start()
    try:
        async with running_bot(telegram_settings(tmp_path / "tg", fake), fake, clock) as stack:
            budi = stack.user()
            await budi.send(body)
            assert "Halo! Saya Sinergi" in budi.text
    finally:
        await fake.close()
    async with whatsapp_harness(tmp_path / "wa", clock) as wa:
        siti = wa.user("+6281234567890", "Siti")
        await siti.send(body)
        assert "Halo! Saya Sinergi" in siti.text
    text = logged(process_log)
    assert "handled channel=telegram" in text and "handled channel=whatsapp" in text, text
    assert "kebanjiran" not in text and "081298765432" not in text
    assert "+6281234567890" not in text and "6281234567890" not in text


def test_areas_import_command(tmp_path: Path) -> None:
    csv_file = tmp_path / "bantul.csv"
    csv_file.write_text("kecamatan_code,kecamatan_name,desa_code,desa_name\n"
                        "34.02.01,Srandakan,34.02.01.2001,Poncosari\n34.02.01,Srandakan,34.02.01.2002,Trimurti\n")
    env = {"DATABASE_PATH": str(tmp_path / "db.sqlite3"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "bot", "areas", "import", str(csv_file), "--district",
                           "Kabupaten Bantul"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Imported 2 desa" in done.stdout
    broken = tmp_path / "broken.csv"
    broken.write_text("nama\nx\n")
    done = subprocess.run([sys.executable, "-m", "bot", "areas", "import", str(broken)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 1 and "kecamatan_code" in done.stderr
