"""What arrived on Telegram, read into the engine's vocabulary (`Incoming`, `Location`, `Media`).

Some messages never reach the engine; the channel answers them itself with a short `notice`: voice notes,
stickers, videos and files (we cannot read them), edits (we read only new messages), photos that are too
large, and anything addressed to the bot in a group (conversations are private).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from telegram import Bot, Message, MessageEntity, PhotoSize
from telegram.constants import ChatType, MessageEntityType

from bot.channels.media import MAX_PHOTO_BYTES, PHOTO_SUFFIXES, save_photo
from handlers.i18n import _
from handlers.types import Location, Media

CHANNEL = "telegram"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
MAX_DISPLAY_NAME = 128

Notice = Literal["edited", "unsupported", "photo_too_large", "group"]


def notice_text(notice: Notice, bot_username: str) -> str:
    """The channel's own short answer, in the current locale."""
    if notice == "edited":
        return _("I only read new messages, so I did not see your change. Please send it again as a new message.")
    if notice == "unsupported":
        return _("Sorry, I cannot read voice notes, stickers, videos or files. Please type your message; "
                 "I can also take photos and locations.")
    if notice == "photo_too_large":
        return _("That photo is too large (at most {size} MB). Please send a smaller one.").format(
            size=MAX_PHOTO_BYTES // (1024 * 1024))
    return _("I only chat in private, so that your details stay private. Please write to me directly: "
             "@{username}").format(username=bot_username)


def is_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


def addressed_to_bot(message: Message, bot_id: int, bot_username: str) -> bool:
    """In a group: a reply to the bot, an @mention of it, or a command ending in @its_name."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    mention = "@" + bot_username.casefold()
    entities: dict[MessageEntity, str] = {**message.parse_entities(), **message.parse_caption_entities()}
    for entity, text in entities.items():
        if entity.type == MessageEntityType.MENTION and text.casefold() == mention:
            return True
        if entity.type == MessageEntityType.TEXT_MENTION and entity.user is not None and entity.user.id == bot_id:
            return True
        if entity.type == MessageEntityType.BOT_COMMAND and text.casefold().endswith(mention):
            return True
    return False


def unsupported(message: Message) -> bool:
    """Voice, audio, video, stickers, animations and files that are not photos: we cannot read them."""
    if message.document is not None:
        return message.document.mime_type not in PHOTO_SUFFIXES
    return any(part is not None for part in (
        message.voice, message.audio, message.video, message.video_note, message.sticker, message.animation,
    ))


def location_of(message: Message) -> Location | None:
    if message.venue is not None:
        venue = message.venue
        address = ", ".join(part for part in (venue.title, venue.address) if part)[:200]
        return Location(venue.location.latitude, venue.location.longitude, address or None)
    if message.location is not None:
        return Location(message.location.latitude, message.location.longitude)
    return None


def own_phone(message: Message) -> str | None:
    """A shared contact's number, only when it is the sender's own (we do not collect other people's)."""
    contact = message.contact
    if contact is None or message.from_user is None or contact.user_id != message.from_user.id:
        return None
    digits = contact.phone_number.strip().removeprefix("+")
    return "+" + digits if digits.isascii() and digits.isdigit() and 6 <= len(digits) <= 15 else None


async def fetch_photo(message: Message, bot: Bot, media_dir: Path) -> Media | Notice | None:
    """Download a photo (or an image sent as a file) through getFile into the media folder.

    Returns the stored `Media`, the notice to give when it is too large or not really an image, or None
    when the message carries no photo.
    """
    if message.photo:
        size: PhotoSize | None = _largest_allowed(message.photo)
        if size is None:
            return "photo_too_large"
        file_id, announced = size.file_id, size.file_size
    elif message.document is not None and message.document.mime_type in PHOTO_SUFFIXES:
        file_id, announced = message.document.file_id, message.document.file_size
    else:
        return None
    if announced is not None and announced > MAX_PHOTO_BYTES:
        return "photo_too_large"
    telegram_file = await bot.get_file(file_id)
    if telegram_file.file_size is not None and telegram_file.file_size > MAX_PHOTO_BYTES:
        return "photo_too_large"
    data = bytes(await telegram_file.download_as_bytearray())
    if len(data) > MAX_PHOTO_BYTES:
        return "photo_too_large"
    media = await asyncio.to_thread(save_photo, data, media_dir)
    return media if media is not None else "unsupported"


def _largest_allowed(sizes: tuple[PhotoSize, ...]) -> PhotoSize | None:
    """Telegram offers each photo in several sizes; take the largest we accept."""
    allowed = [size for size in sizes if size.file_size is None or size.file_size <= MAX_PHOTO_BYTES]
    return max(allowed, key=lambda size: size.width * size.height, default=None)
