"""Times are stored in UTC as fixed-width ISO text, so string order is time order."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


_last: tuple[datetime, str] | None = None  # a turn stamps its rows with one `now`, four times or more


def to_db(moment: datetime) -> str:
    global _last
    last = _last
    if last is not None and last[0] is moment:
        return last[1]
    if moment.tzinfo is None:
        raise ValueError("naive datetime: store only aware times")
    # isoformat, unlike strftime, pads every year to four digits and costs a fifth as much (every turn calls it)
    text = (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).isoformat(timespec="milliseconds")[:23] + "Z"
    _last = (moment, text)
    return text


def from_db(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
