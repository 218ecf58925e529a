"""`sinergi` (also `python -m bot`): run, chat, areas import, and the commands other modules add."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.config import Settings, SettingsError
from bot.logging_setup import setup_logging

if TYPE_CHECKING:
    from storage.db import Store

log = logging.getLogger("sinergi")

T = TypeVar("T")

# Modules that add subcommands: each has `add_commands(subparsers)`; handlers set `func(args, settings)`.
COMMAND_MODULES: tuple[str, ...] = (
    "bot.cli_maintenance",
    "bot.cli_consultations",
    "bot.cli_reports",
    "bot.cli_officials",
    "bot.cli_broadcasts",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sinergi", description="Sinergi: the district's citizen chatbot.")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="start every configured channel (console chat if none)")
    run.set_defaults(func=cmd_run)

    chat = sub.add_parser("chat", help="talk to the bot offline in this terminal")
    chat.add_argument("--user", default="warga", help="persona name, so several people can be simulated")
    chat.add_argument("--as-official", action="store_true", help="talk as a district official")
    chat.set_defaults(func=cmd_chat)

    areas = sub.add_parser("areas", help="administrative areas")
    areas_sub = areas.add_subparsers(dest="areas_command", required=True)
    areas_import = areas_sub.add_parser("import", help="load kecamatan/desa from a CSV file")
    areas_import.add_argument("file", type=Path)
    areas_import.add_argument("--district", help="district name, e.g. 'Kabupaten Bantul'")
    areas_import.set_defaults(func=cmd_areas_import)

    import importlib

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args = parser.parse_args(["run", *(argv or [])])
    try:
        settings = Settings.load()
    except SettingsError as error:
        print(f"sinergi: configuration error: {error}", file=sys.stderr)
        return 2
    secrets = [s.reveal() for s in (settings.telegram_bot_token, settings.telegram_webhook_secret,
                                    settings.twilio_auth_token) if s]
    setup_logging("WARNING" if args.func is cmd_chat else settings.log_level, secrets=secrets)
    try:
        return int(args.func(args, settings) or 0)
    except KeyboardInterrupt:
        return 130


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if not (settings.telegram_enabled or settings.whatsapp_enabled):
        print("No Telegram or WhatsApp token configured: opening the offline console chat "
              f"(database {settings.database_path}).", flush=True)
        args.user, args.as_official = "warga", False
        return cmd_chat(args, settings)
    from bot.app import serve

    try:
        asyncio.run(serve(settings))
    except SettingsError as error:
        print(f"sinergi: configuration error: {error}", file=sys.stderr)
        return 2
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_chat(settings, args.user, args.as_official))
    return 0


async def _chat(settings: Settings, persona: str, as_official: bool) -> None:
    from bot.app import build_app
    from bot.channels.console import CHANNEL, ConsoleSender, run_console
    from bot.outbox_worker import OutboxWorker

    persona = persona.strip()[:64] or "warga"
    app = await build_app(settings)
    if as_official:
        app.engine.config.officials = {**app.engine.config.officials, CHANNEL: frozenset({persona})}
    worker = OutboxWorker(app.store, ConsoleSender(), clock=app.clock, idle_seconds=0.5)
    app.workers[CHANNEL] = worker
    task = asyncio.create_task(worker.run())
    await app.start_scheduler()
    try:
        await run_console(app.engine, persona, settings.media_dir)
    finally:
        worker.stop()
        await task
        await app.close()


def cmd_areas_import(args: argparse.Namespace, settings: Settings) -> int:
    from storage.areas import AreaFileError
    from storage.db import open_store

    async def work() -> int:
        store = await open_store(settings.database_path)
        try:
            return await store.areas.import_csv(args.file, args.district)
        finally:
            await store.close()

    try:
        count = asyncio.run(work())
    except (OSError, AreaFileError) as error:
        print(f"sinergi: cannot import {args.file}: {error}", file=sys.stderr)
        return 1
    print(f"Imported {count} desa from {args.file}.")
    return 0


def with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    """Run `work(store)` for a one-shot command, in the district's time zone and default language."""
    from handlers.i18n import set_locale, set_timezone
    from storage.db import open_store

    async def run() -> T:
        set_timezone(settings.tz)
        set_locale(settings.default_locale)
        store = await open_store(settings.database_path)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())
