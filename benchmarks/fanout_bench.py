"""Benchmark 3 (harness and baseline): a broadcast to 100,000 people, half on Telegram, half on WhatsApp.

The platforms run in their own process (`platforms.py`, core 1) and allow a scaled-up rate (1,000 sends/s
each by default), answering 429 with retry_after past it, 1% server errors, 0.5% people who blocked the
sender; they keep the ledger of who got what. The sender runs in another process (core 0). Printed per
platform: achieved rate / allowed rate, lost, duplicated, time to finish.

Baseline: the naive broadcast, `asyncio.gather` over chunks of sends: on Telegram PTB's `send_message`
through `AIORateLimiter` at the allowed rate (its default `max_retries=0`), on WhatsApp the twilio client's
`create_async` through an `aiolimiter` limiter at the allowed rate; nothing retried.

Sinergi: its broadcast through the outbox (issue 7) is built on another branch; `--system sinergi` says so
until it lands. Targets then: >= 0.97 of the allowed rate, 0 lost, 0 duplicated.

    python -m benchmarks.fanout_bench [--recipients 100000] [--rate 1000] [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import machine, pin_to_core, summary, target
from benchmarks.platforms import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, recipients
from tests.fake_telegram import TOKEN

ROOT = Path(__file__).resolve().parent.parent
TEXT = "Pengumuman: kerja bakti hari Minggu pukul 07.00 di balai desa. Mohon hadir."
TARGET_SHARE = 0.97


async def naive_broadcast(telegram_url: str, twilio_url: str, people: list[tuple[str, str]], rate: float,
                          chunk: int) -> dict[str, float]:
    """The way a broadcast is often first written: gather a chunk of sends at a time, under a rate limiter."""
    from aiolimiter import AsyncLimiter
    from telegram.ext import AIORateLimiter, ExtBot
    from telegram.request import HTTPXRequest
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    bot = ExtBot(TOKEN, base_url=telegram_url, request=HTTPXRequest(connection_pool_size=chunk),
                 rate_limiter=AIORateLimiter(overall_max_rate=rate, overall_time_period=1))
    twilio = Client(TWILIO_SID, TWILIO_TOKEN, http_client=AsyncTwilioHttpClient())
    twilio.api.base_url = twilio_url
    twilio.edge = twilio.region = None
    limiter = AsyncLimiter(rate, 1)

    async def whatsapp(number: str) -> None:
        async with limiter:
            await twilio.messages.create_async(to=f"whatsapp:{number}", from_=TWILIO_FROM, body=TEXT)

    async def fan_out(channel: str) -> float:
        started = time.perf_counter()
        targets = [external for c, external in people if c == channel]
        for start in range(0, len(targets), chunk):
            sends = [bot.send_message(int(t), TEXT) if channel == "telegram" else whatsapp(t)
                     for t in targets[start:start + chunk]]
            await asyncio.gather(*sends, return_exceptions=True)  # a failed send is simply not sent
        return time.perf_counter() - started

    async with bot:
        seconds = await asyncio.gather(fan_out("telegram"), fan_out("whatsapp"))
    await twilio.http_client.close()
    return {"telegram_seconds": seconds[0], "whatsapp_seconds": seconds[1]}


def run_once(system: str, count: int, rate: float, chunk: int) -> dict[str, Any]:
    platforms = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.platforms", "--recipients", str(count), "--rate", str(rate)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert platforms.stdin is not None and platforms.stdout is not None
    try:
        _word, telegram_port, twilio_port = platforms.stdout.readline().split()
        sender = subprocess.run(
            [sys.executable, "-m", "benchmarks.fanout_bench", "--child", system, "--recipients", str(count),
             "--rate", str(rate), "--chunk", str(chunk), "--telegram-url", f"http://127.0.0.1:{telegram_port}/bot",
             "--twilio-url", f"http://127.0.0.1:{twilio_port}"],
            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if sender.returncode != 0:
            raise SystemExit(sender.stderr[-3000:])
        timing = json.loads(sender.stdout.strip().splitlines()[-1])
        platforms.stdin.close()
        ledger = json.loads(platforms.stdout.readline().split(" ", 1)[1])
    finally:
        platforms.wait(timeout=30)
    for channel in ("telegram", "whatsapp"):
        entry = ledger[channel]
        entry["seconds"] = timing[f"{channel}_seconds"]
        entry["share"] = entry["delivered"] / entry["seconds"] / rate
    return ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1_000.0, help="allowed sends per second, each platform")
    parser.add_argument("--chunk", type=int, default=256, help="naive: sends gathered at once")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--system", choices=("naive", "sinergi"), default="naive")
    parser.add_argument("--quick", action="store_true", help="5,000 recipients at 500/s, 1 run: a smoke run")
    parser.add_argument("--child", choices=("naive", "sinergi"), help=argparse.SUPPRESS)
    parser.add_argument("--telegram-url", help=argparse.SUPPRESS)
    parser.add_argument("--twilio-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pin_to_core(0)
        people = recipients(args.recipients)
        timing = asyncio.run(naive_broadcast(args.telegram_url, args.twilio_url, people, args.rate, args.chunk))
        print(json.dumps(timing))
        return
    if args.system == "sinergi":
        raise SystemExit("Sinergi's broadcast is built on the broadcasts branch (issue 7); this harness measures it "
                         "once that lands. The naive baseline runs now: --system naive.")
    count, rate, runs = (5_000, 500.0, 1) if args.quick else (args.recipients, args.rate, args.runs)
    print(f"fan-out benchmark: {count:,} recipients (half Telegram, half WhatsApp), {rate:,.0f} sends/s allowed on "
          f"each, 1% 5xx, 0.5% blocked; {runs} run(s) of the naive broadcast; {machine()}")
    results = []
    for run in range(runs):
        ledger = run_once("naive", count, rate, args.chunk)
        results.append(ledger)
        for channel, entry in ledger.items():
            print(f"run {run + 1} naive {channel}: {entry['delivered']:,} of {entry['recipients']:,} delivered "
                  f"({entry['blocked']} blocked) in {entry['seconds']:.1f} s: {entry['share']:.2f} of the allowed "
                  f"rate; lost {entry['lost']:,}, duplicated {entry['duplicated']}; refused attempts: "
                  f"{entry['attempts_limited']:,} over the rate, {entry['attempts_error']:,} server errors")
    for channel in ("telegram", "whatsapp"):
        shares = [r[channel]["share"] for r in results]
        lost = [r[channel]["lost"] for r in results]
        print(f"naive {channel}: achieved/allowed {summary(shares, 2)}; lost {summary(lost, 0)}")
        print(target(f"naive {channel} (a baseline, not Sinergi) >= {TARGET_SHARE} of the allowed rate, 0 lost",
                     min(shares) >= TARGET_SHARE and max(lost) == 0, f"min {min(shares):.2f}, max lost {max(lost)}"))
    print("Sinergi's broadcast: not measured yet (issue 7 lands on another branch).")


if __name__ == "__main__":
    main()
