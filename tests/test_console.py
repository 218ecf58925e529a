"""The console channel end to end: `sinergi chat` as a subprocess with piped input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.channels.console import parse_line, render
from bot.channels.text_menu import split_message
from handlers.i18n import use_locale
from handlers.types import Option, Reply


def run_chat(tmp_path: Path, lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_PATH": str(tmp_path / "db.sqlite3"), "PYTHONIOENCODING": "utf-8"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat", *args], input="\n".join(lines) + "\n", text=True,
        capture_output=True, env=env, cwd=tmp_path, timeout=60,
    )


def test_onboarding_by_typing_in_the_console(tmp_path: Path) -> None:
    done = run_chat(tmp_path, ["halo", "1", "1", "berbah", "jogotirto", "6"])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Halo! Saya Sinergi" in out
    assert "1. Bahasa Indonesia\n2. English" in out
    assert "terdaftar di Desa Jogotirto, Kecamatan Berbah" in out
    assert "1. Lapor masalah" in out and "7. Pengaturan" in out
    assert "BERHENTI" in out  # 6 = Bantuan
    assert "Traceback" not in done.stderr


def test_a_second_persona_and_a_restart_keep_their_own_state(tmp_path: Path) -> None:
    run_chat(tmp_path, ["halo", "1"], "--user", "budi")
    siti = run_chat(tmp_path, ["halo"], "--user", "siti")
    assert "Halo! Saya Sinergi" in siti.stdout
    budi = run_chat(tmp_path, ["1"], "--user", "budi")  # budi continues at the consent question
    assert "kecamatan mana" in budi.stdout


def test_run_without_tokens_opens_the_console(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env["DATABASE_PATH"] = str(tmp_path / "db.sqlite3")
    done = subprocess.run([sys.executable, "-m", "bot", "run"], input="halo\n", text=True, capture_output=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("No Telegram or WhatsApp token configured")
    assert "Halo! Saya Sinergi" in done.stdout


def test_as_official_talks_as_an_official(tmp_path: Path) -> None:
    done = run_chat(tmp_path, ["halo", "1", "1", "jogotirto"], "--as-official", "--user", "pak_lurah")
    assert "Menu petugas" in done.stdout


def test_location_and_photo_lines(tmp_path: Path) -> None:
    msg = parse_line("lokasi -7.78 110.36", "budi", tmp_path / "media")
    assert msg.location is not None and msg.location.latitude == -7.78 and msg.location.valid
    photo = tmp_path / "jalan.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 100)
    msg = parse_line(str(photo), "budi", tmp_path / "media")
    assert msg.media and msg.media[0].kind == "photo"
    stored = Path(msg.media[0].path or "")
    assert stored.parent == tmp_path / "media" and stored.name != "jalan.jpg", "stored under a generated name"
    assert parse_line("/etc/passwd", "budi", tmp_path / "media").text == "/etc/passwd"


def test_rendering_numbers_options_and_hints() -> None:
    text = render(Reply("Pilih", (Option("A", "a"), Option("B", "b")), request="location"))
    assert "1. A\n2. B" in text and "lokasi" in text


def test_photos_and_files_are_printed_as_their_paths() -> None:
    with use_locale("id"):
        text = render(Reply("Ekspor siap", media=("media/a.jpg",), files=("media/exports/laporan.csv",)))
    assert text == "Ekspor siap\n[foto: media/a.jpg]\n[berkas: media/exports/laporan.csv]"


def test_split_message_keeps_paragraphs_and_limits() -> None:
    text = "\n\n".join(f"Paragraf {i} " + "kata " * 50 for i in range(20))
    pieces = split_message(text, 1600)
    assert all(len(p) <= 1600 for p in pieces)
    assert "".join(p.replace("\n", "") for p in pieces).replace(" ", "") == text.replace("\n", "").replace(" ", "")
    assert split_message("x" * 5000, 1600)[0] == "x" * 1600
