"""What a flow is made of: named steps (ask, handle), a context to talk through, and the registry.

A flow is a table of steps keyed by persisted names such as ``"report.describe"``. Each step has an
``ask`` (what to send when the user arrives at it) and a ``handle`` (what to do with their answer).
``handle`` either moves on with ``ctx.goto(name)``, asks again with ``ctx.retry(text)``, or returns to
the main menu with ``ctx.finish(text)``. The engine runs the ``ask`` of wherever the user ends up.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from handlers.i18n import _
from handlers.types import Incoming, Option, Reply, Request
from storage.db import Store
from storage.reminders import Reminder
from storage.users import User

StepFn = Callable[["Context"], Awaitable[None]]


class NotAllowed(Exception):
    """A citizen (or an official outside their area) tried an official action."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


class DraftIncomplete(KeyError):
    """A step needed something earlier steps should have stored (a stale or hand-edited conversation)."""


class Draft(dict[str, Any]):
    """The flow's draft; a missing key means the conversation lost its thread, and the engine restarts it
    gently at the menu instead of failing, so steps can simply read `ctx.draft["key"]`."""

    def __missing__(self, key: str) -> Any:
        raise DraftIncomplete(key)


@dataclass(frozen=True)
class Step:
    ask: StepFn
    handle: StepFn | None = None


@dataclass(frozen=True)
class Flow:
    name: str
    steps: dict[str, Step]
    start: str
    official_only: bool = False

    def __post_init__(self) -> None:
        for state in self.steps:
            if not state.startswith(self.name + "."):
                raise ValueError(f"step {state!r} must be named '{self.name}.<step>'")
        if self.start not in self.steps:
            raise ValueError(f"flow {self.name!r} starts at unknown step {self.start!r}")


@dataclass(frozen=True)
class Services:
    """What flows may know about the process, without knowing the process."""

    timezone: ZoneInfo = ZoneInfo("Asia/Jakarta")
    default_locale: str = "id"
    media_dir: Path = Path("data/media")
    conversation_timeout_minutes: int = 30
    draft_retention_days: int = 30


_STAY = object()


class Context:
    """One turn of one user's conversation: read the message, say things, choose where to go."""

    def __init__(self, store: Store, services: Services, user: User, msg: Incoming, draft: dict[str, Any],
                 now: datetime, state: str | None, registry: Registry | None = None) -> None:
        self.store = store
        self.registry = registry
        self.services = services
        self.user = user
        self.msg = msg
        self.draft = draft if isinstance(draft, Draft) else Draft(draft)
        self.now = now
        self.state = state
        self.replies: list[Reply] = []
        self.next_state: object = _STAY
        self.reask = False
        self.user_deleted = False  # set after "Hapus data saya": the engine then stores nothing more

    @property
    def choice(self) -> str | None:
        """The payload of the option the user chose (a pressed button, a typed number or label)."""
        return self.msg.payload

    @property
    def text(self) -> str:
        return self.msg.text

    def say(self, text: str, options: list[Option] | tuple[Option, ...] = (), request: Request | None = None,
            media: tuple[str, ...] = (), files: tuple[str, ...] = ()) -> None:
        self.replies.append(Reply(text=text, options=tuple(options), request=request, media=media, files=files))

    def goto(self, state: str) -> None:
        self.next_state = state

    def retry(self, text: str) -> None:
        """Say what was wrong, then ask the same step again."""
        self.say(text)
        self.reask = True

    def finish(self, text: str | None = None) -> None:
        """Leave the flow, forget its draft, and show the main menu."""
        if text:
            self.say(text)
        self.next_state = None

    def require_official(self, action: str, kecamatan_code: str | None = None) -> None:
        """Refuse unless an official; an official limited to one kecamatan acts only there.

        Call it at the top of every official step and action, server side, whatever the menu showed.
        The engine turns the refusal into a polite answer and an audit row.
        """
        if not self.user.is_official:
            raise NotAllowed(action)
        limit = self.user.official_kecamatan_code
        if limit and kecamatan_code and not kecamatan_code.startswith(limit) and not self.user.is_admin:
            raise NotAllowed(action)

    def require_admin(self, action: str) -> None:
        if not self.user.is_admin:
            raise NotAllowed(action)

    async def audit(self, action: str, **detail: Any) -> None:
        """Record an official action that was allowed (who, what, when, which rows)."""
        await self.store.audit.record(self.user.id, action, True, self.now, **detail)


ActionFn = Callable[[Context, str], Awaitable[None]]


ReminderFn = Callable[[Store, Services, Reminder, datetime], Awaitable[bool]]


@dataclass
class BulkPress:
    """One button press in a batch the engine hands to a flow's bulk action (`Registry.add_bulk_action`).

    `args` are the groups of the action's pattern matched on the payload; the action sets `replies` for a press
    it takes, or leaves None and the engine hands that press back for a usual turn.
    """

    user: User
    args: tuple[str, ...]
    locale: str
    replies: list[Reply] | None = None


# Many presses at once, inside the engine's transaction; no conversation state (it may only answer), and no
# role is checked on this path: bulk actions are citizens' own acts, never an official's.
BulkActionFn = Callable[[Store, Services, datetime, list[BulkPress]], Awaitable[None]]


@dataclass(frozen=True)
class ReminderKind:
    """What a due reminder row of one kind does, and how late it is still worth doing.

    `fire` queues its messages with `notify` (inside the scheduler's transaction) and returns False when
    there was nothing left to send; a row found more than `grace` after its due time is skipped unsent.
    """

    fire: ReminderFn
    grace: timedelta


@dataclass(frozen=True)
class MenuItem:
    label: str            # an N_() msgid, translated when shown
    payload: str
    order: int


@dataclass
class Registry:
    """Every flow, menu entry, global action, text intent and command, declared by the flow modules."""

    flows: dict[str, Flow] = field(default_factory=dict)
    steps: dict[str, Step] = field(default_factory=dict)
    menu: list[MenuItem] = field(default_factory=list)
    official_menu: list[MenuItem] = field(default_factory=list)
    actions: dict[str, ActionFn] = field(default_factory=dict)
    intents: list[tuple[re.Pattern[str], ActionFn]] = field(default_factory=list)
    commands: dict[str, str] = field(default_factory=dict)
    official_commands: dict[str, str] = field(default_factory=dict)
    deep_links: dict[str, str] = field(default_factory=dict)
    command_help: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, N_ msgid, official)
    reminder_kinds: dict[str, ReminderKind] = field(default_factory=dict)
    bulk_actions: list[tuple[re.Pattern[str], BulkActionFn]] = field(default_factory=list)

    def add_flow(self, flow: Flow) -> None:
        if flow.name in self.flows:
            raise ValueError(f"flow {flow.name!r} registered twice")
        self.flows[flow.name] = flow
        self.steps.update(flow.steps)
        self.actions.setdefault("go:" + flow.name, _start(flow))

    def add_menu(self, label: str, payload: str, order: int, official: bool = False) -> None:
        (self.official_menu if official else self.menu).append(MenuItem(label, payload, order))
        (self.official_menu if official else self.menu).sort(key=lambda item: item.order)

    def add_action(self, prefix: str, handler: ActionFn) -> None:
        """Payloads `prefix` or `prefix:args` run `handler(ctx, args)` from any step."""
        if prefix in self.actions:
            raise ValueError(f"action {prefix!r} registered twice")
        self.actions[prefix] = handler

    def add_intent(self, pattern: str, handler: ActionFn) -> None:
        """Free text matching `pattern` anywhere runs `handler(ctx, text)`; use for codes like LPR-2026-000123."""
        self.intents.append((re.compile(pattern, re.IGNORECASE), handler))

    def add_command(self, name: str, payload: str, official: bool = False, description: str | None = None) -> None:
        """`/name` runs the action `payload`; a description (an N_ msgid) lists it in the channel's menu."""
        (self.official_commands if official else self.commands)[name] = payload
        if description:
            self.describe_command(name, description, official)

    def describe_command(self, name: str, description: str, official: bool = False) -> None:
        self.command_help.append((name, description, official))

    def add_reminder_kind(self, kind: str, fire: ReminderFn, grace: timedelta) -> None:
        """Reminder rows of `kind` run `fire` when due (the scheduler in bot/ is the clock)."""
        if kind in self.reminder_kinds:
            raise ValueError(f"reminder kind {kind!r} registered twice")
        self.reminder_kinds[kind] = ReminderKind(fire, grace)

    def add_bulk_action(self, pattern: str, handler: BulkActionFn) -> None:
        """Payloads matching `pattern` whole may also be handled many at once by `handler` (`Engine.handle_many`),
        e.g. poll votes in a burst. The usual action for the payload must still handle each alone."""
        self.bulk_actions.append((re.compile(pattern), handler))

    def find_bulk_action(self, payload: str) -> tuple[BulkActionFn, tuple[str, ...]] | None:
        for pattern, handler in self.bulk_actions:
            match = pattern.fullmatch(payload)
            if match:
                return handler, match.groups()
        return None

    def find_action(self, payload: str) -> tuple[ActionFn, str] | None:
        if payload in self.actions:
            return self.actions[payload], ""
        prefix, _sep, rest = payload.rpartition(":")
        while prefix:
            if prefix in self.actions:
                return self.actions[prefix], payload[len(prefix) + 1:]
            prefix, _sep, _ = prefix.rpartition(":")
        return None

    def flow_of(self, state: str | None) -> Flow | None:
        if not state:
            return None
        return self.flows.get(state.split(".", 1)[0])


def _start(flow: Flow) -> ActionFn:
    async def start(ctx: Context, _args: str) -> None:
        if flow.official_only:
            ctx.require_official("flow:" + flow.name)
        ctx.draft.clear()
        ctx.goto(flow.start)

    return start


def not_ready(ctx: Context) -> None:
    ctx.finish(_("Sorry, this part is not ready yet. We are working on it."))
