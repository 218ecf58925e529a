"""Messages the bot starts (notifications, reminders, broadcasts) go to the outbox, never straight out.

Call `notify` inside the transaction of the act that causes the message, so both commit together.
Each recipient gets the text in their own language: `compose` runs once per locale in use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from handlers.i18n import DEFAULT, SUPPORTED, use_locale
from handlers.types import Reply, replies_to_json
from storage.audience import Audience, Selection
from storage.db import Store
from storage.outbox import PRIORITY_BULK, PRIORITY_NOTIFICATION, NewMessage
from storage.users import User


class _Bodies:
    """The message in each language, composed the first time someone with that language needs it."""

    def __init__(self, compose: Callable[[], list[Reply]], template_vars: Callable[[], dict[str, Any]] | None,
                 default_locale: str) -> None:
        self.compose = compose
        self.template_vars = template_vars
        self.default_locale = default_locale
        self.by_locale: dict[str, tuple[str, str | None]] = {}

    def __call__(self, locale: str | None) -> tuple[str, str | None]:
        locale = locale or self.default_locale
        if locale not in self.by_locale:
            with use_locale(locale):
                variables = json.dumps(self.template_vars(), ensure_ascii=False) if self.template_vars else None
                self.by_locale[locale] = (replies_to_json(self.compose()), variables)
        return self.by_locale[locale]


async def notify(
    store: Store,
    recipients: Iterable[User],
    kind: str,
    compose: Callable[[], list[Reply]],
    now: datetime,
    *,
    priority: int = PRIORITY_NOTIFICATION,
    group_id: str | None = None,
    template_vars: Callable[[], dict[str, Any]] | None = None,
    not_before: datetime | None = None,
    default_locale: str = "id",
) -> int:
    """Queue `compose()` for each reachable, not-opted-out recipient; returns how many were queued.

    `kind` names the message (report_status, reminder, broadcast, poll, …); on WhatsApp outside the
    24-hour window it selects the approved template, filled from `template_vars()`.
    """
    bodies = _Bodies(compose, template_vars, default_locale)
    messages = []
    seen: set[int] = set()
    for user in recipients:
        if user.id in seen or user.opted_out or user.unreachable:
            continue
        seen.add(user.id)
        body, variables = bodies(user.locale)
        messages.append(NewMessage(user.id, user.channel, user.external_id, kind, body, priority, variables,
                                   group_id, not_before))
    if messages:
        await store.outbox.enqueue(messages, now)
    return len(messages)


async def notify_audience(
    store: Store,
    audience: Audience | Selection,
    kind: str,
    compose: Callable[[], list[Reply]],
    now: datetime,
    *,
    group_id: str,
    template_vars: Callable[[], dict[str, Any]] | None = None,
    default_locale: str = "id",
) -> int:
    """Queue a bulk message for everyone an audience picks who can be reached; returns how many were queued.

    SQLite writes the rows in one statement (in the caller's transaction if open): a broadcast is queued
    whole or not at all, and its recipients never pass through Python. The message is composed once per
    language; who gets which is `_Bodies`' rule: no locale means `default_locale`, and `use_locale` puts an
    unknown one in the default UI language.
    """
    bodies = _Bodies(compose, template_vars, default_locale)
    return await store.outbox.enqueue_audience(
        audience, kind, {locale: bodies(locale) for locale in SUPPORTED}, now,
        no_locale=bodies(None), other_locale=bodies(DEFAULT), group_id=group_id, priority=PRIORITY_BULK,
    )
