"""Benchmark 3: a broadcast to 100,000 people, half on Telegram, half on WhatsApp, Sinergi beside the naive loop.

The platforms run in their own process (`platforms.py`, core 1) and allow a scaled-up rate (1,000 sends/s
each by default), answering 429 with a whole-second retry_after past it, 1% server errors, 0.5% people who
blocked the sender; they keep the ledger of who got what and when. The sender runs in another process
(core 0). Printed per platform: achieved rate / allowed rate, lost, duplicated, time to finish, all as the
platform saw them: delivered people / (first attempt to last delivery) / allowed rate.

Sinergi: a real SQLite file with the recipients as onboarded users; the broadcast is created and queued by
Sinergi's own code (`Broadcasts.create`, then `handlers.broadcasts.start`, what the official's "Send now"
runs: one outbox row per reachable member of the audience); then both channels start as `sinergi run`
starts them (the Telegram channel's PTB bot on our aiohttp request, the WhatsApp channel's twilio client)
and one `OutboxWorker` per channel drains the outbox with the channel's real sender. The workers' pacing
is `pacing_for(channel, settings)` with TELEGRAM_SEND_RATE and WHATSAPP_SEND_RATE set to the platform's
published limit (what an operator writes into the settings), nothing above it. Half the WhatsApp people
wrote in the last 24 hours (free-form text), the other half get the broadcast's approved template.

Baseline: the naive broadcast, `asyncio.gather` over chunks of sends: on Telegram PTB's `send_message`
through `AIORateLimiter` at the allowed rate (its default `max_retries=0`), on WhatsApp the twilio client's
`create_async` through an `aiolimiter` limiter at the allowed rate; nothing retried.

Targets (Sinergi): >= 0.97 of the allowed rate, 0 lost, 0 duplicated.

    python -m benchmarks.fanout_bench [--recipients 100000] [--rate 1000] [--runs 3] [--system both] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import machine, pin_to_core, production_logging, summary, target
from benchmarks.platforms import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, recipients
from tests.fake_telegram import TOKEN

ROOT = Path(__file__).resolve().parent.parent
TEXT = "Pengumuman: kerja bakti hari Minggu pukul 07.00 di balai desa. Mohon hadir."
TARGET_SHARE = 0.97
BROADCAST_TEMPLATE = "HX" + "b7" * 16
CHANNELS = ("telegram", "whatsapp")


async def naive_broadcast(telegram_url: str, twilio_url: str, people: list[tuple[str, str]], rate: float,
                          chunk: int) -> dict[str, Any]:
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

    async def fan_out(channel: str) -> None:
        targets = [external for c, external in people if c == channel]
        for start in range(0, len(targets), chunk):
            sends = [bot.send_message(int(t), TEXT) if channel == "telegram" else whatsapp(t)
                     for t in targets[start:start + chunk]]
            await asyncio.gather(*sends, return_exceptions=True)  # a failed send is simply not sent

    cpu, started = time.process_time(), time.perf_counter()
    async with bot:
        await asyncio.gather(fan_out("telegram"), fan_out("whatsapp"))
    await twilio.http_client.close()
    return {"cpu_seconds": time.process_time() - cpu, "seconds": time.perf_counter() - started}


# --- Sinergi -----------------------------------------------------------------------------------------

async def add_recipients(store: Any, people: list[tuple[str, str]], now: Any) -> None:
    """Everyone as an onboarded user (what onboarding stores), in bulk; every other WhatsApp person wrote
    an hour ago (inside the 24-hour window: free-form text), the rest two days ago (the template)."""
    from storage.clock import to_db

    desa = [d.code for d in await store.areas.desa_list()]
    consent = to_db(now - timedelta(days=30))
    recent, silent = to_db(now - timedelta(hours=1)), to_db(now - timedelta(days=2))
    rows = [(channel, external, f"Warga {n}", "id", desa[n % len(desa)], consent,
             recent if channel == "telegram" or n % 4 == 0 else silent, consent, consent)
            for n, (channel, external) in enumerate(people)]
    async with store.transaction():
        await store.db.executemany(
            """INSERT INTO users (channel, external_id, display_name, locale, desa_code, consent_at,
                                  last_inbound_at, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows)


async def sinergi_broadcast(telegram_url: str, twilio_url: str, people: list[tuple[str, str]], rate: float,
                            workdir: Path) -> dict[str, Any]:
    """Queue the broadcast through Sinergi's own code, then deliver it as `sinergi run` does."""
    from bot.app import build_app, settle_gc
    from bot.channels import build_channels
    from bot.config import Settings
    from bot.outbox_worker import OutboxWorker, pacing_for
    from handlers import broadcasts
    from storage.audience import Audience
    from storage.clock import utc_now

    settings = Settings.from_mapping({
        "DATABASE_PATH": str(workdir / "sinergi.sqlite3"), "MEDIA_DIR": str(workdir / "media"),
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": telegram_url,
        "TELEGRAM_FILE_BASE_URL": telegram_url.replace("/bot", "/file/bot"),
        "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_WHATSAPP_FROM": TWILIO_FROM,
        "TWILIO_API_BASE_URL": twilio_url, "PUBLIC_BASE_URL": "https://sinergi.example.go.id",
        "TWILIO_TEMPLATE_BROADCAST": BROADCAST_TEMPLATE,
        # the platform's published limit, as an operator would configure it
        "TELEGRAM_SEND_RATE": str(rate), "WHATSAPP_SEND_RATE": str(rate),
    })
    app = await build_app(settings)
    now = utc_now()
    await add_recipients(app.store, people, now)
    created = await app.store.broadcasts.create(None, TEXT, None, None, Audience(), now)
    queue_started = time.perf_counter()
    queued = await broadcasts.start(app.store, created, now, settings.default_locale)
    queue_seconds = time.perf_counter() - queue_started

    channels = build_channels(app)
    workers = []
    for channel in channels:
        await channel.start()
        workers.append(OutboxWorker(app.store, channel.sender, clock=app.clock,
                                    pacing=pacing_for(channel.name, settings),
                                    conversation_timeout=timedelta(minutes=settings.conversation_timeout_minutes)))
    settle_gc()  # as `sinergi run` does once it has started
    cpu, started = time.process_time(), time.perf_counter()
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    while await app.store.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE group_id = ? AND state IN ('pending', 'sending')", (created.group_id,)):
        await asyncio.sleep(0.25)
    cpu_seconds, seconds = time.process_time() - cpu, time.perf_counter() - started
    for worker in workers:
        worker.stop()
    await asyncio.gather(*tasks)
    counts = await app.store.outbox.counts(created.group_id)
    for channel in channels:
        await channel.stop()
    await app.close()
    return {"queued": queued, "queue_seconds": queue_seconds, "cpu_seconds": cpu_seconds, "seconds": seconds,
            "outbox": counts}


# --- orchestration -------------------------------------------------------------------------------------

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
        facts = json.loads(sender.stdout.strip().splitlines()[-1])
        platforms.stdin.close()
        ledger = json.loads(platforms.stdout.readline().split(" ", 1)[1])
    finally:
        platforms.wait(timeout=30)
    platforms_cpu_share = ledger.pop("cpu_share")
    for entry in ledger.values():
        entry["share"] = entry["delivered"] / entry["seconds"] / rate if entry["seconds"] else 0.0
    sent = sum(entry["delivered"] for entry in ledger.values())
    return {"ledger": ledger, "facts": facts, "cpu_us": facts["cpu_seconds"] / max(1, sent) * 1e6,
            "cpu_share": facts["cpu_seconds"] / max(1e-9, facts["seconds"]), "platforms_cpu_share": platforms_cpu_share}


def child(args: argparse.Namespace) -> None:
    pin_to_core(0)
    people = recipients(args.recipients)
    if args.child == "naive":
        facts = asyncio.run(naive_broadcast(args.telegram_url, args.twilio_url, people, args.rate, args.chunk))
    else:
        with tempfile.TemporaryDirectory(prefix="fanout-") as workdir, production_logging("INFO"):
            facts = asyncio.run(sinergi_broadcast(args.telegram_url, args.twilio_url, people, args.rate,
                                                  Path(workdir)))
    print(json.dumps(facts))


def report(system: str, run: int, result: dict[str, Any]) -> None:
    facts = result["facts"]
    if system == "sinergi":
        print(f"run {run} sinergi: queued {facts['queued']:,} outbox rows in {facts['queue_seconds']:.1f} s; "
              f"outbox at the end {facts['outbox']}")
    for channel, entry in result["ledger"].items():
        print(f"run {run} {system} {channel}: {entry['delivered']:,} of {entry['recipients']:,} delivered "
              f"({entry['blocked']} blocked) in {entry['seconds']:.1f} s: {entry['share']:.3f} of the allowed "
              f"rate; lost {entry['lost']:,}, duplicated {entry['duplicated']}; refused attempts: "
              f"{entry['attempts_limited']:,} over the rate, {entry['attempts_error']:,} server errors")
    print(f"run {run} {system}: sender CPU {result['cpu_us']:.0f} µs per delivered message, "
          f"{result['cpu_share']:.0%} of its core; the platforms used {result['platforms_cpu_share']:.0%} of theirs",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1_000.0, help="allowed sends per second, each platform")
    parser.add_argument("--chunk", type=int, default=256, help="naive: sends gathered at once")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--system", choices=("naive", "sinergi", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="5,000 recipients at 500/s, 1 run: a smoke run")
    parser.add_argument("--child", choices=("naive", "sinergi"), help=argparse.SUPPRESS)
    parser.add_argument("--telegram-url", help=argparse.SUPPRESS)
    parser.add_argument("--twilio-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    count, rate, runs = (5_000, 500.0, 1) if args.quick else (args.recipients, args.rate, args.runs)
    systems = ("naive", "sinergi") if args.system == "both" else (args.system,)
    print(f"fan-out benchmark: {count:,} recipients (half Telegram, half WhatsApp), {rate:,.0f} sends/s allowed on "
          f"each, 1% 5xx, 0.5% blocked; {runs} run(s) of {' and '.join(systems)}, alternating; {machine()}")
    results: dict[str, list[dict[str, Any]]] = {system: [] for system in systems}
    for run in range(runs):
        for system in systems:
            result = run_once(system, count, rate, args.chunk)
            results[system].append(result)
            report(system, run + 1, result)
    for system in systems:
        for channel in CHANNELS:
            entries = [r["ledger"][channel] for r in results[system]]
            shares = [e["share"] for e in entries]
            lost, duplicated = [e["lost"] for e in entries], [e["duplicated"] for e in entries]
            print(f"{system} {channel}: achieved/allowed {summary(shares, 3)}; lost {summary(lost, 0)}; "
                  f"duplicated {summary(duplicated, 0)}; time {summary([e['seconds'] for e in entries], 1)} s")
            name = "(a baseline, not Sinergi) " if system == "naive" else ""
            print(target(f"{system} {channel} {name}>= {TARGET_SHARE} of the allowed rate, 0 lost, 0 duplicated",
                         min(shares) >= TARGET_SHARE and max(lost) == 0 and max(duplicated) == 0,
                         f"min {min(shares):.3f}, max lost {max(lost)}, max duplicated {max(duplicated)}"))
        print(f"{system}: sender CPU {summary([r['cpu_us'] for r in results[system]], 0)} µs per delivered message")
    if len(systems) == 2:
        for channel in CHANNELS:
            ratios = [s["ledger"][channel]["share"] / max(1e-9, n["ledger"][channel]["share"])
                      for s, n in zip(results["sinergi"], results["naive"], strict=True)]
            print(f"sinergi / naive achieved rate, {channel}: {summary(ratios, 2)}")


if __name__ == "__main__":
    main()
