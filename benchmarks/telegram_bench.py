"""Benchmark 2: the Telegram stack, Sinergi's real process against the fake Bot API, beside a bare echo bot.

Three processes per measurement: the fake Bot API with the people using it (`telegram_load.py`, pinned
to core 1), the bot under test (pinned to core 0), and this orchestrator, which samples the bot's CPU
while the load runs. The bot under test is either `sinergi run` itself (polling, its settings pointing
at the fake, a fresh SQLite file, logs at INFO drained by another process as journald would) with
citizens doing onboarding and a report, or PTB's documented echo bot on PTB's defaults (`echo_bot.py`)
with people sending texts: the baseline, measured in the same run.

Per round trip (0 ms, then 50 ms added by the fake to every answer):
- closed loop, both bots: every person writes again once answered; updates/s is the throughput;
- open loop, Sinergi: 1,000 updates/s released, latency from release to the answer's last message.
With 50 ms the echo bot, one update at a time, manages about 1/(2 × 50 ms); its closed loop is cut
after --slow-seconds and its open loop is not run (it could not drain 1,000/s).

    python -m benchmarks.telegram_bench [--users 2000] [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import machine, summary, target
from tests.fake_telegram import TOKEN

TARGET_RATIO = 1.5
TARGET_P99_MS = 50.0
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Measurement:
    load: dict[str, Any]       # what the load process measured (rate, latencies, fake CPU)
    bot_cpu_s: float           # CPU the bot used while the load ran
    bot_rss_mb: float          # the bot's peak resident memory
    bot_cpu_marks: dict[str, float] = field(default_factory=dict)  # the bot's CPU seconds at each `MARK <name>`

    @property
    def rate(self) -> float:
        return float(self.load["rate"])

    @property
    def bot_cpu_us(self) -> float:
        return self.bot_cpu_s / max(1, self.load["completed"]) * 1e6

    def line(self) -> str:
        d = self.load
        text = (f"{d['mode']:7} {d['loop']:6} delay {d['delay_ms']:3.0f} ms: {d['completed']:6d} updates, "
                f"{self.rate:7,.0f}/s; bot CPU {self.bot_cpu_us:4.0f} µs/update, "
                f"{self.bot_cpu_s / d['seconds']:4.0%} of its core; fake {d['fake_cpu_share']:4.0%} of its core")
        if d["loop"] == "open":
            text += (f"; offered {d['offered_rate']:,.0f}/s, latency p50 {d['p50_ms']:.1f} p95 {d['p95_ms']:.1f} "
                     f"p99 {d['p99_ms']:.1f} max {d['max_ms']:.0f} ms, late releases {d['late_releases']}")
        if d["unanswered"] or d["failure"]:
            text += f"; UNANSWERED {d['unanswered']} {d['failure'] or ''}"
        return text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pinned(core: int) -> Any:
    """Run the child on one core (what `taskset -c <core>` does), when the machine has several."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return None
    return lambda: os.sched_setaffinity(0, {core})


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def process(command: list[str], core: int, **kwargs: Any) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(command, preexec_fn=pinned(core), text=True, **kwargs)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def measure(mode: str, loop: str, users: int, delay: float, rate: float, max_seconds: float) -> Measurement:
    load_args = ["--mode", mode, "--users", str(users), "--loop", loop, "--rate", str(rate), "--delay", str(delay),
                 "--max-seconds", str(max_seconds)]
    with tempfile.TemporaryDirectory() as folder:
        return run_load(mode, "benchmarks.telegram_load", load_args, Path(folder))


def run_load(mode: str, load_module: str, load_args: list[str], folder: Path) -> Measurement:
    """The load process (fake Bot API and people, core 1) against the bot under test (core 0), its database and
    media in `folder` (which a caller may have seeded, and may read afterwards: the bot has stopped by then).
    The load prints `START`, optionally `MARK <name>` lines (the bot's CPU is sampled at each), then `RESULT`."""
    load_command = [sys.executable, "-m", load_module, *load_args, "--core", "1"]
    with process(load_command, 1, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as load:
        assert load.stdout is not None and load.stdin is not None
        port = int(load.stdout.readline().split()[1])
        env = {**os.environ, **bot_settings(mode, port, folder)}
        bot_command = [sys.executable, "-m", "bot", "run"] if mode == "sinergi" else \
            [sys.executable, "-m", "benchmarks.echo_bot"]
        collector = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            with process(bot_command, 0, cwd=folder if mode == "sinergi" else ROOT, env=env,
                         stdout=collector.stdin, stderr=collector.stdin) as bot:
                started = load.stdout.readline().strip()
                if started != "START":
                    raise SystemExit(f"the load did not start: {started!r}")
                cpu_before = cpu_seconds(bot.pid)
                marks = {}
                line = load.stdout.readline()
                while line.startswith("MARK "):
                    marks[line.split()[1]] = cpu_seconds(bot.pid)
                    line = load.stdout.readline()
                if not line.startswith("RESULT "):
                    raise SystemExit(f"the load ended without a result: {line!r}")
                cpu = cpu_seconds(bot.pid) - cpu_before
                rss = peak_rss(bot.pid)
        finally:
            assert collector.stdin is not None
            collector.stdin.close()
            collector.wait()
        load.stdin.close()
        load.wait(timeout=30)
    return Measurement(json.loads(line[len("RESULT "):]), cpu, rss, marks)


def bot_settings(mode: str, port: int, folder: Path) -> dict[str, str]:
    base = f"http://127.0.0.1:{port}"
    settings = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": f"{base}/bot"}
    if mode == "sinergi":
        settings.update({
            "TELEGRAM_FILE_BASE_URL": f"{base}/file/bot", "TELEGRAM_MODE": "polling",
            "DATABASE_PATH": str(folder / "data" / "sinergi.sqlite3"), "MEDIA_DIR": str(folder / "media"),
            "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(free_port()), "LOG_LEVEL": "INFO",
        })
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1_000.0, help="open loop: updates per second")
    parser.add_argument("--delays", default="0,0.05", help="round trips to add, seconds, comma separated")
    parser.add_argument("--slow-seconds", type=float, default=20.0,
                        help="cut the echo bot's closed loop after this long when a delay is added")
    parser.add_argument("--quick", action="store_true", help="200 people, 1 run, 200 updates/s: a smoke run")
    args = parser.parse_args()
    users, runs, rate = (200, 1, 200.0) if args.quick else (args.users, args.runs, args.rate)
    delays = [float(d) for d in args.delays.split(",")]
    print(f"telegram benchmark: {users} people, {runs} run(s), delays {delays} s, open loop {rate:,.0f}/s; "
          f"{machine()}; bot on core 0, fake Bot API and people on core 1")
    results: dict[tuple[str, str, float], list[Measurement]] = {}
    for run in range(runs):
        for delay in delays:
            plan = [("sinergi", "closed", 600.0), ("echo", "closed", args.slow_seconds if delay else 600.0)]
            plan.append(("sinergi", "open", 600.0))
            for mode, loop, max_seconds in plan:
                measured = measure(mode, loop, users, delay, rate, max_seconds)
                results.setdefault((mode, loop, delay), []).append(measured)
                print(f"run {run + 1}: {measured.line()}", flush=True)
    print()
    for delay in delays:
        sinergi, echo = results[("sinergi", "closed", delay)], results[("echo", "closed", delay)]
        ratios = [s.rate / e.rate for s, e in zip(sinergi, echo, strict=True)]
        opened = results[("sinergi", "open", delay)]
        p99s = [m.load["p99_ms"] for m in opened]
        print(f"delay {delay * 1000:.0f} ms: Sinergi {summary([m.rate for m in sinergi])} updates/s "
              f"({summary([m.bot_cpu_us for m in sinergi], 0)} µs CPU/update); echo bot "
              f"{summary([m.rate for m in echo])} updates/s ({summary([m.bot_cpu_us for m in echo], 0)} µs "
              f"CPU/update); ratio {summary(ratios, 2)}")
        print(f"delay {delay * 1000:.0f} ms: Sinergi open loop at {rate:,.0f}/s: p50 "
              f"{summary([m.load['p50_ms'] for m in opened])} ms, p99 {summary(p99s)} ms; "
              f"peak RSS {max(m.bot_rss_mb for m in opened):.0f} MB")
        if delay == 0:
            print(target(f"throughput >= {TARGET_RATIO}x the echo bot", min(ratios) >= TARGET_RATIO,
                         f"min {min(ratios):.2f}x"))
            print(target(f"p99 < {TARGET_P99_MS:.0f} ms at {rate:,.0f}/s", max(p99s) < TARGET_P99_MS,
                         f"max {max(p99s):.1f} ms"))


if __name__ == "__main__":
    main()
