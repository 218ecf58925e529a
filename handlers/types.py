"""The vocabulary shared by flows and channels: what came in, and what to answer."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

MAX_TEXT = 4000           # longest inbound text we look at; the rest is cut before any flow sees it
MAX_PAYLOAD = 200

Request = Literal["location", "photo", "contact"]


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    address: str | None = None

    @property
    def valid(self) -> bool:
        return (
            math.isfinite(self.latitude) and math.isfinite(self.longitude)
            and -90 <= self.latitude <= 90 and -180 <= self.longitude <= 180
        )


@dataclass(frozen=True)
class Media:
    """A file the channel has already downloaded into the media folder (never a user-chosen path)."""

    kind: Literal["photo", "voice", "video", "document", "sticker", "other"]
    path: str | None = None
    mime_type: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Incoming:
    channel: str
    external_id: str
    text: str = ""
    payload: str | None = None           # a pressed option's stable payload
    display_name: str | None = None
    language_hint: str | None = None
    location: Location | None = None
    media: tuple[Media, ...] = ()
    message_id: str | None = None        # platform id, for redelivery
    phone: str | None = None             # a shared contact's number

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", clean_text(self.text[: MAX_TEXT * 2])[:MAX_TEXT])
        if self.payload is not None:
            object.__setattr__(self, "payload", self.payload[:MAX_PAYLOAD])


@dataclass(frozen=True)
class Option:
    label: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str
    options: tuple[Option, ...] = ()
    request: Request | None = None
    media: tuple[str, ...] = ()          # local file paths of photos to show
    files: tuple[str, ...] = ()          # local file paths of documents to send (CSV export, data export)
    edit: bool = False                   # channel may replace the message whose button was pressed

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["options"] = [[o.label, o.payload] for o in self.options]
        data["media"] = list(self.media)
        data["files"] = list(self.files)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(
            text=str(data.get("text", "")),
            options=tuple(Option(str(label), str(payload)) for label, payload in data.get("options", ())),
            request=data.get("request"),
            media=tuple(data.get("media", ())),
            files=tuple(data.get("files", ())),
        )


def replies_to_json(replies: list[Reply] | tuple[Reply, ...]) -> str:
    return json.dumps([r.to_dict() for r in replies], ensure_ascii=False)


def replies_from_json(text: str) -> list[Reply]:
    return list(_parsed_replies(text))


@functools.lru_cache(maxsize=64)
def _parsed_replies(text: str) -> tuple[Reply, ...]:
    """Kept, since replies are frozen: the outbox reads the same body for every row of a broadcast (12 µs each)."""
    return tuple(Reply.from_dict(item) for item in json.loads(text))


def shorten(text: str, limit: int = 50) -> str:
    """One line of at most `limit` characters, ending in … when cut (button labels, list entries)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


# C0 and C1 controls except newline and tab, and the zero-width characters: removed by one str.translate
_DROP = dict.fromkeys(
    [c for c in range(32) if chr(c) not in "\n\t"] + list(range(0x7F, 0xA0)) + [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
)


def clean_text(text: str) -> str:
    """Drop NUL/control and zero-width characters (keep newlines and tabs), trim the ends."""
    if not text:
        return ""
    return text.translate(_DROP).strip()
