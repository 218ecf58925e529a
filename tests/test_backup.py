"""`sinergi backup` makes a consistent copy while the bot writes; `sinergi restore` puts it back."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.app import App
from storage import maintenance
from tests.support import Chat


async def test_backup_while_writing_is_consistent_and_restorable(app: App, tmp_path: Path) -> None:
    chats = [Chat(app.engine, user=f"u{i}") for i in range(30)]
    target = tmp_path / "backup" / "copy.sqlite3"
    writers = asyncio.gather(*(c.onboard() for c in chats))
    verdict = await maintenance.backup(app.settings.database_path, target)
    await writers
    assert verdict == "ok"
    copy = sqlite3.connect(target)
    users_in_copy = copy.execute("SELECT COUNT(*) FROM users").fetchone()[0]
    assert copy.execute("SELECT COUNT(*) FROM desa").fetchone()[0] == 86
    copy.close()
    assert 0 <= users_in_copy <= 30
    try:
        await maintenance.backup(app.settings.database_path, target)
    except FileExistsError:
        pass
    else:
        raise AssertionError("an existing backup must not be overwritten")


def test_backup_and_restore_commands(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_PATH": str(tmp_path / "live.sqlite3")}
    subprocess.run([sys.executable, "-m", "bot", "chat"], input="halo\n", text=True, capture_output=True,
                   env=env, cwd=tmp_path, timeout=60, check=True)
    done = subprocess.run([sys.executable, "-m", "bot", "backup", str(tmp_path / "b.sqlite3")], text=True,
                          capture_output=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and "integrity check: ok" in done.stdout, done.stderr
    live = sqlite3.connect(tmp_path / "live.sqlite3")
    live.execute("DELETE FROM conversations")
    live.commit()
    live.close()
    done = subprocess.run([sys.executable, "-m", "bot", "restore", str(tmp_path / "b.sqlite3")], text=True,
                          capture_output=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    live = sqlite3.connect(tmp_path / "live.sqlite3")
    assert live.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] == 1
    live.close()
    missing = subprocess.run([sys.executable, "-m", "bot", "restore", str(tmp_path / "nope.sqlite3")], text=True,
                             capture_output=True, env=env, cwd=tmp_path, timeout=60)
    assert missing.returncode == 1
