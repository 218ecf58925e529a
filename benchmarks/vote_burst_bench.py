"""Benchmark 4: a poll vote burst while other people talk to the bot.

Target: 20,000 votes arriving within a few seconds are stored at >= 2,000 votes/s, and the p99 reply latency of
100 other people talking meanwhile at most doubles against their p99 with no burst, measured in the same run.

Each run: a fresh SQLite file seeded through the storage API (20,000 registered Telegram citizens and an open
poll by an official, "pushed" as the message Sinergi renders: its text and inline keyboard); Sinergi's real
process (`sinergi run`, polling, core 0) against the fake Bot API in another process (`vote_load.py`, core 1).
There 100 citizens talk (onboarding, then reports) at 50 updates/s: after a warm-up, a quiet window of 10 s is
their baseline; then every voter presses one answer on the poll message (a callback_query with the button's
callback_data), released at 4,500/s, while the others keep talking. Afterwards the database is read: one
vote per voter, the answer they pressed.

- votes/s: votes stored / time from the first vote released to the last one stored (its row's `voted_at`,
  the bot's clock when the batch that stored it began; the answer to the voter comes after the COMMIT);
- the others' p99 during the burst (updates released between the first vote and the last vote's answer)
  against their p99 in the quiet window just before it.

    python -m benchmarks.vote_burst_bench [--runs 3] [--quick] [--voters 20000] [--vote-rate 4500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import machine, summary, target
from benchmarks.telegram_bench import Measurement, run_load
from benchmarks.vote_load import VOTER_BASE

TARGET_VOTES_PER_S = 2_000.0
TARGET_P99_RATIO = 2.0
QUESTION = "Setuju jalan desa diaspal tahun depan?"
ANSWERS = ["Setuju", "Tidak setuju", "Belum tahu"]


async def seed(path: Path, voters: int) -> dict[str, Any]:
    """Voters who finished onboarding a day ago and an open poll by an official; returns the poll message."""
    from bot.channels.telegram_outbound import inline_keyboard
    from handlers.i18n import use_locale
    from handlers.polls import poll_replies
    from storage.audience import Audience
    from storage.clock import to_db, utc_now
    from storage.db import open_store

    store = await open_store(path)
    try:
        now = utc_now() - timedelta(days=1)
        desa = await store.areas.desa_list()
        async with store.transaction():
            official = await store.users.grant_role("telegram", str(VOTER_BASE - 1), "admin", None, now)
            for n in range(voters):
                user = await store.users.touch_or_create("telegram", str(VOTER_BASE + n), f"Pemilih {n}", now)
                await store.users.update(user.id, locale="id", desa_code=desa[n % len(desa)].code,
                                         consent_at=to_db(now))
            poll = await store.polls.create(official.id, QUESTION, ANSWERS, Audience(), True, now + timedelta(days=7),
                                            now)
            await store.polls.set_recipients(poll.id, voters)
        with use_locale("id"):
            (pushed,) = poll_replies(poll.id, poll.question, poll.options, poll.closes_at,
                                     await store.areas.district_name())
        return {"poll_id": poll.id, "text": pushed.text, "reply_markup": inline_keyboard(pushed.options)}
    finally:
        await store.close()


async def stored_votes(path: Path, poll_id: int, voters: int) -> dict[str, Any]:
    """What the database holds after the run: votes, wrong ones, people with other than one vote, last stored."""
    from storage.clock import from_db
    from storage.db import open_store

    store = await open_store(path)
    try:
        rows = await store.db.fetchall(
            """SELECT u.external_id, v.position, v.voted_at, v.changed_at FROM poll_votes v
               JOIN users u ON u.id = v.user_id WHERE v.poll_id = ?""", (poll_id,))
    finally:
        await store.close()
    expected = {str(VOTER_BASE + n): n % len(ANSWERS) + 1 for n in range(voters)}
    votes_of = Counter(row["external_id"] for row in rows)
    wrong = sum(1 for row in rows if expected.get(row["external_id"]) != row["position"])
    last = max((from_db(row["changed_at"] or row["voted_at"]) for row in rows), default=None)
    return {"votes": len(rows), "wrong": wrong,
            "not_one": sum(1 for person in expected.keys() | votes_of.keys() if votes_of[person] != 1),
            "last_stored_wall": last.timestamp() if last else None}


def measure(voters: int, vote_rate: float, others: int, others_rate: float, warmup: float, quiet: float
            ) -> tuple[Measurement, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "data" / "sinergi.sqlite3"
        poll = asyncio.run(seed(database, voters))
        poll_file = Path(folder) / "poll.json"
        poll_file.write_text(json.dumps(poll), "utf-8")
        load_args = ["--poll-file", str(poll_file), "--voters", str(voters), "--vote-rate", str(vote_rate),
                     "--others", str(others), "--others-rate", str(others_rate), "--warmup", str(warmup),
                     "--quiet", str(quiet)]
        measured = run_load("sinergi", "benchmarks.vote_load", load_args, Path(folder))
        stored = asyncio.run(stored_votes(database, poll["poll_id"], voters))
    return measured, stored


def votes_per_second(measured: Measurement, stored: dict[str, Any]) -> float:
    last = stored["last_stored_wall"]
    return stored["votes"] / (last - measured.load["first_vote_wall"]) if last else 0.0


def line(measured: Measurement, stored: dict[str, Any]) -> str:
    d = measured.load
    marks = measured.bot_cpu_marks
    burst_cpu = marks.get("burst_end", 0.0) - marks.get("burst", 0.0)
    text = (f"{stored['votes']:,} votes stored ({stored['wrong']} wrong, {stored['not_one']} people without exactly "
            f"one), {votes_per_second(measured, stored):,.0f} votes/s; answered {d['votes_answered']:,} in "
            f"{d['burst_seconds']:.2f} s (vote p50 {d['vote_p50_ms']:.0f} p99 {d['vote_p99_ms']:.0f} ms); "
            f"bot CPU in the burst {burst_cpu / max(1, d['voters']) * 1e6:.0f} µs/vote, "
            f"{burst_cpu / max(d['burst_seconds'], 1e-9):.0%} of its core; others: quiet p50 {d['quiet_p50_ms']:.1f} "
            f"p99 {d['quiet_p99_ms']:.1f} ms ({d['others_quiet']} updates), during the burst p50 "
            f"{d['burst_p50_ms']:.1f} p99 {d['burst_p99_ms']:.1f} max {d['burst_max_ms']:.0f} ms "
            f"({d['others_burst']} updates): ratio {d['burst_p99_ms'] / d['quiet_p99_ms']:.2f} "
            f"(of it, waiting for getUpdates: p99 {d['quiet_fetch_p99_ms']:.1f} and {d['burst_fetch_p99_ms']:.1f} ms); "
            f"fake {d['fake_cpu_share']:.0%} of its core ({d['fake_burst_cpu_share']:.0%} in the burst), its event "
            f"loop late by p99 {d['fake_lag_quiet_p99_ms']:.1f} ms, in the burst {d['fake_lag_burst_p99_ms']:.1f} ms")
    if d["others_unanswered"] or d["failure"]:
        text += f"; UNANSWERED {d['others_unanswered']} {d['failure'] or ''}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--voters", type=int, default=20_000)
    parser.add_argument("--vote-rate", type=float, default=4_500.0, help="votes released per second")
    parser.add_argument("--others", type=int, default=100)
    parser.add_argument("--others-rate", type=float, default=50.0)
    parser.add_argument("--quick", action="store_true", help="1 run, 4,000 votes, short windows")
    args = parser.parse_args()
    runs, voters, warmup, quiet = (1, 4_000, 3.0, 4.0) if args.quick else (args.runs, args.voters, 10.0, 10.0)
    print(f"vote burst benchmark: {voters:,} votes released at {args.vote_rate:,.0f}/s while {args.others} people "
          f"talk at {args.others_rate:.0f} updates/s; {runs} run(s); {machine()}; bot on core 0, fake Bot API and "
          f"people on core 1")
    rates, ratios, quiet_p99s, burst_p99s = [], [], [], []
    for run in range(runs):
        measured, stored = measure(voters, args.vote_rate, args.others, args.others_rate, warmup, quiet)
        print(f"run {run + 1}: {line(measured, stored)}", flush=True)
        d = measured.load
        complete = stored["votes"] == voters and not stored["wrong"] and not stored["not_one"]
        rates.append(votes_per_second(measured, stored) if complete else 0.0)
        quiet_p99s.append(d["quiet_p99_ms"])
        burst_p99s.append(d["burst_p99_ms"])
        ratios.append(d["burst_p99_ms"] / d["quiet_p99_ms"])
    print()
    print(f"votes stored: {summary(rates, 0)} votes/s")
    print(f"others' p99 with no burst {summary(quiet_p99s)} ms, during the burst {summary(burst_p99s)} ms; "
          f"ratio {summary(ratios, 2)}")
    print(target(f"votes stored >= {TARGET_VOTES_PER_S:,.0f}/s, one per person", min(rates) >= TARGET_VOTES_PER_S,
                 f"min {min(rates):,.0f}/s"))
    print(target(f"others' p99 during the burst <= {TARGET_P99_RATIO:.0f}x without", max(ratios) <= TARGET_P99_RATIO,
                 f"max {max(ratios):.2f}x, median {statistics.median(ratios):.2f}x"))


if __name__ == "__main__":
    main()
