"""Logs hold ids and timings, never message bodies or secrets; the areas import command works."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logging_setup import RedactingFilter
from tests.support import Chat


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
