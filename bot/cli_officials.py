"""`sinergi officials add|remove|list`: manage the official role from a script or a terminal.

The same rules as `/pejabat` in the chat (handlers/officials.py): admins come from the settings and are
not changed here; every change is written to the audit log with `source: cli`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli import with_store
from bot.config import Settings
from handlers import officials
from storage.clock import utc_now
from storage.db import Store


def add_commands(sub: Any) -> None:
    parser = sub.add_parser("officials", help="grant, revoke and list the official role")
    commands = parser.add_subparsers(dest="officials_command", required=True)
    add = commands.add_parser("add", help="make someone an official")
    add.add_argument("channel", choices=sorted(officials.CHANNELS))
    add.add_argument("external_id", help="Telegram user id, WhatsApp number (+62…) or console persona")
    add.add_argument("--kecamatan", help="limit them to one kecamatan (code or name)")
    add.set_defaults(func=cmd_add)
    remove = commands.add_parser("remove", help="take the official role back")
    remove.add_argument("channel", choices=sorted(officials.CHANNELS))
    remove.add_argument("external_id")
    remove.set_defaults(func=cmd_remove)
    listing = commands.add_parser("list", help="list officials and admins")
    listing.set_defaults(func=cmd_list)


def _external_id(args: argparse.Namespace) -> str | None:
    external_id = officials.parse_external_id(args.channel, args.external_id)
    if external_id is None:
        print(f"sinergi: {args.external_id!r} is not a valid {args.channel} id", file=sys.stderr)
    return external_id


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    external_id = _external_id(args)
    if external_id is None:
        return 2

    async def work(store: Store) -> int:
        kecamatan = await officials.resolve_kecamatan(store, args.kecamatan) if args.kecamatan else None
        if args.kecamatan and kecamatan is None:
            print(f"sinergi: no single kecamatan matches {args.kecamatan!r}", file=sys.stderr)
            return 2
        now = utc_now()
        user = await officials.grant(store, args.channel, external_id, kecamatan.code if kecamatan else None, now,
                                     settings.default_locale)
        await store.audit.record(None, "officials.grant", True, now, source="cli", target_user=user.id,
                                 channel=args.channel, kecamatan=kecamatan.code if kecamatan else None)
        print(await officials.describe_official(store, user))
        return 0

    return with_store(settings, work)


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    external_id = _external_id(args)
    if external_id is None:
        return 2

    async def work(store: Store) -> int:
        now = utc_now()
        user = await officials.revoke(store, args.channel, external_id, now, settings.default_locale)
        if user is None:
            print(f"sinergi: {args.channel} {external_id} is not an official (admins are set in the settings)",
                  file=sys.stderr)
            return 1
        await store.audit.record(None, "officials.revoke", True, now, source="cli", target_user=user.id,
                                 channel=args.channel)
        print(f"{args.channel} {external_id} is no longer an official.")
        return 0

    return with_store(settings, work)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        print(await officials.officials_text(store))
        return 0

    return with_store(settings, work)
