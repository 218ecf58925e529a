"""A citizen's own data: see it, get it as a file, delete it (UU PDP No. 27/2022)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.app import App
from tests.support import Chat


async def test_my_data_shows_what_is_held_and_sends_a_file(chat: Chat, app: App) -> None:
    await chat.onboard()
    await chat.click("Pengaturan")
    await chat.click("Data saya")
    assert "Ini data Bapak/Ibu yang disimpan Sinergi" in chat.text
    assert "Desa: Jogotirto" in chat.text and "console (warga)" in chat.text
    await chat.click("Kirim sebagai file")
    files = [f for r in chat.replies for f in r.files]
    assert len(files) == 1
    exported = json.loads(Path(files[0]).read_text("utf-8"))
    assert exported["users"]["desa_code"] == "34.04.08.2004"
    assert Path(files[0]).parent == app.settings.media_dir / "exports"


async def test_delete_my_data_removes_the_profile_after_confirmation(chat: Chat, app: App) -> None:
    await chat.onboard()
    await chat.send(payload="go:menu_official")  # leaves an audit row pointing at the user
    await chat.click("Pengaturan")
    await chat.click("Hapus data saya")
    assert "tidak bisa dibatalkan" in chat.text
    await chat.click("Tidak, simpan saja")
    assert await app.store.users.find("console", "warga") is not None
    await chat.click("Pengaturan")
    await chat.click("Hapus data saya")
    await chat.click("Ya, hapus data saya")
    assert "sudah dihapus" in chat.text
    assert await app.store.users.find("console", "warga") is None
    assert await app.store.db.fetchval("SELECT COUNT(*) FROM conversations") == 0
    assert await app.store.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE user_id IS NOT NULL") == 0
    await chat.send("halo")
    assert "Halo! Saya Sinergi" in chat.text, "writing again starts fresh"
