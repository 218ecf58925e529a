"""Benchmark 1: the engine without network.

N simulated users each do onboarding then a short flow, their messages interleaved, through the real
engine on a real SQLite file. Baseline in the same run: the same count of bare aiosqlite
read-modify-write transactions (BEGIN IMMEDIATE, SELECT, UPDATE, COMMIT) on the same kind of file.

    python -m benchmarks.engine_bench [--users 10000] [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from pathlib import Path

import aiosqlite

from benchmarks.common import machine, peak_rss_mb, percentile, pin_to_core, summary
from bot.engine import Engine, EngineConfig
from handlers.flow import Services
from handlers.types import Incoming
from storage.db import open_store

# What each user types, in order: onboarding, then the main menu and a short flow.
SCRIPT = ["halo", "1", "1", "berbah", "jogotirto", "menu", "7", "2", "depok", "1", "menu"]


def report_script() -> list[str]:
    """When the reports flow exists, include a whole report (the issue's target workload)."""
    try:
        import handlers.reports  # noqa: F401
    except ImportError:
        return []
    return ["1", "1", "Jalan berlubang besar di depan SD Negeri 2, bahaya untuk motor", "lewati",
            "lokasi -7.78 110.36", "1", "1"]


async def engine_run(users: int, db_path: Path) -> tuple[float, list[float]]:
    store = await open_store(db_path)
    engine = Engine(store, EngineConfig(Services(), {}))
    script = SCRIPT + report_script()
    order = [(u, step) for step in range(len(script)) for u in range(users)]
    # interleave: every user's step k comes before their step k+1, users shuffled within a step
    rng = random.Random(7)
    for step in range(len(script)):
        block = order[step * users:(step + 1) * users]
        rng.shuffle(block)
        order[step * users:(step + 1) * users] = block
    counter = itertools.count()
    latencies: list[float] = []
    started = time.perf_counter()
    for user, step in order:
        text = script[step]
        location = None
        if text.startswith("lokasi "):
            from handlers.types import Location

            _word, lat, lon = text.split()
            location, text = Location(float(lat), float(lon)), ""
        msg = Incoming("console", f"user{user}", text=text, location=location, message_id=str(next(counter)))
        t0 = time.perf_counter()
        await engine.handle(msg)
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    await store.close()
    return len(order) / elapsed, latencies


async def baseline_run(count: int, users: int, db_path: Path) -> float:
    conn = await aiosqlite.connect(db_path, isolation_level=None)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("CREATE TABLE state (id INTEGER PRIMARY KEY, step INTEGER NOT NULL, data TEXT NOT NULL)")
    await conn.executemany("INSERT INTO state VALUES (?, 0, '{}')", [(i,) for i in range(users)])
    started = time.perf_counter()
    for i in range(count):
        user = i % users
        await conn.execute("BEGIN IMMEDIATE")
        async with conn.execute("SELECT step, data FROM state WHERE id = ?", (user,)) as cursor:
            step, _data = await cursor.fetchone()
        await conn.execute("UPDATE state SET step = ?, data = ? WHERE id = ?", (step + 1, '{"k": 1}', user))
        await conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    await conn.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="500 users, 1 run: a smoke run")
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    users, runs = (500, 1) if args.quick else (args.users, args.runs)
    pinned = False if args.no_pin else pin_to_core(0)
    print(f"engine benchmark: {users} users, {runs} run(s); {machine()}; pinned={pinned}")
    rates, bases, p50s, p95s, p99s = [], [], [], [], []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            rate, latencies = asyncio.run(engine_run(users, Path(folder) / "engine.sqlite3"))
            base = asyncio.run(baseline_run(len(latencies), users, Path(folder) / "baseline.sqlite3"))
        rates.append(rate)
        bases.append(base)
        p50s.append(percentile(latencies, 50))
        p95s.append(percentile(latencies, 95))
        p99s.append(percentile(latencies, 99))
        print(f"run {run + 1}: {len(latencies)} messages, engine {rate:,.0f} msg/s, baseline {base:,.0f} txn/s, "
              f"ratio {rate / base:.2f}; latency p50 {p50s[-1]:.2f} ms p95 {p95s[-1]:.2f} ms p99 {p99s[-1]:.2f} ms")
    print(f"engine msg/s: {summary(rates)}")
    print(f"baseline txn/s: {summary(bases)}")
    print(f"ratio engine/baseline: {summary([r / b for r, b in zip(rates, bases, strict=True)])}")
    print(f"p50 ms: {summary(p50s)}; p95 ms: {summary(p95s)}; p99 ms: {summary(p99s)}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    print(f"targets: >= 5,000 msg/s -> {'met' if min(rates) >= 5000 else 'MISSED'}; "
          f"p99 < 10 ms -> {'met' if max(p99s) < 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
