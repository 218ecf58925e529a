"""Flood control: a noisy user gets one polite warning, the rest is dropped; others are unaffected."""

from __future__ import annotations

from bot.app import App
from bot.flood import FloodGate
from tests.support import Chat


def test_gate_counts_a_sliding_window() -> None:
    gate = FloodGate(limit=3, window_seconds=10)
    key = ("telegram", "1")
    assert [gate.check(key, t) for t in (0, 1, 2)] == ["ok", "ok", "ok"]
    assert gate.check(key, 3) == "warn"
    assert gate.check(key, 4) == "drop"
    assert gate.check(("telegram", "2"), 4) == "ok", "another user is unaffected"
    assert gate.check(key, 20) == "ok", "after the window the user is welcome again"


def test_gate_memory_stays_bounded() -> None:
    gate = FloodGate(limit=3, window_seconds=1, max_tracked=100)
    for i in range(1000):
        gate.check(("wa", str(i)), float(i))
    assert len(gate._seen) <= 101


async def test_a_flooding_user_is_slowed_without_work_and_others_still_served(app: App) -> None:
    app.engine.config.flood = FloodGate()  # the production default: 20 messages in 10 s
    noisy = Chat(app.engine, user="noisy")
    calm = Chat(app.engine, user="calm")
    answered = 0
    warnings = 0
    for i in range(40):
        replies = await noisy.send(f"halo {i}")
        answered += bool(replies)
        warnings += any("sangat cepat" in r.text for r in replies)
    assert warnings == 1
    assert answered == 21, "20 handled, one warning, the rest dropped"
    handled = await app.store.db.fetchval("SELECT COUNT(*) FROM inbound_messages WHERE message_id LIKE 'noisy-%'")
    assert handled == 20, "dropped messages cost no database work"
    assert await calm.send("halo")
    assert "Halo! Saya Sinergi" in calm.text
