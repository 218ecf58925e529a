"""`sinergi backup PATH` and `sinergi restore BACKUP`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from storage import maintenance


def add_commands(sub: Any) -> None:
    backup = sub.add_parser("backup", help="make a consistent copy of the database (safe while the bot runs)")
    backup.add_argument("path", type=Path)
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser(
        "restore", help="put a backup back: stop the bot first, then run this, then start the bot again")
    restore.add_argument("backup", type=Path)
    restore.set_defaults(func=cmd_restore)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        verdict = asyncio.run(maintenance.backup(settings.database_path, args.path))
    except (OSError, ValueError) as error:
        print(f"sinergi: backup failed: {error}", file=sys.stderr)
        return 1
    print(f"Backup written to {args.path} (integrity check: {verdict}).")
    return 0 if verdict == "ok" else 1


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    try:
        verdict = asyncio.run(maintenance.restore(args.backup, settings.database_path))
    except (OSError, ValueError) as error:
        print(f"sinergi: restore failed: {error}", file=sys.stderr)
        return 1
    print(f"Restored {args.backup} into {settings.database_path} (integrity check: {verdict}). Start the bot again.")
    return 0
