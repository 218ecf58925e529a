"""Plain-text rendering of replies, shared by the console and WhatsApp: options as a numbered list."""

from __future__ import annotations

from handlers.i18n import _
from handlers.types import Reply


def render_text(reply: Reply, bold: tuple[str, str] = ("", "")) -> str:
    parts = [reply.text] if reply.text else []
    if reply.options:
        lines = [f"{number}. {option.label}" for number, option in enumerate(reply.options, start=1)]
        parts.append("\n".join(lines))
        parts.append(_("Reply with a number, e.g. {open}1{close}.").format(open=bold[0], close=bold[1]))
    return "\n\n".join(parts)


def split_message(text: str, limit: int) -> list[str]:
    """Split at paragraph, then line, then word boundaries so no piece exceeds `limit` characters."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for separator in ("\n\n", "\n", " "):
        if separator in text:
            break
    else:
        return [text[i:i + limit] for i in range(0, len(text), limit)]
    for block in text.split(separator):
        candidate = f"{current}{separator}{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        if len(block) > limit:
            pieces.extend(split_message(block, limit)[:-1])
            current = split_message(block, limit)[-1]
        else:
            current = block
    if current:
        pieces.append(current)
    return pieces
