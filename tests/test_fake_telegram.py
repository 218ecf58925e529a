"""The fake Bot API's benchmark options: a round-trip delay, no call log, a hook on every answered call."""

from __future__ import annotations

import time

import aiohttp

from tests.fake_telegram import Call, FakeTelegram


async def test_delay_holds_every_answer_back() -> None:
    fake = await FakeTelegram(delay=0.2).start()
    try:
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            async with session.post(f"{fake.base_url}{fake.token}/getMe") as answer:
                assert (await answer.json())["result"]["is_bot"] is True
            assert time.perf_counter() - started >= 0.2
    finally:
        await fake.close()


async def test_without_a_record_each_answered_call_goes_to_the_hook_only() -> None:
    seen: list[Call] = []
    fake = await FakeTelegram(record=False, on_call=seen.append).start()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"{fake.base_url}{fake.token}/sendMessage"
            async with session.post(url, json={"chat_id": 7001, "text": "halo"}) as answer:
                assert answer.status == 200
            async with session.post(url, json={"chat_id": 7001, "text": ""}) as refused:
                assert refused.status == 400
    finally:
        await fake.close()
    assert fake.calls == []
    assert [(c.method, c.chat_id, c.text) for c in seen] == [("sendMessage", 7001, "halo")]
    assert seen[0].result["message_id"] >= 1
