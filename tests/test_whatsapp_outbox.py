"""WhatsApp delivery of outbox rows: the 24-hour window, templates, Twilio's errors and status callbacks."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_app
from bot.channels import build_channels
from bot.channels.whatsapp import WhatsAppChannel
from bot.cli import main
from bot.config import Settings, SettingsError
from handlers.notify import notify
from handlers.types import Option, Reply
from storage.users import User
from tests.fake_twilio import FakeTwilio
from tests.support import FakeClock
from tests.whatsapp_support import PUBLIC_BASE_URL, WhatsAppHarness, whatsapp_env, whatsapp_harness

NUMBER = "+6281234567890"
REPORT_STATUS_TEMPLATE = "HX" + "a1" * 16


@pytest.fixture
async def wa(tmp_path: Path, clock: FakeClock) -> AsyncIterator[WhatsAppHarness]:
    async with whatsapp_harness(tmp_path, clock, TWILIO_TEMPLATE_REPORT_STATUS=REPORT_STATUS_TEMPLATE) as harness:
        yield harness


async def citizen(wa: WhatsAppHarness, number: str = NUMBER) -> User:
    """Someone who just wrote to the bot (their 24-hour window opens now)."""
    return await wa.app.store.users.touch_or_create("whatsapp", number, "Budi", wa.app.clock())


async def queue(wa: WhatsAppHarness, user: User, kind: str = "report_status", text: str = "Laporan LPR-2026-000123 "
                "sedang diproses.", group_id: str | None = None, variables: dict[str, str] | None = None) -> int:
    async with wa.app.store.transaction():
        return await notify(wa.app.store, [user], kind, lambda: [Reply(text)], wa.app.clock(), group_id=group_id,
                            template_vars=(lambda: variables) if variables else None)


async def only_row(wa: WhatsAppHarness, user: User):  # type: ignore[no-untyped-def]
    [row] = await wa.app.store.outbox.for_user(user.id)
    return row


async def test_inside_the_window_a_notification_goes_as_free_form_text(wa: WhatsAppHarness) -> None:
    user = await citizen(wa)
    await queue(wa, user, variables={"1": "LPR-2026-000123", "2": "Diproses"})
    assert await wa.deliver_outbox() == 1
    [sent] = wa.fake.to(NUMBER)
    assert sent["Body"] == "Laporan LPR-2026-000123 sedang diproses."
    assert "ContentSid" not in sent
    assert sent["StatusCallback"] == PUBLIC_BASE_URL + "/webhooks/twilio/status"
    row = await only_row(wa, user)
    assert row.state == "sent"
    assert await wa.app.store.deliveries.find(sent["sid"]) is not None


async def test_outside_the_window_the_kinds_template_is_used(wa: WhatsAppHarness, clock: FakeClock) -> None:
    user = await citizen(wa)
    clock.advance(hours=24)
    await queue(wa, user, variables={"1": "LPR-2026-000123", "2": "Diproses", "3": "Petugas\nsudah ke lokasi."})
    assert await wa.deliver_outbox() == 1
    [sent] = wa.fake.to(NUMBER)
    assert sent["ContentSid"] == REPORT_STATUS_TEMPLATE
    assert json.loads(sent["ContentVariables"]) == {"1": "LPR-2026-000123", "2": "Diproses",
                                                    "3": "Petugas sudah ke lokasi."}  # WhatsApp allows no newlines
    assert "Body" not in sent
    assert (await only_row(wa, user)).state == "sent"


async def test_the_worker_reads_a_batchs_recipients_at_once_and_a_send_without_it_reads_its_own(
        wa: WhatsAppHarness, clock: FakeClock) -> None:
    talking, silent = await citizen(wa), await citizen(wa, "+6281200000002")
    clock.advance(hours=25)
    talking = await citizen(wa)  # wrote again: inside the window; the other one is not
    await queue(wa, talking)
    await queue(wa, silent)
    assert await wa.deliver_outbox() == 2, "through the worker, which reads both recipients in one query"
    assert "Body" in wa.fake.to(NUMBER)[0] and wa.fake.to("+6281200000002")[0]["ContentSid"] == REPORT_STATUS_TEMPLATE

    await queue(wa, silent)
    [row] = [m for m in await wa.app.store.outbox.for_user(silent.id) if m.state == "pending"]
    result = await wa.channel.sender.send(row)  # no batch read first
    assert result.outcome == "sent" and wa.fake.to("+6281200000002")[1]["ContentSid"] == REPORT_STATUS_TEMPLATE


async def test_an_english_speaker_gets_the_english_template_when_there_is_one(tmp_path: Path, clock: FakeClock) -> None:
    english = "HX" + "e2" * 16
    async with whatsapp_harness(tmp_path, clock, TWILIO_TEMPLATE_REPORT_STATUS=REPORT_STATUS_TEMPLATE,
                                TWILIO_TEMPLATE_REPORT_STATUS_EN=english) as wa:
        ani = await citizen(wa, "+6285700000002")
        await wa.app.store.users.update(ani.id, locale="en")
        budi = await citizen(wa)
        clock.advance(days=2)
        for user in (ani, budi):
            await queue(wa, user, variables={"1": "LPR-2026-000123"})
        await wa.deliver_outbox()
        assert [(m["To"], m["ContentSid"]) for m in wa.fake.messages] == [
            ("whatsapp:+6285700000002", english), (f"whatsapp:{NUMBER}", REPORT_STATUS_TEMPLATE)]


async def test_outside_the_window_without_a_template_the_row_is_held(wa: WhatsAppHarness, clock: FakeClock) -> None:
    budi = await citizen(wa)
    siti = await citizen(wa, "+6285700000001")
    clock.advance(hours=23)
    ani = await citizen(wa, "+6285700000002")  # wrote an hour ago: still inside her window
    clock.advance(hours=1, minutes=30)
    async with wa.app.store.transaction():
        await notify(wa.app.store, [budi, siti, ani], "broadcast", lambda: [Reply("Kerja bakti Minggu pagi.")],
                     clock(), group_id="broadcast:7")
    assert await wa.deliver_outbox() == 3
    assert [m["To"] for m in wa.fake.messages] == ["whatsapp:+6285700000002"]
    assert (await only_row(wa, budi)).state == "needs_template"
    assert "TWILIO_TEMPLATE_BROADCAST" in (await only_row(wa, budi)).last_error
    assert await wa.app.store.deliveries.needs_template_by_group() == {"broadcast:7": 2}
    assert await wa.app.store.outbox.counts("broadcast:7") == {"needs_template": 2, "sent": 1}


async def test_a_long_message_is_split_at_paragraphs_and_options_are_numbered(wa: WhatsAppHarness) -> None:
    user = await citizen(wa)
    paragraphs = [f"Paragraf {n}: " + " ".join(["kata"] * 150) for n in range(1, 6)]
    options = (Option("Ya", "poll:1:1"), Option("Tidak", "poll:1:2"))
    async with wa.app.store.transaction():
        await notify(wa.app.store, [user], "programme_update", lambda: [Reply("\n\n".join(paragraphs), options)],
                     wa.app.clock())
    await wa.deliver_outbox()
    bodies = [m["Body"] for m in wa.fake.to(NUMBER)]
    assert len(bodies) == 3 and all(len(body) <= 1600 for body in bodies)
    assert all(body.startswith("Paragraf") for body in bodies)
    assert "\n\n".join(bodies).split("\n\n")[:5] == paragraphs
    assert bodies[-1].endswith("1. Ya\n2. Tidak\n\nBalas dengan angka, misalnya *1*.")
    row = await only_row(wa, user)
    assert row.state == "sent"
    assert (await wa.app.store.deliveries.find(wa.fake.to(NUMBER)[0]["sid"])).outbox_id == row.id


async def test_a_part_that_keeps_failing_after_the_first_went_out_is_not_sent_again(wa: WhatsAppHarness) -> None:
    user = await citizen(wa)
    await queue(wa, user, text="\n\n".join(" ".join(["kata"] * 300) for _ in range(3)))
    wa.fake.fail_next(500, 20500, times=3, after=1)  # the second part fails three times in a row
    await wa.deliver_outbox()
    row = await only_row(wa, user)
    assert row.state == "failed" and row.last_error.startswith("1 of 3 parts sent")
    assert len(wa.fake.to(NUMBER)) == 1 and len(wa.fake.refused) == 3


async def test_a_photo_with_a_public_url_is_sent_as_media_and_a_local_one_is_described(wa: WhatsAppHarness) -> None:
    user = await citizen(wa)
    async with wa.app.store.transaction():
        await notify(wa.app.store, [user], "broadcast",
                     lambda: [Reply("Jalan sudah diperbaiki.", media=("https://pemkab.example.go.id/foto/1.jpg",)),
                              Reply("Foto laporan.", media=("data/media/abc.jpg",))], wa.app.clock())
    await wa.deliver_outbox()
    text, photo = wa.fake.to(NUMBER)
    assert text["Body"].startswith("Jalan sudah diperbaiki.\n\nFoto laporan.")
    assert "tidak bisa ditampilkan di WhatsApp" in text["Body"] and "abc.jpg" not in text["Body"]
    assert photo["MediaUrl"] == ["https://pemkab.example.go.id/foto/1.jpg"] and "Body" not in photo


async def test_too_many_requests_pauses_as_long_as_twilio_asks_then_sends(
        wa: WhatsAppHarness, clock: FakeClock) -> None:
    user = await citizen(wa)
    await queue(wa, user)
    wa.fake.fail_next(429, 20429, retry_after="1")
    started = time.monotonic()
    await wa.deliver_outbox()
    assert time.monotonic() - started >= 0.95, "waited the Retry-After Twilio gave"
    row = await only_row(wa, user)
    assert row.state == "sent" and row.attempts == 1 and len(wa.fake.to(NUMBER)) == 1


async def test_server_errors_are_retried_later(wa: WhatsAppHarness, clock: FakeClock) -> None:
    user = await citizen(wa)
    await queue(wa, user)
    wa.fake.fail_next(500, 20500)
    await wa.deliver_outbox()
    assert (await only_row(wa, user)).state == "pending"
    clock.advance(minutes=1)
    await wa.deliver_outbox()
    assert (await only_row(wa, user)).state == "sent"


@pytest.mark.parametrize(
    ("status", "code", "state", "unreachable"),
    [
        (400, 63016, "needs_template", False),   # Twilio says the window is closed after all
        (400, 21610, "failed", True),            # the recipient unsubscribed
        (400, 21211, "failed", True),            # not a valid number
        (400, 21602, "failed", False),           # a bad request: sending it again would not help
    ],
)
async def test_final_errors_are_not_retried(wa: WhatsAppHarness, clock: FakeClock, status: int, code: int,
                                            state: str, unreachable: bool) -> None:
    user = await citizen(wa)
    await queue(wa, user)
    wa.fake.fail_next(status, code)
    await wa.deliver_outbox()
    row = await only_row(wa, user)
    assert row.state == state and str(code) in row.last_error
    stored = await wa.app.store.users.get(user.id)
    assert stored is not None and stored.unreachable == unreachable
    clock.advance(hours=1)
    assert await wa.deliver_outbox() == 0
    assert await queue(wa, stored) == (0 if unreachable else 1)  # notify skips the unreachable


async def test_a_recipient_who_opted_out_after_queueing_gets_nothing(wa: WhatsAppHarness) -> None:
    user = await citizen(wa)
    await queue(wa, user, kind="broadcast")
    await wa.app.store.users.update(user.id, opted_out=1)
    await wa.deliver_outbox()
    assert (await only_row(wa, user)).state == "cancelled"
    assert wa.fake.messages == []


async def test_status_callbacks_move_the_row_forward_only(wa: WhatsAppHarness) -> None:
    user = await citizen(wa)
    await queue(wa, user)
    await wa.deliver_outbox()
    sid = wa.fake.to(NUMBER)[0]["sid"]
    for status, expected in [("sent", "sent"), ("delivered", "delivered"), ("sent", "delivered"),
                             ("read", "read"), ("delivered", "read")]:
        assert await wa.status(sid, status) == 204
        assert (await only_row(wa, user)).state == expected
    delivery = await wa.app.store.deliveries.find(sid)
    assert delivery is not None and delivery.delivery_status == "read"


@pytest.mark.parametrize(
    ("status", "code", "state", "unreachable"),
    [("failed", "63016", "needs_template", False), ("undelivered", "21610", "failed", True),
     ("undelivered", "30008", "failed", False)],
)
async def test_failed_delivery_reports_keep_the_error_code(wa: WhatsAppHarness, status: str, code: str, state: str,
                                                           unreachable: bool) -> None:
    user = await citizen(wa)
    await queue(wa, user, group_id="broadcast:3")
    await wa.deliver_outbox()
    sid = wa.fake.to(NUMBER)[0]["sid"]
    assert await wa.status(sid, status, code) == 204
    assert (await only_row(wa, user)).state == state
    delivery = await wa.app.store.deliveries.find(sid)
    assert delivery is not None and (delivery.delivery_status, delivery.error_code) == (status, code)
    stored = await wa.app.store.users.get(user.id)
    assert stored is not None and stored.unreachable == unreachable


async def test_unsigned_status_callbacks_change_nothing(wa: WhatsAppHarness) -> None:
    user = await citizen(wa)
    await queue(wa, user)
    await wa.deliver_outbox()
    sid = wa.fake.to(NUMBER)[0]["sid"]
    params = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "63016"}
    status, _body = await wa.post("/webhooks/twilio/status", params, signature=None)
    assert status == 403
    status, _body = await wa.post("/webhooks/twilio/status", params, signature=wa.sign("/webhooks/twilio/whatsapp",
                                                                                        params))
    assert status == 403
    assert (await only_row(wa, user)).state == "sent"
    assert await wa.status("SM" + "0" * 32, "delivered") == 204  # unknown message: accepted, nothing to update


async def test_a_reply_deferred_to_the_outbox_still_goes_first(wa: WhatsAppHarness, clock: FakeClock) -> None:
    user = await citizen(wa)
    await queue(wa, user, kind="broadcast", group_id="broadcast:1")
    budi = wa.user(NUMBER)
    wa.fake.fail_next(500, 20500, times=3)
    await budi.send("halo")
    assert budi.replies == []
    await wa.deliver_outbox()  # one message per person at a time: the deferred reply goes first
    clock.advance(seconds=2)
    await wa.deliver_outbox()
    first, second = wa.fake.to(NUMBER)
    assert "Halo! Saya Sinergi" in first["Body"] and second["Body"] == "Laporan LPR-2026-000123 sedang diproses."


# --- settings -----------------------------------------------------------------------------------------

async def test_whatsapp_refuses_to_start_without_public_base_url(tmp_path: Path) -> None:
    env = whatsapp_env(tmp_path, "http://127.0.0.1:9")
    del env["PUBLIC_BASE_URL"]
    app = await build_app(Settings.from_mapping(env))
    try:
        with pytest.raises(SettingsError, match="PUBLIC_BASE_URL"):
            build_channels(app)
    finally:
        await app.close()


async def test_a_template_setting_that_is_not_a_content_sid_is_refused(tmp_path: Path) -> None:
    app = await build_app(Settings.from_mapping(whatsapp_env(tmp_path, "http://127.0.0.1:9",
                                                             TWILIO_TEMPLATE_BROADCAST="pengumuman")))
    try:
        with pytest.raises(SettingsError, match="TWILIO_TEMPLATE_BROADCAST"):
            WhatsAppChannel(app)
    finally:
        await app.close()


def test_sinergi_run_names_the_missing_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    env = whatsapp_env(tmp_path, "http://127.0.0.1:9")
    del env["PUBLIC_BASE_URL"]
    monkeypatch.chdir(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert main(["run"]) == 2
    assert "configuration error: PUBLIC_BASE_URL is required" in capsys.readouterr().err


async def test_the_rest_client_uses_the_configured_base_and_the_accounts_credentials(tmp_path: Path) -> None:
    fake = FakeTwilio("AC" + "5e" * 16, "f2c4a1b09d8e7f6a5b4c3d2e1f0a9b8c")
    await fake.start()
    app = await build_app(Settings.from_mapping(whatsapp_env(tmp_path, fake.url, TWILIO_AUTH_TOKEN="wrong")))
    channel = WhatsAppChannel(app)
    await channel.start()
    try:
        result = await channel.rest.create(NUMBER, {"body": "halo"})
        assert (result.outcome, result.error) == ("final", "twilio status=401 code=20003")
        assert fake.unauthorised == 1 and fake.messages == []
        assert channel.health()["last_error"] == "twilio status=401 code=20003"
    finally:
        await channel.stop()
        await app.close()
        await fake.close()


def test_half_configured_twilio_names_what_is_missing(tmp_path: Path) -> None:
    env = whatsapp_env(tmp_path, "http://127.0.0.1:9")
    del env["TWILIO_WHATSAPP_FROM"]
    with pytest.raises(SettingsError, match="missing TWILIO_WHATSAPP_FROM"):
        Settings.from_mapping(env)
