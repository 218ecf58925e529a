"""Received photos: typed by their bytes (never by a name the sender chose), sized, and stored under a
generated name in the media folder. Shared by every channel that takes photos."""

from __future__ import annotations

import uuid
from pathlib import Path

from handlers.types import Media

MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def sniff_image(data: bytes) -> str | None:
    """The image type the bytes really are (JPEG, PNG or WebP), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def save_photo(data: bytes, media_dir: Path) -> Media | None:
    """Store an accepted photo and describe it; None when it is too large or not an image we take."""
    mime_type = sniff_image(data)
    if mime_type is None or not data or len(data) > MAX_PHOTO_BYTES:
        return None
    media_dir.mkdir(parents=True, exist_ok=True)
    path = media_dir / f"{uuid.uuid4().hex}{PHOTO_SUFFIXES[mime_type]}"
    path.write_bytes(data)
    return Media("photo", str(path), mime_type, len(data))
