"""The other side of the vote burst benchmark, in its own process: the fake Bot API, people talking, voters.

It serves `tests/fake_telegram.FakeTelegram`, waits for the bot to poll, then:
1. `--others` citizens talk (onboarding, then reports, `citizens.py`) in an open loop at `--others-rate`;
2. after `--warmup` seconds their quiet window starts; `--quiet` seconds later the burst starts:
   `--voters` registered citizens each press one answer of the pushed poll (a real callback_query carrying
   the callback_data of the poll message's inline keyboard, the message itself stored in the fake as the bot
   sent it), released at `--vote-rate` per second, while the others keep talking;
3. once every vote is answered (a callback toast with text, or a message in the voter's chat), the others
   talk `--tail` seconds more and stop.

The poll message (`--poll-file`, JSON `{"text", "reply_markup"}`) is written by the orchestrator, which seeded
the voters and the poll in the bot's database. Voter n has chat id `VOTER_BASE + n` and presses answer
`n % len(answers) + 1`, so the orchestrator can check every stored vote.

Prints `PORT <n>`, `START`, `MARK burst` and `MARK burst_end` (the orchestrator samples the bot's CPU at
each), and one `RESULT <json>` line (times as `time.time()` where they are compared with the database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import percentile, run_pinned
from benchmarks.telegram_load import SHOWN, OpenLoop, PolledFake, make_people
from tests.fake_telegram import Call, FakeTelegram

VOTER_BASE = 900_000_000


class Burst:
    """Voters who each press one answer of the poll message in their chat."""

    def __init__(self, fake: FakeTelegram, voters: int, rate: float, poll: dict[str, Any]) -> None:
        self.fake = fake
        self.rate = rate
        buttons = [button for row in poll["reply_markup"]["inline_keyboard"] for button in row]
        self.data = [button["callback_data"] for button in buttons]
        self.messages = [fake.add_message(VOTER_BASE + n, poll["text"], poll["reply_markup"]) for n in range(voters)]
        self.released: dict[int, float] = {}       # voter number -> when their press was released
        self.answered: dict[int, float] = {}       # voter number -> when the bot answered it
        self.by_query: dict[str, int] = {}
        self.first_release = 0.0
        self.first_release_wall = 0.0
        self.last_answer = 0.0
        self.last_answer_wall = 0.0
        self.done = asyncio.Event()

    async def run(self, max_seconds: float) -> None:
        started, released = time.perf_counter(), 0
        self.first_release, self.first_release_wall = started, time.time()
        total = len(self.messages)
        while released < total:
            due = min(total, int((time.perf_counter() - started) * self.rate) + 1)
            for number in range(released, due):
                self.press(number)
            released = due
            await asyncio.sleep(0.001)
        try:
            await asyncio.wait_for(self.done.wait(), timeout=max_seconds)
        except TimeoutError:
            pass

    def press(self, number: int) -> None:
        chat_id = VOTER_BASE + number
        user = {"id": chat_id, "is_bot": False, "first_name": f"Pemilih{number}", "language_code": "id"}
        query_id = f"vote{number}"
        self.by_query[query_id] = number
        self.released[number] = time.perf_counter()
        self.fake.queue_update({"callback_query": {
            "id": query_id, "from": user, "chat_instance": str(chat_id),
            "data": self.data[number % len(self.data)], "message": self.messages[number]}})

    def on_call(self, call: Call) -> None:
        if call.method == "answerCallbackQuery":
            number = self.by_query.get(call.params.get("callback_query_id", ""))
            if number is not None and call.params.get("text"):
                self.answer(number)
        elif call.method in SHOWN and (call.chat_id or 0) >= VOTER_BASE:
            self.answer(call.chat_id - VOTER_BASE)  # type: ignore[operator]

    def answer(self, number: int) -> None:
        if number in self.answered or number not in self.released:
            return
        self.last_answer, self.last_answer_wall = time.perf_counter(), time.time()
        self.answered[number] = self.last_answer
        if len(self.answered) == len(self.messages):
            self.done.set()


async def watch_lag(lags: list[tuple[float, float]]) -> None:
    """How late this process's event loop wakes from a 10 ms sleep: the fake's own delay on every call."""
    while True:
        asleep = time.perf_counter()
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        lags.append((now, (now - asleep - 0.01) * 1000))


def window(load: OpenLoop, start: float, end: float, waits: bool = False) -> list[float]:
    """Latencies (ms) of the others' updates released between `start` and `end` (or their waits for getUpdates)."""
    return [latency for latency, released in zip(load.fetch_waits if waits else load.latencies, load.released_at,
                                                 strict=True) if start <= released <= end]


async def main_async(args: argparse.Namespace) -> None:
    fake = PolledFake(record=False)
    await fake.start()
    print(f"PORT {fake.port}", flush=True)
    poll = json.loads(Path(args.poll_file).read_text("utf-8"))
    others = OpenLoop(fake, make_people("sinergi", args.others, reports=20), args.others_rate, total=10**9)
    burst = Burst(fake, args.voters, args.vote_rate, poll)

    def on_call(call: Call) -> None:
        others.on_call(call)
        burst.on_call(call)

    fake.on_call = on_call
    await fake.polling.wait()
    await asyncio.sleep(0.5)  # let the bot settle (its first long poll, command menu)
    print("START", flush=True)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    lags: list[tuple[float, float]] = []
    watching = asyncio.create_task(watch_lag(lags))
    talking = asyncio.create_task(others.run(args.max_seconds))
    await asyncio.sleep(args.warmup + args.quiet)
    burst_start = time.perf_counter()
    quiet_start = burst_start - args.quiet
    print("MARK burst", flush=True)
    burst_cpu = time.process_time()
    if args.voters:
        await burst.run(args.max_seconds)
    burst_end = burst.last_answer or time.perf_counter()
    burst_cpu, burst_wall = time.process_time() - burst_cpu, time.perf_counter() - burst_start
    print("MARK burst_end", flush=True)
    await asyncio.sleep(args.tail)
    others.stopping = True
    await talking
    watching.cancel()
    quiet_lags = [lag for at, lag in lags if quiet_start <= at < burst_start]
    burst_lags = [lag for at, lag in lags if burst_start <= at <= burst_end]
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    quiet, during = window(others, quiet_start, burst_start), window(others, burst_start, burst_end)
    votes = sorted(burst.answered[n] - burst.released[n] for n in burst.answered)
    result = {
        "voters": args.voters, "vote_rate": args.vote_rate, "votes_answered": len(burst.answered),
        "first_vote_wall": burst.first_release_wall, "last_answer_wall": burst.last_answer_wall,
        "burst_seconds": burst_end - burst_start,
        "vote_p50_ms": percentile(votes, 50) * 1000 if votes else None,
        "vote_p99_ms": percentile(votes, 99) * 1000 if votes else None,
        "others_quiet": len(quiet), "quiet_p50_ms": percentile(quiet, 50), "quiet_p99_ms": percentile(quiet, 99),
        "others_burst": len(during), "burst_p50_ms": percentile(during, 50), "burst_p99_ms": percentile(during, 99),
        "burst_max_ms": max(during, default=float("nan")),
        "quiet_fetch_p99_ms": percentile(window(others, quiet_start, burst_start, waits=True), 99),
        "burst_fetch_p99_ms": percentile(window(others, burst_start, burst_end, waits=True), 99),
        "others_unanswered": len(others.waiting), "late_releases": others.late, "failure": others.failure,
        "fake_cpu_share": cpu / wall if wall else 0.0, "seconds": wall,
        "fake_burst_cpu_share": burst_cpu / burst_wall,
        "fake_lag_quiet_p99_ms": percentile(quiet_lags, 99), "fake_lag_burst_p99_ms": percentile(burst_lags, 99),
    }
    print("RESULT " + json.dumps(result), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poll-file", required=True)
    parser.add_argument("--voters", type=int, default=20_000)
    parser.add_argument("--vote-rate", type=float, default=4_500.0)
    parser.add_argument("--others", type=int, default=100)
    parser.add_argument("--others-rate", type=float, default=50.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of talk before the quiet window")
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds of talk measured with no burst")
    parser.add_argument("--tail", type=float, default=2.0, help="seconds of talk after the last vote's answer")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    run_pinned(parser, main_async)


if __name__ == "__main__":
    main()
