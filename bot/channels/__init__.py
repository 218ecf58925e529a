"""Channel adapters: turn platform updates into `Incoming`, render `Reply` lists back."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App
    from bot.channels.base import Channel


def build_channels(app: App) -> list[Channel]:
    """Every network channel whose settings are present."""
    channels: list[Channel] = []
    if app.settings.whatsapp_enabled:
        from bot.channels.whatsapp import WhatsAppChannel

        channels.append(WhatsAppChannel(app))
    if app.settings.telegram_enabled:
        from bot.channels.telegram import TelegramChannel

        channels.append(TelegramChannel(app))
    return channels
