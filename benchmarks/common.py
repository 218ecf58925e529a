"""Shared figures for benchmark scripts: percentiles, peak RSS, repeated runs, CPU pinning, helper start-up."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pin_to_core(core: int) -> bool:
    """Pin this process to one core, so a fake server in another process does not steal its CPU."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    try:
        os.sched_setaffinity(0, {core})
    except OSError:
        return False
    return True


def run_pinned(parser: argparse.ArgumentParser, main: Callable[[argparse.Namespace], Awaitable[None]]) -> None:
    """Start a helper process of a benchmark (a fake platform, the simulated people): parse its arguments plus
    `--core`, pin it to that core (core 1 by default, the bot has core 0) and run `main(args)`."""
    parser.add_argument("--core", type=int, default=1, help="CPU core to pin to (-1: none)")
    args = parser.parse_args()
    if args.core >= 0:
        pin_to_core(args.core)
    asyncio.run(main(args))


def summary(runs: Sequence[float], digits: int = 1) -> str:
    """Median and min–max of repeated runs."""
    return (f"median {statistics.median(runs):,.{digits}f} "
            f"(min {min(runs):,.{digits}f}, max {max(runs):,.{digits}f})")


def target(name: str, met: bool, figure: str) -> str:
    """One line per target, the worst run's figure beside it."""
    return f"target {name}: {'met' if met else 'MISSED'} ({figure})"


def machine() -> str:
    import sqlite3

    import aiosqlite
    import telegram

    return (f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"aiosqlite {aiosqlite.__version__}, python-telegram-bot {telegram.__version__}, {sys.platform}")


@contextlib.contextmanager
def production_logging(level: str = "INFO") -> Iterator[None]:
    """Sinergi's own log setup, writing into a pipe that another process drains, as journald or Docker read a
    service's stderr; so the benchmark pays what a deployment pays for its log lines, no more (a file on a busy
    disk stalls writes) and no less."""
    collector = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert collector.stdin is not None
    stream = io.TextIOWrapper(collector.stdin, encoding="utf-8", line_buffering=True)
    from bot.logging_setup import setup_logging

    setup_logging(level, stream)
    try:
        yield
    finally:
        for handler in logging.getLogger().handlers:
            handler.close()
        logging.getLogger().handlers.clear()
        stream.close()
        collector.wait()
