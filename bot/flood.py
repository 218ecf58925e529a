"""Per-user flood control: past a set number of messages in a short window, one polite warning,
then the rest are dropped before any database work, so one noisy user cannot slow the others."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class FloodGate:
    limit: int = 20
    window_seconds: float = 10.0
    max_tracked: int = 100_000
    _seen: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _warned: dict[tuple[str, str], float] = field(default_factory=dict)

    def check(self, key: tuple[str, str], now: float) -> str:
        """'ok' to handle the message, 'warn' to answer once that they should slow down, 'drop' to ignore it."""
        times = self._seen.get(key)
        if times is None:
            if len(self._seen) >= self.max_tracked:
                self._forget_idle(now)
            times = self._seen[key] = deque()
        while times and now - times[0] >= self.window_seconds:
            times.popleft()
        times.append(now)
        if len(times) <= self.limit:
            self._warned.pop(key, None)
            return "ok"
        warned_at = self._warned.get(key)
        if warned_at is not None and now - warned_at < self.window_seconds:
            return "drop"
        self._warned[key] = now
        return "warn"

    def allows(self, key: tuple[str, str], now: float) -> bool:
        """Whether `check` would say 'ok' to one more message now (nothing is counted)."""
        times = self._seen.get(key, ())
        return sum(1 for moment in times if now - moment < self.window_seconds) < self.limit

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, t in self._seen.items() if not t or now - t[-1] >= self.window_seconds]
        for key in idle:
            self._seen.pop(key, None)
            self._warned.pop(key, None)
