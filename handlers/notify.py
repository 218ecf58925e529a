"""Messages the bot starts (notifications, reminders, broadcasts) go to the outbox, never straight out.

Call `notify` inside the transaction of the act that causes the message, so both commit together.
Each recipient gets the text in their own language: `compose` runs once per locale in use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from handlers.i18n import use_locale
from handlers.types import Reply, replies_to_json
from storage.db import Store
from storage.outbox import PRIORITY_NOTIFICATION, NewMessage
from storage.users import User


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
    bodies: dict[str, tuple[str, str | None]] = {}
    messages = []
    seen: set[int] = set()
    for user in recipients:
        if user.id in seen or user.opted_out or user.unreachable:
            continue
        seen.add(user.id)
        locale = user.locale or default_locale
        if locale not in bodies:
            with use_locale(locale):
                variables = json.dumps(template_vars(), ensure_ascii=False) if template_vars else None
                bodies[locale] = (replies_to_json(compose()), variables)
        body, variables = bodies[locale]
        messages.append(NewMessage(user.id, user.channel, user.external_id, kind, body, priority, variables,
                                   group_id, not_before))
    if messages:
        await store.outbox.enqueue(messages, now)
    return len(messages)
