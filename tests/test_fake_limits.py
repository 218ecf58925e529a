"""The platforms' limits the fakes can enforce for the fan-out benchmarks: rate with 429, errors, blocked people."""

from __future__ import annotations

import aiohttp
import pytest

from tests.fake_limits import SendLimits
from tests.fake_telegram import FakeTelegram
from tests.fake_twilio import FakeTwilio


def test_past_the_rate_an_attempt_is_refused_with_whole_seconds_to_wait() -> None:
    limits = SendLimits(rate=10, burst=2, error_share=0, blocked_share=0)
    assert [limits.decide("a", now=100.0).outcome for _ in range(3)] == ["ok", "ok", "limited"]
    assert limits.decide("a", now=100.0).retry_after == 1
    assert limits.decide("a", now=100.15).outcome == "ok", "0.15 s at 10/s brings one more"
    assert limits.attempts == {"ok": 3, "limited": 2}


def test_the_ledger_times_a_broadcast_from_its_first_attempt_to_its_last_delivery() -> None:
    limits = SendLimits(rate=10, burst=1, error_share=0, blocked_share=0)
    assert [limits.decide(r, now=t).outcome for r, t in (("a", 50.0), ("b", 50.0), ("b", 50.3), ("c", 50.35))] == [
        "ok", "limited", "ok", "limited"]
    assert limits.ledger(["a", "b", "c"])["seconds"] == pytest.approx(0.3), "a later refusal adds nothing"


def test_blocked_recipients_are_a_stable_share_and_always_refused() -> None:
    limits = SendLimits(rate=1e9, error_share=0)
    ids = [str(700_000 + n) for n in range(100_000)]
    blocked = [r for r in ids if limits.blocked(r)]
    assert 300 < len(blocked) < 700, "about 0.5%"
    assert all(limits.decide(r).outcome == "blocked" for r in blocked[:50])
    assert blocked == [r for r in ids if SendLimits(rate=1).blocked(r)], "the same people whatever the order"


def test_server_errors_deliver_nothing_and_the_ledger_counts_lost_and_duplicated() -> None:
    limits = SendLimits(rate=1e9, error_share=0.01, blocked_share=0)
    outcomes = [limits.decide(str(n)).outcome for n in range(20_000)]
    assert 120 < outcomes.count("error") < 280, "about 1%"
    limits.decide("0")
    limits.decide("0")
    ledger = limits.ledger(str(n) for n in range(20_001))
    assert ledger["lost"] == outcomes.count("error") + 1, "each errored attempt and the one never tried"
    assert ledger["duplicated"] >= 1
    assert ledger["delivered"] == 20_001 - ledger["lost"]


async def test_the_fake_bot_api_answers_as_telegram_does_at_its_limits() -> None:
    limits = SendLimits(rate=5, burst=1, error_share=0, blocked_share=0.005)
    blocked = next(n for n in range(700_000, 800_000) if limits.blocked(str(n)))
    fake = await FakeTelegram(limits=limits).start()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"{fake.base_url}{fake.token}/sendMessage"
            async with session.post(url, json={"chat_id": 7001, "text": "halo"}) as first:
                assert first.status == 200
            async with session.post(url, json={"chat_id": 7001, "text": "halo"}) as second:
                assert second.status == 429 and (await second.json())["parameters"] == {"retry_after": 1}
            limits.burst = 1e9  # no more waiting: the next attempt meets the blocked person
            limits._tokens = 1e9
            async with session.post(url, json={"chat_id": blocked, "text": "halo"}) as refused:
                assert refused.status == 403 and "blocked" in (await refused.json())["description"]
    finally:
        await fake.close()
    assert limits.delivered == {"7001": 1}


async def test_the_fake_twilio_answers_as_twilio_does_at_its_limits() -> None:
    limits = SendLimits(rate=5, burst=1, error_share=0, blocked_share=0)
    fake = FakeTwilio("AC" + "1" * 32, "secret", limits=limits)
    await fake.start()
    try:
        auth = {"Authorization": aiohttp.encode_basic_auth(fake.account_sid, fake.auth_token)}
        url = f"{fake.url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
        form = {"To": "whatsapp:+6281234567890", "From": "whatsapp:+14155238886", "Body": "halo"}
        async with aiohttp.ClientSession(headers=auth) as session:
            async with session.post(url, data=form) as first:
                assert first.status == 201
            async with session.post(url, data=form) as second:
                assert second.status == 429 and second.headers["Retry-After"] == "1"
                assert (await second.json())["code"] == 20429
    finally:
        await fake.close()
    assert len(fake.messages) == 1 and limits.delivered == {"whatsapp:+6281234567890": 1}
