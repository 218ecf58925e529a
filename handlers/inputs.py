"""Reading what people type or what a payload carries, within bounds."""

from __future__ import annotations

from handlers.flow import Context
from handlers.i18n import _


def parse_id(text: str) -> int | None:
    """A row id from a payload argument; bounded so a forged payload cannot be huge."""
    text = text.strip()
    if not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def bounded_text(ctx: Context, low: int, high: int) -> str | None:
    """The typed text if its length is within [low, high]; otherwise says so and asks the step again."""
    text = ctx.text.strip()
    if len(text) < low:
        ctx.retry(_("That is too short. Please write at least {count} characters.").format(count=low))
        return None
    if len(text) > high:
        ctx.retry(_("That is too long. Please keep it under {count} characters.").format(count=high))
        return None
    return text
