"""WhatsApp end to end: signed webhooks into the real aiohttp app, the real engine and SQLite, and the
real twilio client sending to a fake Twilio REST server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from bot.app import serve
from bot.config import Settings
from handlers.flow import Context, Flow, Step
from storage.outbox import PRIORITY_REPLY
from tests.fake_twilio import JPEG, FakeTwilio
from tests.support import FakeClock
from tests.whatsapp_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BOT_NUMBER,
    PUBLIC_BASE_URL,
    WhatsAppHarness,
    onboard,
    whatsapp_env,
    whatsapp_harness,
)

NUMBER = "+6281234567890"


# A small flow that asks for a location, then a photo, the way the report flow does.
async def ask_where(ctx: Context) -> None:
    ctx.say("Where is the problem?", request="location")


async def handle_where(ctx: Context) -> None:
    location = ctx.msg.location
    if location:
        ctx.draft["where"] = f"{location.latitude},{location.longitude} ({location.address})"
    elif ctx.text:
        ctx.draft["where"] = f"desa {ctx.text}"
    else:
        ctx.retry("Please share a location or type your desa.")
        return
    ctx.goto("probe.photo")


async def ask_photo(ctx: Context) -> None:
    ctx.say("Please send a photo of it.", request="photo")


async def handle_photo(ctx: Context) -> None:
    photos = [m for m in ctx.msg.media if m.kind == "photo" and m.path]
    if not photos:
        ctx.retry("That was not a photo I could use.")
        return
    photo = photos[0]
    ctx.finish(f"Noted at {ctx.draft['where']} with a {photo.mime_type} photo of {photo.size} bytes: {photo.path}")


PROBE = Flow("probe", {"probe.where": Step(ask_where, handle_where), "probe.photo": Step(ask_photo, handle_photo)},
             start="probe.where")


@pytest.fixture
async def wa(tmp_path: Path, clock: FakeClock) -> AsyncIterator[WhatsAppHarness]:
    async with whatsapp_harness(tmp_path, clock, flows=(PROBE,),
                                TWILIO_TEMPLATE_REPORT_STATUS="HX" + "a1" * 16) as harness:
        yield harness


async def test_onboarding_by_typed_numbers_and_names(wa: WhatsAppHarness) -> None:
    budi = wa.user(NUMBER, "Budi")
    await budi.send("halo")
    assert "Halo! Saya Sinergi" in budi.text
    assert "1. Bahasa Indonesia\n2. English" in budi.text
    assert "Balas dengan angka, misalnya *1*." in budi.text
    reply = budi.replies[0]
    assert reply["From"] == BOT_NUMBER and reply["To"] == f"whatsapp:{NUMBER}"
    assert "StatusCallback" not in reply  # direct replies are not tracked; outbox rows are
    await budi.send("1")
    assert "UU PDP No. 27/2022" in budi.text
    await budi.send("Saya setuju")
    assert "kecamatan mana" in budi.text
    await budi.send("berbah")
    await budi.send("Jogo Tirto")
    assert "terdaftar di Desa Jogotirto, Kecamatan Berbah" in budi.text
    assert "1. Lapor masalah" in budi.text
    user = await wa.app.store.users.find("whatsapp", NUMBER)
    assert user is not None and user.onboarded and user.display_name == "Budi"
    assert user.last_inbound_at == "2026-11-30T02:00:00.000Z"


async def test_messages_of_one_user_are_answered_in_the_order_they_came(wa: WhatsAppHarness) -> None:
    budi = wa.user(NUMBER)
    webhooks = [budi.webhook(text) for text in ("halo", "1", "1")]
    for params in webhooks:  # Twilio posts them back to back; each is answered before it is handled
        status, _body = await wa.post("/webhooks/twilio/whatsapp", params)
        assert status == 200
    await wa.channel.drain()
    bodies = [m["Body"] for m in wa.fake.to(NUMBER)]
    assert len(bodies) == 3
    assert "Halo! Saya Sinergi" in bodies[0]
    assert "UU PDP" in bodies[1]
    assert "kecamatan mana" in bodies[2]


async def test_a_flow_gets_a_shared_location_and_a_downloaded_photo(wa: WhatsAppHarness, tmp_path: Path) -> None:
    budi = wa.user(NUMBER)
    await onboard(budi)
    await budi.press("go:probe", "Lapor")
    assert "Where is the problem?" in budi.text
    assert "pilih *Lokasi*" in budi.text and "ketik saja nama desa" in budi.text
    await budi.send_location(-7.7742, 110.3766, address="Jl. Kaliurang KM 5", label="SD Negeri 2")
    assert "Please send a photo" in budi.text
    assert "ikon kamera" in budi.text
    await budi.send_photo()
    assert "Noted at -7.7742,110.3766 (SD Negeri 2, Jl. Kaliurang KM 5)" in budi.text
    assert "with a image/jpeg photo of 543 bytes" in budi.text
    stored = Path(re.search(r"bytes: (\S+)", budi.text).group(1))
    assert stored.parent == tmp_path / "media" and stored.suffix == ".jpg"
    assert await asyncio.to_thread(stored.read_bytes) == JPEG
    assert len(wa.fake.media_downloads) == 1 and wa.fake.unauthorised == 0  # fetched with the account's credentials


async def test_typing_the_desa_works_where_a_location_is_asked(wa: WhatsAppHarness) -> None:
    budi = wa.user(NUMBER)
    await onboard(budi)
    await budi.press("go:probe", "Lapor")
    await budi.send("Jogotirto")
    assert "Please send a photo" in budi.text


@pytest.mark.parametrize(
    "how",
    ["another host", "another account", "not a photo inside", "too big", "gone"],
)
async def test_doubtful_media_is_never_stored(wa: WhatsAppHarness, tmp_path: Path, how: str) -> None:
    budi = wa.user(NUMBER)
    await onboard(budi)
    await budi.press("go:probe", "Lapor")
    await budi.send("Jogotirto")
    if how == "another host":
        url = wa.fake.add_media().replace("127.0.0.1", "localhost")
        await budi.send_photo(url=url)
    elif how == "another account":
        url = wa.fake.add_media().replace(wa.fake.account_sid, "AC" + "0" * 32)
        await budi.send_photo(url=url)
    elif how == "not a photo inside":
        await budi.send_photo(data=b"<html><script>alert(1)</script></html>")
    elif how == "too big":
        await budi.send_photo(data=JPEG + b"\0" * (10 * 1024 * 1024))
    else:
        url = wa.fake.add_media().rsplit("/", 1)[0] + "/ME" + "0" * 32
        await budi.send_photo(url=url)
    assert "That was not a photo I could use." in budi.text
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").iterdir())


async def test_voice_notes_are_not_downloaded_but_reach_the_flow(wa: WhatsAppHarness) -> None:
    budi = wa.user(NUMBER)
    await onboard(budi)
    await budi.send_photo(url=wa.fake.add_media(b"OggS", "audio/ogg"), content_type="audio/ogg")
    assert "belum paham" in budi.text
    assert wa.fake.media_downloads == []


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "local-url", "tampered"])
async def test_unsigned_or_wrongly_signed_webhooks_are_refused_and_store_nothing(
    wa: WhatsAppHarness, caplog: pytest.LogCaptureFixture, signature: str | None
) -> None:
    params = wa.user(NUMBER).webhook("halo rahasia")
    if signature == "local-url":  # signed for the address we listen on, not the one Twilio called
        signature = wa.signer.compute_signature(wa.server_url + "/webhooks/twilio/whatsapp", params)
    elif signature == "tampered":
        signature = wa.sign("/webhooks/twilio/whatsapp", params)
        params = params | {"Body": "something else"}
    caplog.set_level(logging.INFO)
    status, _body = await wa.post("/webhooks/twilio/whatsapp", params, signature=signature)
    await wa.channel.drain()
    assert status == 403
    assert await wa.app.store.users.count() == 0
    assert not await wa.app.store.inbound.seen("whatsapp", params["MessageSid"])
    assert wa.fake.messages == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "X-Twilio-Signature" in warnings[0].getMessage()
    assert NUMBER not in caplog.text and "rahasia" not in caplog.text


async def test_a_webhook_that_is_not_a_form_is_refused(wa: WhatsAppHarness) -> None:
    async with wa.http.post(wa.server_url + "/webhooks/twilio/whatsapp", json={"Body": "halo"}) as response:
        assert response.status == 403
    assert await wa.app.store.users.count() == 0


async def test_an_oversized_body_is_refused(wa: WhatsAppHarness) -> None:
    params = wa.user(NUMBER).webhook("x" * (300 * 1024))
    status, _body = await wa.post("/webhooks/twilio/whatsapp", params)
    await wa.channel.drain()
    assert status == 413
    assert await wa.app.store.users.count() == 0 and wa.fake.messages == []


async def test_a_retried_message_sid_is_handled_once(wa: WhatsAppHarness) -> None:
    budi = wa.user(NUMBER)
    params = budi.webhook("halo")
    await budi.deliver(params)
    assert len(budi.replies) == 1
    await budi.deliver(params)  # Twilio's retry after the first was handled
    assert budi.replies == []
    again = budi.webhook("1")
    for _ in range(3):  # and retries that arrive while the first is still waiting its turn
        status, _body = await wa.post("/webhooks/twilio/whatsapp", again)
        assert status == 200
    await wa.channel.drain()
    assert len(wa.fake.to(NUMBER)) == 2
    state = await wa.app.store.conversations.load((await wa.app.store.users.find("whatsapp", NUMBER)).id)
    assert state.state == "onboarding.consent"


async def test_a_template_button_payload_runs_its_action(wa: WhatsAppHarness) -> None:
    budi = wa.user(NUMBER)
    await onboard(budi)
    await budi.press("help", "Bantuan")
    assert "BERHENTI" in budi.text


@pytest.mark.parametrize("word", ["BERHENTI", "stop", "Unsubscribe"])
async def test_opting_out_in_the_middle_of_a_flow(wa: WhatsAppHarness, word: str) -> None:
    budi = wa.user(NUMBER)
    await onboard(budi)
    await budi.send("7")  # Pengaturan
    await budi.send("Ganti desa")
    assert "kecamatan mana" in budi.text
    await budi.send(word)
    assert "tidak akan mengirim pesan lagi" in budi.text
    assert "kecamatan mana" in budi.text  # the question it interrupted is asked again
    user = await wa.app.store.users.find("whatsapp", NUMBER)
    assert user is not None and user.opted_out
    from handlers.notify import notify
    from handlers.types import Reply

    async with wa.app.store.transaction():
        queued = await notify(wa.app.store, [user], "broadcast", lambda: [Reply("Pengumuman")], wa.app.clock())
    assert queued == 0
    await budi.send("Ngaglik")  # an opted-out user still talks to the bot
    assert "Desa mana di Kecamatan Ngaglik" in budi.text
    await budi.send("MULAI")
    assert "Selamat datang kembali" in budi.text
    user = await wa.app.store.users.find("whatsapp", NUMBER)
    assert user is not None and not user.opted_out


async def test_a_reply_twilio_refuses_for_a_while_is_retried_then_kept_in_the_outbox(wa: WhatsAppHarness) -> None:
    budi = wa.user(NUMBER)
    await onboard(budi)
    wa.fake.fail_next(429, 20429, retry_after="0")
    await budi.send("menu")
    assert "1. Lapor masalah" in budi.text  # one 429, then the second attempt went through
    wa.fake.fail_next(503, 20503, times=3)
    await budi.send("bantuan")
    assert budi.replies == []
    user = await wa.app.store.users.find("whatsapp", NUMBER)
    assert user is not None
    [row] = await wa.app.store.outbox.for_user(user.id)
    assert row.kind == "reply" and row.priority == PRIORITY_REPLY and row.state == "pending"
    await budi.send("menu")                  # Twilio works again, but this answer waits behind the first
    assert budi.replies == []
    assert await wa.deliver_outbox() == 2    # both claimed; one message per person at a time
    wa.app.clock.advance(seconds=2)  # type: ignore[attr-defined]
    await wa.deliver_outbox()
    help_text, menu = (m["Body"] for m in wa.fake.to(NUMBER)[-2:])
    assert "BERHENTI" in help_text and "1. Lapor masalah" in menu, "answered in the order asked"
    await budi.send("menu")                  # nothing waits any more: answered at once
    assert "1. Lapor masalah" in budi.text


async def test_healthz_reports_the_channel(wa: WhatsAppHarness) -> None:
    async with wa.http.get(wa.server_url + "/healthz") as response:
        body = await response.json()
    assert response.status == 200
    assert body == {"database": "ok", "channels": {"whatsapp": {"state": "running", "queued": 0, "last_error": None}}}


async def test_after_stop_webhooks_are_turned_away_for_twilio_to_retry(wa: WhatsAppHarness) -> None:
    await wa.channel.stop()
    status, _body = await wa.post("/webhooks/twilio/whatsapp", wa.user(NUMBER).webhook("halo"))
    assert status == 503
    assert await wa.app.store.users.count() == 0


async def test_conversations_log_no_numbers_and_no_bodies(wa: WhatsAppHarness,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    budi = wa.user(NUMBER)
    await budi.send("halo rahasia")
    await budi.send("1")
    assert budi.replies
    assert NUMBER not in caplog.text and NUMBER.lstrip("+") not in caplog.text
    assert "rahasia" not in caplog.text
    assert "Authorization" not in caplog.text


async def test_public_base_url_with_a_path_prefix_is_honoured(tmp_path: Path, clock: FakeClock) -> None:
    async with whatsapp_harness(tmp_path, clock, PUBLIC_BASE_URL=PUBLIC_BASE_URL + "/sinergi") as harness:
        params = harness.user(NUMBER).webhook("halo")
        signature = harness.signer.compute_signature(PUBLIC_BASE_URL + "/sinergi/webhooks/twilio/whatsapp", params)
        status, _ = await harness.post("/webhooks/twilio/whatsapp", params, signature=signature)
        await harness.channel.drain()
        assert status == 200
        assert len(harness.fake.to(NUMBER)) == 1


async def test_sinergi_run_serves_the_webhooks_and_health(tmp_path: Path) -> None:
    """`serve` (what `sinergi run` starts) with Twilio settings: the web server, the channel and its outbox worker."""
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    await fake.start()
    with socket.socket() as probe:  # a free port for HTTP_PORT
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings.from_mapping(whatsapp_env(tmp_path, fake.url, HTTP_PORT=str(port)))
    server = asyncio.create_task(serve(settings))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(base + "/healthz") as response:
                        health = await response.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            assert health["channels"]["whatsapp"]["state"] == "running"
            params = {"MessageSid": "SM" + "7" * 32, "From": f"whatsapp:{NUMBER}", "To": BOT_NUMBER, "Body": "halo"}
            signature = RequestValidator(AUTH_TOKEN).compute_signature(
                PUBLIC_BASE_URL + "/webhooks/twilio/whatsapp", params)
            async with http.post(base + "/webhooks/twilio/whatsapp", data=params,
                                 headers={"X-Twilio-Signature": signature}) as response:
                assert response.status == 200
            for _ in range(100):
                if fake.to(NUMBER):
                    break
                await asyncio.sleep(0.05)
            assert "Halo! Saya Sinergi" in fake.to(NUMBER)[0]["Body"]
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
        await fake.close()
