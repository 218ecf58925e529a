"""How this machine compares with the one issue 9's reference figures came from (2 cores, Python 3.11).

Absolute targets (engine >= 5,000 messages/s, p99 < 50 ms at 1,000 updates/s) were set on that machine. This
measures, the same way, the two figures the issue gives for it, so a reader can tell a slow machine from slow
code: PTB's echo bot on its default transport (httpx), one update at a time, against the local fake Bot API
(about 1,100 updates/s there, about 830 µs of CPU each); and aiosqlite single-row commits, unpinned and pinned
to one core (about 7,600/s and 21,000/s there). It changes no target: the other benchmarks still judge
themselves by their own absolute figures.

    python -m benchmarks.calibrate [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import aiosqlite

from benchmarks.common import machine, pin_to_core, summary
from benchmarks.telegram_bench import measure

REFERENCE_ECHO_RATE = 1_100.0
REFERENCE_ECHO_CPU_US = 830.0
REFERENCE_COMMITS = {"unpinned": 7_600.0, "pinned": 21_000.0}


async def commits_per_second(path: Path, count: int) -> float:
    """Single-row INSERT then commit, each awaited, as an aiosqlite program writes."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    started = time.perf_counter()
    for n in range(count):
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO t (v) VALUES (?)", (f"row {n}",))
        await conn.commit()
    elapsed = time.perf_counter() - started
    await conn.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=500, help="people talking to the echo bot (13 texts each)")
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="100 people, 2,000 commits, 1 run")
    args = parser.parse_args()
    runs, users, commits = (1, 100, 2_000) if args.quick else (args.runs, args.users, args.commits)
    print(f"calibration: this machine against the issue's reference machine; {runs} run(s); {machine()}")
    echo_rates, echo_cpus = [], []
    rates: dict[str, list[float]] = {"unpinned": [], "pinned": []}
    for run in range(runs):
        echo = measure("echo", "closed", users, 0.0, 0.0, 600.0)
        echo_rates.append(echo.rate)
        echo_cpus.append(echo.bot_cpu_us)
        for placement in ("unpinned", "pinned"):
            cores = os.sched_getaffinity(0)
            with tempfile.TemporaryDirectory() as folder:
                if placement == "pinned":
                    pin_to_core(0)
                rates[placement].append(asyncio.run(commits_per_second(Path(folder) / "c.sqlite3", commits)))
            os.sched_setaffinity(0, cores)
        print(f"run {run + 1}: echo bot {echo.rate:,.0f} updates/s, {echo.bot_cpu_us:,.0f} µs CPU/update; aiosqlite "
              f"commits/s unpinned {rates['unpinned'][-1]:,.0f}, pinned {rates['pinned'][-1]:,.0f}", flush=True)
    echo_rate = sorted(echo_rates)[len(echo_rates) // 2]
    echo_cpu = sorted(echo_cpus)[len(echo_cpus) // 2]
    print(f"echo bot: {summary(echo_rates)} updates/s (reference {REFERENCE_ECHO_RATE:,.0f}): this machine does "
          f"{echo_rate / REFERENCE_ECHO_RATE:.2f}x; CPU {summary(echo_cpus, 0)} µs/update (reference "
          f"{REFERENCE_ECHO_CPU_US:,.0f}): {echo_cpu / REFERENCE_ECHO_CPU_US:.2f}x the CPU per update")
    for placement, reference in REFERENCE_COMMITS.items():
        median = sorted(rates[placement])[len(rates[placement]) // 2]
        print(f"aiosqlite commits/s {placement}: {summary(rates[placement], 0)} (reference {reference:,.0f}): "
              f"{median / reference:.2f}x")


if __name__ == "__main__":
    main()
