"""`make bench` (`--quick` for `make bench-quick`): every benchmark in turn, each in its own process.

Each prints its own figures and its ratio against the baseline it measured in the same run; this prints the
target lines again at the end. It fails only if a benchmark could not run, not when a target is missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = ("calibrate", "engine_bench", "telegram_bench", "memory_bench", "fanout_bench", "vote_burst_bench")
ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of each (small sizes, one run)")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these")
    args = parser.parse_args()
    verdicts: list[str] = []
    failed = []
    for name in args.only or BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", f"benchmarks.{name}", *(["--quick"] if args.quick else [])],
                                   cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith("target ") or "not measured yet" in line:
                verdicts.append(f"{name}: {line.strip()}")
        if process.wait() != 0:
            failed.append(name)
        print(f"({name} took {time.perf_counter() - started:.0f} s)", flush=True)
    print("\n=== targets ===")
    print("\n".join(verdicts))
    if failed:
        print(f"could not run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
