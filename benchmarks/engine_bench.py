"""Benchmark 1: the engine without network.

N simulated citizens each do onboarding then a whole report (category, description, skip photos, a pin
or a landmark, privacy, the duplicate question when it comes, send), through the real engine on a real
SQLite file, with the production logging (INFO, one line per message, into a pipe another process drains). Messages are
interleaved: every citizen's k-th message comes before their (k+1)-th, citizens shuffled within a round.
Baseline in the same run: the same count of bare aiosqlite read-modify-write transactions (BEGIN
IMMEDIATE, SELECT, UPDATE, COMMIT) on a fresh file with the same pragmas.

    python -m benchmarks.engine_bench [--users 10000] [--runs 3] [--quick] [--profile out.html]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from benchmarks.citizens import Labels, OffScript, Pin, Press, Say, Script, Seen, citizen, sleman_areas
from benchmarks.common import machine, peak_rss_mb, percentile, pin_to_core, production_logging, summary, target
from bot.app import settle_gc, warm_up
from bot.engine import Engine, EngineConfig
from handlers.flow import Services
from handlers.types import Incoming, Location, Reply
from storage.db import open_store

TARGET_RATE = 5_000
TARGET_P99_MS = 10.0


class EngineCitizen:
    """One scripted person talking to the engine directly (a press sends the option's payload)."""

    def __init__(self, number: int, script: Script) -> None:
        self.number = number
        self.script = script
        self.action = next(script)
        self.seen = Seen("", ())
        self.payloads: dict[str, str] = {}

    def incoming(self, message_id: str) -> Incoming:
        action, user = self.action, f"warga{self.number}"
        typing = self.number % 2 == 1
        hint = None if typing else "id"
        if isinstance(action, Say):
            return Incoming("console", user, text=action.text, message_id=message_id, language_hint=hint)
        if isinstance(action, Pin):
            return Incoming("console", user, location=Location(action.latitude, action.longitude),
                            message_id=message_id, language_hint=hint)
        assert isinstance(action, Press)
        if typing:
            return Incoming("console", user, text=str(self.seen.labels.index(action.label) + 1),
                            message_id=message_id)
        return Incoming("console", user, payload=self.payloads[action.label], message_id=message_id,
                        language_hint=hint)

    def answered(self, replies: list[Reply]) -> bool:
        """Feed the bot's answer to the script; False once the script is done."""
        options = next((r.options for r in reversed(replies) if r.options), ())
        self.payloads = {o.label: o.payload for o in options}
        self.seen = Seen("\n".join(r.text for r in replies), tuple(self.payloads))
        try:
            self.action = self.script.send(self.seen)
        except StopIteration:
            return False
        return True


@dataclass
class EngineResult:
    rate: float                  # messages/s with `concurrency` in flight
    cpu_us: float                # CPU per message in that phase
    in_flight_ms: list[float]    # latency per message in that phase (includes waiting for the others)
    latency_ms: list[float]      # latency per message, one at a time
    messages: int
    reports: int


async def engine_run(users: int, db_path: Path, concurrency: int = 64, latency_users: int = 1_000) -> EngineResult:
    """Throughput: `users` citizens, `concurrency` messages in flight at once, as a channel runs them
    (Telegram: 64 concurrent updates), each citizen with at most one, so their messages stay in order.
    Latency: then `latency_users` more citizens, one message at a time, on the same (now full) database."""
    store = await open_store(db_path)
    warm_up()  # as `sinergi run` does before it serves anyone …
    settle_gc()  # … and once it has started
    engine = Engine(store, EngineConfig(Services(), {}))
    areas, labels = sleman_areas(), Labels.load()
    ids = itertools.count(1)
    crowd = [EngineCitizen(n, citizen(n, areas, labels)) for n in range(users)]
    started, cpu_started = time.perf_counter(), time.process_time()
    in_flight = await drive(engine, crowd, concurrency, ids)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    alone = [EngineCitizen(n, citizen(n, areas, labels)) for n in range(users, users + latency_users)]
    latencies = await drive(engine, alone, 1, ids)
    reports = await store.db.fetchval("SELECT COUNT(*) FROM reports")
    await store.close()
    return EngineResult(len(in_flight) / elapsed, cpu / len(in_flight) * 1e6, in_flight, latencies,
                        len(in_flight) + len(latencies), int(reports))


async def drive(engine: Engine, ready: list[EngineCitizen], concurrency: int, ids: Iterator[int],
                seed: int = 7) -> list[float]:
    """Play the citizens to the end of their scripts; returns each message's latency in ms."""
    rng = random.Random(seed)
    latencies: list[float] = []

    async def talk() -> None:
        while ready:
            index = rng.randrange(len(ready))  # any citizen waiting to write, not always the same ones
            ready[index], ready[-1] = ready[-1], ready[index]
            person = ready.pop()
            msg = person.incoming(str(next(ids)))
            t0 = time.perf_counter()
            replies = await engine.handle(msg)
            latencies.append((time.perf_counter() - t0) * 1000)
            if person.answered(replies):
                ready.append(person)

    await asyncio.gather(*(talk() for _ in range(concurrency)))
    return latencies


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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--latency-users", type=int, default=1_000,
                        help="citizens played one message at a time afterwards, for the latency figures")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="500 + 100 citizens, 1 run: a smoke run")
    parser.add_argument("--concurrency", type=int, default=64,
                        help="messages in flight at once (default 64, as the Telegram channel runs them)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one core")
    parser.add_argument("--log-level", default="INFO", help="production logging level (default INFO)")
    parser.add_argument("--profile", metavar="HTML", help="profile the first engine run with pyinstrument")
    args = parser.parse_args()
    users, latency_users, runs = (500, 100, 1) if args.quick else (args.users, args.latency_users, args.runs)
    pinned = False if args.no_pin else pin_to_core(0)
    print(f"engine benchmark: {users} citizens (onboarding + a report) with {args.concurrency} messages in flight, "
          f"then {latency_users} one message at a time; {runs} run(s); {machine()}; pinned={pinned}; "
          f"log level {args.log_level}")
    rates, bases, cpus, p50s, p95s, p99s = [], [], [], [], [], []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            with production_logging(args.log_level):
                try:
                    result = _run_engine(users, latency_users, Path(folder) / "engine.sqlite3", args.concurrency,
                                         args.profile if run == 0 else None)
                except OffScript as error:
                    raise SystemExit(f"a citizen went off script: {error}") from error
            base = asyncio.run(baseline_run(len(result.in_flight_ms), users, Path(folder) / "baseline.sqlite3"))
        if result.reports != users + latency_users:
            raise SystemExit(f"{result.reports} reports stored for {users + latency_users} citizens")
        rate, latencies = result.rate, result.latency_ms
        rates.append(rate)
        bases.append(base)
        cpus.append(result.cpu_us)
        p50s.append(percentile(latencies, 50))
        p95s.append(percentile(latencies, 95))
        p99s.append(percentile(latencies, 99))
        print(f"run {run + 1}: {result.messages} messages, {result.reports} reports; engine {rate:,.0f} msg/s, "
              f"baseline {base:,.0f} txn/s, ratio {rate / base:.2f}; CPU {result.cpu_us:.0f} µs/msg; "
              f"in flight p50 {percentile(result.in_flight_ms, 50):.1f} ms p99 "
              f"{percentile(result.in_flight_ms, 99):.1f} ms; one at a time p50 {p50s[-1]:.2f} ms "
              f"p95 {p95s[-1]:.2f} ms p99 {p99s[-1]:.2f} ms max {max(latencies):.1f} ms")
    print(f"engine msg/s: {summary(rates)}")
    print(f"baseline aiosqlite txn/s: {summary(bases)}")
    print(f"ratio engine/baseline: {summary([r / b for r, b in zip(rates, bases, strict=True)], 2)}")
    print(f"engine CPU µs/msg: {summary(cpus, 0)}")
    print(f"latency ms, one at a time: p50 {summary(p50s, 2)}; p95 {summary(p95s, 2)}; p99 {summary(p99s, 2)}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    print(target(f">= {TARGET_RATE:,} msg/s", min(rates) >= TARGET_RATE, f"min {min(rates):,.0f}"))
    print(target(f"p99 < {TARGET_P99_MS:.0f} ms", max(p99s) < TARGET_P99_MS, f"max {max(p99s):.2f} ms"))


def _run_engine(users: int, latency_users: int, db_path: Path, concurrency: int,
                profile: str | None) -> EngineResult:
    if not profile:
        return asyncio.run(engine_run(users, db_path, concurrency, latency_users))
    from pyinstrument import Profiler

    with Profiler(interval=0.0002) as profiler:
        result = asyncio.run(engine_run(users, db_path, concurrency, latency_users))
    profiler.write_html(profile)
    print(f"profile written to {profile}")
    return result


if __name__ == "__main__":
    main()
