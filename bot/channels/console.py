"""The console channel: chat with the bot offline in a terminal, on the real engine and SQLite store.

Options are shown as a numbered list (as WhatsApp will show them); type the number or the words.
Type `lokasi -7.78 110.36` to share a location, or a path to an image file to send a photo.
"""

from __future__ import annotations

import asyncio
import mimetypes
import sys
import time
from pathlib import Path
from typing import TextIO

from bot.channels.media import MAX_PHOTO_BYTES, PHOTO_SUFFIXES, save_photo
from bot.channels.text_menu import render_text
from handlers.i18n import _
from handlers.types import Incoming, Location, Media, Reply

CHANNEL = "console"


def parse_line(line: str, persona: str, media_dir: Path) -> Incoming:
    """A typed line as the engine's `Incoming`: a location, a photo file, or text."""
    text = line.strip()
    message_id = f"{persona}:{time.time_ns()}"
    words = text.split()
    if len(words) == 3 and words[0].casefold() in ("lokasi", "location", "loc"):
        try:
            return Incoming(CHANNEL, persona, location=Location(float(words[1]), float(words[2])),
                            message_id=message_id, display_name=persona)
        except ValueError:
            pass
    media = _photo_from_path(text, media_dir)
    if media is not None:
        return Incoming(CHANNEL, persona, media=(media,), message_id=message_id, display_name=persona)
    return Incoming(CHANNEL, persona, text=text, message_id=message_id, display_name=persona)


def _photo_from_path(text: str, media_dir: Path) -> Media | None:
    if not text or len(text) > 1024 or "\n" in text:
        return None
    path = Path(text).expanduser()
    if mimetypes.guess_type(path.name)[0] not in PHOTO_SUFFIXES:
        return None
    try:
        if not path.is_file() or path.stat().st_size > MAX_PHOTO_BYTES:
            return None
        return save_photo(path.read_bytes(), media_dir)
    except OSError:
        return None


def render(reply: Reply) -> str:
    text = render_text(reply)
    if reply.request == "location":
        text += "\n" + _("(To share a location here, type: lokasi -7.78 110.36)")
    elif reply.request == "photo":
        text += "\n" + _("(To send a photo here, type the path of an image file)")
    for path in reply.media:
        text += "\n" + _("[photo: {path}]").format(path=path)
    for path in reply.files:
        text += "\n" + _("[file: {path}]").format(path=path)
    return text


async def run_console(engine, persona: str, media_dir: Path, stdin: TextIO = sys.stdin,  # type: ignore[no-untyped-def]
                      stdout: TextIO = sys.stdout) -> None:
    """Read lines until EOF; each line goes through the engine and the replies are printed."""
    loop = asyncio.get_running_loop()
    prompt = f"[{persona}] > "
    print(_("Sinergi console chat. Type a message; Ctrl-D to leave."), file=stdout, flush=True)
    while True:
        stdout.write(prompt)
        stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            stdout.write("\n")
            break
        if not line.strip():
            continue
        replies = await engine.handle(parse_line(line, persona, media_dir))
        for reply in replies:
            print("\n" + render(reply) + "\n", file=stdout, flush=True)


class ConsoleSender:
    """Outbox delivery for console personas: print the message, as if it arrived on their phone."""

    channel = CHANNEL

    def __init__(self, stdout: TextIO = sys.stdout) -> None:
        self.stdout = stdout

    async def send(self, message):  # type: ignore[no-untyped-def]
        from bot.outbox_worker import SendResult
        from handlers.types import replies_from_json

        text = "\n\n".join(render(reply) for reply in replies_from_json(message.body))
        print(f"\n[{message.external_id}] <<< {text}\n", file=self.stdout, flush=True)
        return SendResult.sent(f"console-{message.id}")
