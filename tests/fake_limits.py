"""What a messaging platform does to a flood of sends, for the fake servers: a rate limit, errors, blocked people.

`SendLimits` decides each send attempt the way Telegram and Twilio do at scale: past the allowed rate an
attempt is refused with 429 and a whole-second `retry_after`; some attempts meet a server error (nothing is
delivered); a few recipients have blocked the sender (always refused). It also keeps the ledger the fan-out
benchmarks read: who got how many copies, so lost and duplicated messages can be counted.
"""

from __future__ import annotations

import math
import random
import time
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["ok", "limited", "error", "blocked"]


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    retry_after: int | None = None   # whole seconds, with "limited"


@dataclass
class SendLimits:
    rate: float                       # attempts per second allowed (a token bucket)
    error_share: float = 0.01         # attempts answered with a server error, at random
    blocked_share: float = 0.005      # recipients who blocked the sender, chosen by their id
    burst: float | None = None        # bucket size; a tenth of a second's worth by default
    seed: int = 9
    delivered: Counter[str] = field(default_factory=Counter)
    attempts: Counter[Outcome] = field(default_factory=Counter)
    first_attempt_at: float | None = None   # monotonic time of the first attempt …
    last_delivered_at: float | None = None  # … and of the last one delivered: the broadcast's time to finish

    def __post_init__(self) -> None:
        self.burst = self.burst if self.burst is not None else max(1.0, self.rate / 10)
        self._tokens = self.burst
        self._refilled: float | None = None
        self._rng = random.Random(self.seed)

    def blocked(self, recipient: str) -> bool:
        """The same recipients, whatever the order of sends: a stable share of all ids."""
        return zlib.crc32(f"{self.seed}:{recipient}".encode()) % 100_000 < self.blocked_share * 100_000

    def decide(self, recipient: str, now: float | None = None) -> Verdict:
        """One send attempt: every attempt counts against the rate, as on the real platforms."""
        now = time.monotonic() if now is None else now
        assert self.burst is not None
        if self.first_attempt_at is None:
            self.first_attempt_at = now
        if self._refilled is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._tokens < 1:
            verdict = Verdict("limited", max(1, math.ceil((1 - self._tokens) / self.rate)))
        else:
            self._tokens -= 1
            if self.blocked(recipient):
                verdict = Verdict("blocked")
            elif self._rng.random() < self.error_share:
                verdict = Verdict("error")
            else:
                self.delivered[recipient] += 1
                self.last_delivered_at = now
                verdict = Verdict("ok")
        self.attempts[verdict.outcome] += 1
        return verdict

    def ledger(self, recipients: Iterable[str]) -> dict[str, float]:
        """Against everyone a broadcast meant to reach: delivered, lost (reachable, got nothing), duplicated,
        and the seconds from the first attempt to the last delivery, as the platform saw them."""
        wanted = set(recipients)
        reachable = {r for r in wanted if not self.blocked(r)}
        first, last = self.first_attempt_at, self.last_delivered_at
        return {
            "seconds": last - first if first is not None and last is not None else 0.0,
            "recipients": len(wanted),
            "blocked": len(wanted) - len(reachable),
            "delivered": sum(1 for r in reachable if self.delivered[r]),
            "lost": sum(1 for r in reachable if not self.delivered[r]),
            "duplicated": sum(max(0, n - 1) for n in self.delivered.values()),
            "attempts_limited": self.attempts["limited"],
            "attempts_error": self.attempts["error"],
        }
