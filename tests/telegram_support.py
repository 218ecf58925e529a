"""The real Sinergi process wired to the fake Bot API: settings, App, TelegramChannel, a probe flow.

The probe flow asks what the report flow will ask (a location with a "skip" option, then a photo) and
says back what arrived, so the channel's handling of each kind of message is visible in the fake's calls.
"""

from __future__ import annotations

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
from tests.fake_telegram import FakeTelegram, TelegramUser
from tests.support import FakeClock

# Starts like a JPEG: the channel types a photo by its bytes, not by its name.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"


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
