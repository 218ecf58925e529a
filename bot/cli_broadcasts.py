"""`sinergi broadcasts list|show ID` and `sinergi polls results|export ID`: the officials' views, in a terminal.

They print what the chat shows (the same functions, in DEFAULT_LOCALE), so a script or an operator can
follow a broadcast's progress or take a poll's results into a spreadsheet.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.cli import with_store
from bot.config import Settings
from handlers import broadcasts, polls
from storage.clock import utc_now
from storage.db import Store
from storage.polls import Poll


def add_commands(sub: Any) -> None:
    parser = sub.add_parser("broadcasts", help="announcements and their delivery progress")
    commands = parser.add_subparsers(dest="broadcasts_command", required=True)
    commands.add_parser("list", help="the latest announcements").set_defaults(func=cmd_broadcasts_list)
    show = commands.add_parser("show", help="one announcement's progress (sent, failed, waiting, time left)")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_broadcasts_show)

    parser = sub.add_parser("polls", help="quick polls and their results")
    commands = parser.add_subparsers(dest="polls_command", required=True)
    results = commands.add_parser("results", help="counts, percentages and a bar chart, per kecamatan too")
    results.add_argument("id", type=int)
    results.set_defaults(func=cmd_polls_results)
    export = commands.add_parser("export", help="results per desa as CSV (UTF-8 with BOM)")
    export.add_argument("id", type=int)
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(func=cmd_polls_export)


def cmd_broadcasts_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        for broadcast in await store.broadcasts.recent(20):
            first_line = broadcast.text_id.splitlines()[0][:60]
            print(f"#{broadcast.id}\t{broadcast.state}\t{broadcast.recipients}\t{first_line}")
        return 0

    return with_store(settings, work)


def cmd_broadcasts_show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        broadcast = await store.broadcasts.get(args.id)
        if broadcast is None:
            print(f"sinergi: no announcement #{args.id}", file=sys.stderr)
            return 1
        print(await broadcasts.progress_text(store, broadcast, utc_now()))
        return 0

    return with_store(settings, work)


def _with_poll(settings: Settings, poll_id: int, show: Callable[[Store, Poll], Awaitable[None]]) -> int:
    async def work(store: Store) -> int:
        poll = await store.polls.get(poll_id)
        if poll is None:
            print(f"sinergi: no poll #{poll_id}", file=sys.stderr)
            return 1
        await show(store, poll)
        return 0

    return with_store(settings, work)


def cmd_polls_results(args: argparse.Namespace, settings: Settings) -> int:
    async def show(store: Store, poll: Poll) -> None:
        print(f"#{poll.id} {poll.question} ({poll.state})")
        print(polls.tally_text(poll, await store.polls.tally(poll)))
        for area in await store.polls.tally_by_area(poll, "kecamatan"):
            print(f"\n{area.name}\n{polls.tally_text(poll, area.tally)}")

    return _with_poll(settings, args.id, show)


def cmd_polls_export(args: argparse.Namespace, settings: Settings) -> int:
    async def show(store: Store, poll: Poll) -> None:
        text = polls.results_csv(poll, await store.polls.tally_by_area(poll, "desa"))
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)

    return _with_poll(settings, args.id, show)
