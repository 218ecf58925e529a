"""The real Sinergi process wired to the fake Bot API: settings, App, TelegramChannel, a probe flow, and
people who onboard and send a whole report by tapping, as most users will.

The probe flow asks what the report flow asks (a location with a "skip" option, then a photo) and says
back what arrived, so the channel's handling of each kind of message is visible in the fake's calls.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.app import App, build_app
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_request import Transport
from bot.config import Settings
from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_
from handlers.types import Option, Reply
from storage.reports import Report
from tests.fake_telegram import FakeTelegram, TelegramUser
from tests.support import FakeClock

# Starts like a JPEG: the channel types a photo by its bytes, not by its name.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
MAIN_MENU = ["Lapor masalah", "Laporan saya", "Konsultasi publik", "Program & info", "Jajak pendapat",
             "Bantuan", "Pengaturan"]


def telegram_settings(tmp_path: Path, fake: FakeTelegram, **env: str) -> Settings:
    return Settings.from_mapping({
        "DATABASE_PATH": str(tmp_path / "data" / "sinergi.sqlite3"),
        "MEDIA_DIR": str(tmp_path / "media"),
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_FILE_BASE_URL": fake.file_base_url,
        **env,
    })


@dataclass
class Stack:
    app: App
    channel: TelegramChannel
    fake: FakeTelegram

    def user(self, user_id: int = 7001, **kwargs: object) -> TelegramUser:
        return TelegramUser(self.fake, self.channel.processor, user_id, **kwargs)  # type: ignore[arg-type]


@asynccontextmanager
async def running_bot(settings: Settings, fake: FakeTelegram, clock: FakeClock,
                      transport: Transport = "aiohttp") -> AsyncIterator[Stack]:
    """Build the App and the channel as `sinergi run` does, start it, and stop it cleanly afterwards."""
    app = await build_app(settings, clock=clock)
    add_probe_flow(app.engine.registry)
    channel = TelegramChannel(app, transport=transport, poll_timeout=1)
    try:
        await channel.start()
        yield Stack(app, channel, fake)
    finally:
        await channel.stop()
        await app.close()


async def _ask_location(ctx: Context) -> None:
    ctx.say("Where is the problem? Share the location.", [Option("Skip", "probe:skip")], request="location")


async def _handle_location(ctx: Context) -> None:
    if ctx.msg.location is not None:
        ctx.draft["location"] = [ctx.msg.location.latitude, ctx.msg.location.longitude]
        ctx.say(f"Location {ctx.msg.location.latitude:.4f},{ctx.msg.location.longitude:.4f}")
    elif ctx.choice != "probe:skip":
        ctx.retry("Please share the location or choose Skip.")
        return
    ctx.goto("probe.photo")


async def _ask_photo(ctx: Context) -> None:
    ctx.say("Now send a photo.", request="photo")


async def _handle_photo(ctx: Context) -> None:
    if not ctx.msg.media or ctx.msg.media[0].kind != "photo":
        ctx.retry("Please send a photo.")
        return
    photo = ctx.msg.media[0]
    ctx.finish(f"Photo {photo.mime_type} {photo.size} bytes, caption {ctx.text!r}, at {photo.path}")


async def _long_options(ctx: Context, _args: str) -> None:
    payload = "probe:picked:" + "x" * 120
    ctx.say("Pick <one> & see", [Option("Long one", payload), Option("Short one", "probe:picked:short")])


async def _picked(ctx: Context, args: str) -> None:
    ctx.finish(f"picked {args[:20]} ({len(args)} chars)")


async def _long_text(ctx: Context, _args: str) -> None:
    paragraphs = [f"Paragraph {n} <b>{'kata ' * 150}</b>" for n in range(8)]
    ctx.finish("\n\n".join(paragraphs))


async def _ask_phone(ctx: Context) -> None:
    ctx.say("May we have your phone number?", request="contact")


async def _handle_phone(ctx: Context) -> None:
    ctx.finish(f"phone {ctx.msg.phone}")


async def _count(ctx: Context, args: str) -> None:
    """A counter that replaces its own message on each press (a `Reply` with `edit=True`)."""
    number = int(args or 0)
    ctx.replies.append(Reply(f"count {number}", (Option("+1", f"probe:count:{number + 1}"),), edit=True))


def add_probe_flow(registry: Registry) -> None:
    registry.add_flow(Flow("probe", {"probe.location": Step(_ask_location, _handle_location),
                                     "probe.photo": Step(_ask_photo, _handle_photo)}, start="probe.location"))
    registry.add_command("probe", "go:probe")
    registry.add_flow(Flow("phone", {"phone.ask": Step(_ask_phone, _handle_phone)}, start="phone.ask"))
    registry.add_command("phone", "go:phone")
    registry.add_action("probe:long", _long_options)
    registry.add_command("long", "probe:long")
    registry.add_action("probe:picked", _picked)
    registry.add_command("essay", "probe:essay")
    registry.add_action("probe:count", _count)
    registry.add_command("count", "probe:count")
    registry.add_command("petugas", "go:menu_official", official=True, description=N_("Officials' menu"))
    registry.add_action("probe:essay", _long_text)


async def onboarded(bot: Stack, user_id: int = 7001, language: str = "Bahasa Indonesia",
                    **kwargs: object) -> TelegramUser:
    """A user who has finished onboarding by tapping buttons, as most will."""
    person = bot.user(user_id, **kwargs)
    await person.send("halo")
    await person.click(language)
    await person.click("Saya setuju" if language == "Bahasa Indonesia" else "I agree")
    await person.send("jogotirto")
    assert person.labels[:2] in (MAIN_MENU[:2], ["Report a problem", "My reports"])
    return person


async def press_on_screen(bot: Stack, person: TelegramUser, label: str) -> None:
    """Press `label` on the bot's latest message, and check Telegram heard the press answered and the
    pressed message lost its keyboard (so it cannot be pressed twice)."""
    shown = person.received[-1]
    assert label in [button["text"] for button in shown.buttons], (label, shown.buttons)
    answered = len(bot.fake.of("answerCallbackQuery"))
    await person.click(label)
    assert len(bot.fake.of("answerCallbackQuery")) == answered + 1
    edited = [c.params["message_id"] for c in person.received if c.method == "editMessageReplyMarkup"]
    assert edited == [shown.result["message_id"]]
    assert "reply_markup" not in bot.fake.message(person.id, shown.result["message_id"])


async def send_full_report(bot: Stack, person: TelegramUser, latitude: float = -7.7956,
                           longitude: float = 110.4512) -> Report:
    """An onboarded user sends "Lapor masalah" end to end: category, description, one photo, a location
    pin, privacy, confirm. Checks each screen the fake received; returns the stored report."""
    await press_on_screen(bot, person, "Lapor masalah")
    assert "Masalahnya tentang apa?" in person.text and "Jalan & jembatan" in person.labels
    await press_on_screen(bot, person, "Jalan & jembatan")
    assert "ceritakan masalahnya" in person.text and person.received[-1].markup is None
    await person.send("Jalan berlubang <besar> di depan SD Negeri 2, sudah dua minggu")
    assert "sampai 3 foto" in person.text and person.labels == ["Lewati"]

    downloads = len(bot.fake.of("getFile"))
    await person.send_photo(JPEG)
    assert len(bot.fake.of("getFile")) == downloads + 1
    assert "Foto 1 dari 3 sudah kami terima" in person.text and person.labels == ["Selesai"]
    await press_on_screen(bot, person, "Selesai")
    ask_where = person.received[-1]
    assert "Di mana tepatnya masalahnya?" in ask_where.text
    assert ask_where.buttons == [{"text": "Kirim lokasi", "request_location": True}, {"text": "Desa lain"}]
    assert ask_where.markup["one_time_keyboard"] is True and "inline_keyboard" not in ask_where.markup

    await person.share_location(latitude, longitude)
    assert "Siapa yang boleh melihat nama Bapak/Ibu?" in person.text
    assert person.labels == ["Biasa", "Rahasia", "Anonim"]
    await press_on_screen(bot, person, "Biasa")
    summary = person.received[-1]
    assert "Mohon periksa laporan" in summary.text and "Foto: 1" in summary.text
    assert "Uraian: Jalan berlubang <besar>" in summary.text and "&lt;besar&gt;" in summary.params["text"]
    assert f"mlat={latitude:.6f}" in summary.text
    await press_on_screen(bot, person, "Kirim laporan")
    assert "Laporan Bapak/Ibu sudah kami terima" in person.text
    match = re.search(r"Nomor laporan: (LPR-\d{4}-\d{6})", person.text)
    assert match is not None, person.text
    assert person.labels == MAIN_MENU

    report = await bot.app.store.reports.by_number(match.group(1))
    user = await bot.app.store.users.find("telegram", str(person.id))
    assert report is not None and user is not None
    assert (report.reporter_user_id, report.category_code, report.privacy) == (user.id, "jalan", "biasa")
    assert (report.latitude, report.longitude, report.desa_code) == (latitude, longitude, "34.04.08.2004")
    [photo] = await bot.app.store.reports.photos(report.id)
    assert Path(photo).parent == bot.app.settings.media_dir
    assert Path(photo).read_bytes() == JPEG
    return report
