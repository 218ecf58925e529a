"""The platforms for the fan-out benchmarks, in their own process: the fake Bot API and the fake Twilio API,
each enforcing an allowed rate (429 with a whole-second retry_after past it), 1% server errors and 0.5% of
people who blocked the sender (`tests.fake_limits.SendLimits`).

Prints `PORTS <telegram> <twilio>`; when its stdin closes, prints `LEDGER <json>`: per platform, against the
broadcast's recipients, how many were delivered, lost (reachable but got nothing) and duplicated, the
attempts refused, and the seconds from the first attempt to the last delivery; and `cpu_share`, the share
of its core this process used while the sends came (near 1.0 would mean the fakes, not the sender, set the
pace). The recipients are the same list `recipients()` gives the sender.

    python -m benchmarks.platforms --recipients 100000 --rate 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from benchmarks.common import run_pinned
from tests.fake_limits import SendLimits
from tests.fake_telegram import FakeTelegram
from tests.fake_twilio import FakeTwilio

TWILIO_SID = "AC" + "5" * 32
TWILIO_TOKEN = "bench-auth-token"
TWILIO_FROM = "whatsapp:+14155238886"


def recipients(count: int, whatsapp_share: float = 0.5) -> list[tuple[str, str]]:
    """(channel, external id) of everyone a broadcast is for; every `1/whatsapp_share`-th is on WhatsApp."""
    every = round(1 / whatsapp_share) if whatsapp_share else 0
    return [("whatsapp", f"+62813{n:07d}") if every and n % every == 0 else ("telegram", str(800_000_000 + n))
            for n in range(count)]


def ledger_key(channel: str, external_id: str) -> str:
    """How the platform names the recipient: a chat id, or Twilio's `whatsapp:+62…`."""
    return f"whatsapp:{external_id}" if channel == "whatsapp" else external_id


async def sample_cpu(samples: list[tuple[float, float]]) -> None:
    """(monotonic time, CPU seconds of this process) every 0.1 s: how busy the fakes were while sends came."""
    while True:
        samples.append((time.monotonic(), time.process_time()))
        await asyncio.sleep(0.1)


async def serve(args: argparse.Namespace) -> None:
    telegram_limits = SendLimits(rate=args.rate, seed=1)
    twilio_limits = SendLimits(rate=args.whatsapp_rate or args.rate, seed=2)
    telegram = await FakeTelegram(record=False, limits=telegram_limits).start()
    twilio = FakeTwilio(TWILIO_SID, TWILIO_TOKEN, limits=twilio_limits)
    await twilio.start()
    print(f"PORTS {telegram.port} {twilio.url.rsplit(':', 1)[1]}", flush=True)
    samples: list[tuple[float, float]] = []
    sampler = asyncio.create_task(sample_cpu(samples))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    sampler.cancel()
    everyone = recipients(args.recipients, args.whatsapp_share)
    ledger = {
        "telegram": telegram_limits.ledger(ledger_key(c, e) for c, e in everyone if c == "telegram"),
        "whatsapp": twilio_limits.ledger(ledger_key(c, e) for c, e in everyone if c == "whatsapp"),
    }
    starts = [t for t in (telegram_limits.first_attempt_at, twilio_limits.first_attempt_at) if t is not None]
    ends = [t for t in (telegram_limits.last_delivered_at, twilio_limits.last_delivered_at) if t is not None]
    during = [cpu for at, cpu in samples if starts and ends and min(starts) <= at <= max(ends)]
    ledger["cpu_share"] = (during[-1] - during[0]) / (max(ends) - min(starts)) if len(during) > 1 else 0.0
    print("LEDGER " + json.dumps(ledger), flush=True)
    await telegram.close()
    await twilio.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--whatsapp-share", type=float, default=0.5)
    parser.add_argument("--rate", type=float, default=1_000.0, help="allowed sends per second on Telegram")
    parser.add_argument("--whatsapp-rate", type=float, default=0.0, help="on Twilio (default: as Telegram)")
    run_pinned(parser, serve)


if __name__ == "__main__":
    main()
