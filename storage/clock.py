"""Times are stored in UTC as fixed-width ISO text, so string order is time order."""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S"


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_db(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: store only aware times")
    moment = moment.astimezone(UTC)
    return f"{moment.strftime(_FORMAT)}.{moment.microsecond // 1000:03d}Z"


def from_db(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
