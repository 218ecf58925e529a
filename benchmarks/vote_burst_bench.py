"""Benchmark 4 (harness): a poll vote burst while other people talk to the bot.

Target, once polls exist: 20,000 votes arriving within a few seconds are stored at >= 2,000 votes/s, and the
p99 reply latency of 100 other people talking meanwhile at most doubles against their p99 with no burst.
This part measures the second half's baseline now: Sinergi's real process (`telegram_bench.py`) with 100
citizens talking (onboarding and a report) in an open loop at 50 updates/s, no burst. The burst itself needs
the polls of issue 7 (another branch); until they land it is reported as not measured.

    python -m benchmarks.vote_burst_bench [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse

from benchmarks.common import machine, summary
from benchmarks.telegram_bench import measure

OTHERS = 100
OTHERS_RATE = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 run")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    print(f"vote burst benchmark (harness): {OTHERS} people talking at {OTHERS_RATE:.0f} updates/s, no burst; "
          f"{runs} run(s); {machine()}")
    p99s = []
    for run in range(runs):
        measured = measure("sinergi", "open", OTHERS, 0.0, OTHERS_RATE, 120.0)
        p99s.append(measured.load["p99_ms"])
        print(f"run {run + 1}: {measured.line()}")
    print(f"others' p99 with no burst: {summary(p99s)} ms (the burst may at most double it)")
    print("vote burst: not measured yet (polls land with issue 7 on another branch)")


if __name__ == "__main__":
    main()
