"""Benchmark 5: memory of the running process with a district's worth of data, idle and during a broadcast.

A database with 100,000 users (half Telegram, half WhatsApp), 1,000,000 outbox rows already sent and 50,000
reports is built once (through the storage layer where it has a way; outbox states and history rows in bulk).
Then, per run, a fresh process is measured: it builds the App as `sinergi run` does (store, engine, scheduler,
both channels constructed but not connected), lets 20 citizens onboard through the engine (flows, catalogs and
Babel loaded), and samples its resident memory (RSS) while idle; then an official's broadcast to everyone is
created and started by Sinergi's own broadcast code (`handlers.broadcasts.start`: SQLite writes the 100,000
outbox rows from the audience in one INSERT … SELECT), and the outbox worker of each channel drains them through
a sender that answers "sent" at once (no network), while RSS is sampled every 20 ms from a thread (the queueing
holds the event loop). Baseline in the same run: the same process before it opened the database (Python and the imports
alone).

    python -m benchmarks.memory_bench [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import machine, summary, target
from storage.clock import to_db
from storage.outbox import PRIORITY_BULK, NewMessage, OutboxMessage

TARGET_MB = 200.0
SIZES = {"full": (100_000, 1_000_000, 50_000), "quick": (10_000, 100_000, 5_000)}
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the database ----------------------------------------------------------------------------------

async def populate(path: Path, users: int, outbox_rows: int, reports: int) -> None:
    from storage.db import open_store
    from storage.reports import NewReport

    store = await open_store(path)
    desa = await store.areas.desa_list()
    categories = [c.code for c in await store.reports.categories.list()]
    async with store.transaction():
        for n in range(users):
            channel, external = ("telegram", str(710_000_000 + n)) if n % 2 == 0 else ("whatsapp", f"+62812{n:07d}")
            await store.users.touch_or_create(channel, external, f"Warga {n}", NOW)
    # what onboarding would have stored, in bulk (desa by user id, everyone agreed)
    await store.db.execute(
        "UPDATE users SET locale = 'id', consent_at = ?, desa_code = (SELECT code FROM (SELECT code, "
        "row_number() OVER (ORDER BY code) - 1 AS n FROM desa) WHERE n = users.id % ?)", (to_db(NOW), len(desa)))
    async with store.transaction():
        for n in range(reports):
            place = desa[n % len(desa)]
            await store.reports.create(NewReport(
                reporter_user_id=n % users + 1, privacy="biasa", category_code=categories[n % len(categories)],
                description=f"Laporan nomor {n}: jalan rusak di dekat balai dusun, mohon segera diperbaiki",
                kecamatan_code=place.kecamatan_code, desa_code=place.code, verify_due_at=NOW + timedelta(days=3),
                landmark="dekat balai dusun"), year=2026, now=NOW - timedelta(minutes=reports - n))
    body = json.dumps([{"text": "Pengumuman: kerja bakti hari Minggu pukul 07.00 di balai desa masing-masing. "
                        "Mohon hadir dan membawa alat kebersihan.", "options": [], "request": None,
                        "media": [], "files": [], "edit": False}], ensure_ascii=False)
    for start in range(0, outbox_rows, 20_000):
        batch = []
        for n in range(start, min(outbox_rows, start + 20_000)):
            user = n % users
            channel = "telegram" if user % 2 == 0 else "whatsapp"
            external = str(710_000_000 + user) if channel == "telegram" else f"+62812{user:07d}"
            batch.append(NewMessage(user + 1, channel, external, "report_status", body, PRIORITY_BULK))
        await store.outbox.enqueue(batch, NOW)
    await store.db.execute("UPDATE outbox SET state = 'sent', sent_at = created_at")  # the past months' messages
    await store.close()


# --- the measured process --------------------------------------------------------------------------

class InstantSender:
    """Answers "sent" at once: the broadcast part measures our side, not the network's."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent = 0

    async def send(self, message: OutboxMessage) -> Any:
        from bot.outbox_worker import SendResult

        self.sent += 1
        await asyncio.sleep(0)
        return SendResult.sent(f"bench-{message.id}")


class PeakSampler:
    """Samples RSS every 20 ms from a thread, so a phase that holds the event loop is sampled too."""

    def __init__(self, start_mb: float) -> None:
        self.peak = start_mb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())


async def measured(path: Path) -> dict[str, float]:
    imports_mb = rss_mb()
    from benchmarks.citizens import Labels, Pin, Press, Say, Seen, citizen, sleman_areas
    from bot.app import build_app, settle_gc
    from bot.channels import build_channels
    from bot.config import Settings
    from bot.outbox_worker import OutboxWorker, Pacing
    from handlers import broadcasts
    from handlers.types import Incoming, Location
    from storage.audience import Audience

    baseline_mb = rss_mb()
    settings = Settings.from_mapping({
        "DATABASE_PATH": str(path), "MEDIA_DIR": str(path.parent / "media"),
        "TELEGRAM_BOT_TOKEN": "123456789:AAFakeTokenForSinergiTests_0123456789ab",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "0" * 32,
        "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886", "PUBLIC_BASE_URL": "https://sinergi.example.go.id",
    })
    app = await build_app(settings)
    channels = build_channels(app)  # what `sinergi run` builds, not connected
    await app.start_scheduler()
    settle_gc()  # as `sinergi run` does once it has started
    areas, labels = sleman_areas(), Labels.load()
    for number in range(20):  # flows, catalogs and Babel in memory, as after the first messages of the day
        script = citizen(number, areas, labels)
        action = next(script)
        for step in range(20):
            location = Location(action.latitude, action.longitude) if isinstance(action, Pin) else None
            text = action.text if isinstance(action, Say) else action.label if isinstance(action, Press) else ""
            replies = await app.engine.handle(Incoming("telegram", str(720_000_000 + number), text=text,
                                                       location=location, message_id=f"m{number}-{step}"))
            options = next((r.options for r in reversed(replies) if r.options), ())
            try:
                action = script.send(Seen("\n".join(r.text for r in replies), tuple(o.label for o in options)))
            except StopIteration:
                break
    await asyncio.sleep(1.0)
    idle_mb = rss_mb()

    senders = {name: InstantSender(name) for name in ("telegram", "whatsapp")}
    # paced far above any platform's limit: this measures memory, the fan-out benchmark measures pacing
    workers = [OutboxWorker(app.store, sender, idle_seconds=0.2, pacing=Pacing(rate=5_000.0))
               for sender in senders.values()]
    with PeakSampler(idle_mb) as sampler:
        started = time.perf_counter()
        broadcast = await app.store.broadcasts.create(
            None, "Pengumuman: kerja bakti hari Minggu pukul 07.00 di balai desa masing-masing. Mohon hadir dan "
            "membawa alat kebersihan.", "Announcement: community clean-up on Sunday at 07.00 at your village hall.",
            None, Audience(), app.clock())
        queued = await broadcasts.start(app.store, broadcast, app.clock(), settings.default_locale) or 0
        queue_seconds = time.perf_counter() - started
        queue_peak_mb = max(sampler.peak, rss_mb())
        tasks = [asyncio.create_task(worker.run()) for worker in workers]
        while sum(s.sent for s in senders.values()) < queued and time.perf_counter() - started < 600:
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        for worker in workers:
            worker.stop()
        await asyncio.gather(*tasks)
    counts = await app.store.outbox.counts(broadcast.group_id)
    del channels
    await app.close()
    return {"imports_mb": imports_mb, "baseline_mb": baseline_mb, "idle_mb": idle_mb,
            "broadcast_peak_mb": sampler.peak, "queue_peak_mb": queue_peak_mb, "queued": float(queued),
            "sent": float(counts.get("sent", 0)),
            "queue_seconds": queue_seconds, "broadcast_rate": queued / seconds}


# --- the orchestration -----------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the data, 1 run: a smoke run")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measured(args.child))))
        return
    size = "quick" if args.quick else "full"
    users, outbox_rows, reports = SIZES[size]
    runs = 1 if args.quick else args.runs
    print(f"memory benchmark: {users:,} users, {outbox_rows:,} outbox rows, {reports:,} reports; a broadcast to "
          f"everyone; {runs} run(s); {machine()}")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        template = Path(folder) / "template" / "sinergi.sqlite3"
        started = time.perf_counter()
        asyncio.run(populate(template, users, outbox_rows, reports))
        print(f"database built in {time.perf_counter() - started:.0f} s, "
              f"{template.stat().st_size / 2**20:,.0f} MB on disk")
        for run in range(runs):
            path = Path(folder) / f"run{run}" / "sinergi.sqlite3"
            shutil.copytree(template.parent, path.parent)
            answer = subprocess.run([sys.executable, "-m", "benchmarks.memory_bench", "--child", str(path),
                                     ], capture_output=True, text=True,
                                    env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
            if answer.returncode != 0:
                raise SystemExit(answer.stderr[-3000:])
            result = json.loads(answer.stdout.strip().splitlines()[-1])
            shutil.rmtree(path.parent)
            if result["sent"] != result["queued"] or result["queued"] < users * 0.9:
                raise SystemExit(f"the broadcast queued {result['queued']:.0f} for {users:,} users, sent "
                                 f"{result['sent']:.0f}")
            results.append(result)
            print(f"run {run + 1}: interpreter and storage modules {result['imports_mb']:.0f} MB, every module "
                  f"imported {result['baseline_mb']:.0f} MB; idle {result['idle_mb']:.0f} MB; during the broadcast "
                  f"peak {result['broadcast_peak_mb']:.0f} MB ({result['queued']:,.0f} queued in "
                  f"{result['queue_seconds']:.2f} s, peak {result['queue_peak_mb']:.0f} MB till then; "
                  f"{result['broadcast_rate']:,.0f} messages/s drained)")
    idle = [r["idle_mb"] for r in results]
    peak = [r["broadcast_peak_mb"] for r in results]
    print(f"RSS MB: baseline (imports, no data) {summary([r['baseline_mb'] for r in results], 0)}; idle "
          f"{summary(idle, 0)}; broadcast peak {summary(peak, 0)}; idle/baseline "
          f"{statistics.median(idle) / statistics.median([r['baseline_mb'] for r in results]):.2f}")
    print(f"queueing the broadcast (the event loop held): {summary([r['queue_seconds'] for r in results], 2)} s; "
          f"RSS MB till then {summary([r['queue_peak_mb'] for r in results], 0)}")
    print(target(f"RSS < {TARGET_MB:.0f} MB idle", max(idle) < TARGET_MB, f"max {max(idle):.0f} MB"))
    print(target(f"RSS < {TARGET_MB:.0f} MB during the broadcast", max(peak) < TARGET_MB, f"max {max(peak):.0f} MB"))


if __name__ == "__main__":
    main()
