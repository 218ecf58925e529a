"""The router: one inbound message in, the replies out, with its effects committed in one transaction.

For each message: dedupe by platform id, load the user and their conversation, decide the locale,
turn a typed number or label into the offered option's payload, let global words, actions, commands
and intents act, else hand the message to the step named by the stored state; then run the `ask` of
wherever the user ended up, save the state, and commit. Channels render the replies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.flood import FloodGate
from handlers import menu
from handlers.flow import _STAY, BulkActionFn, BulkPress, Context, DraftIncomplete, NotAllowed, Registry, Services
from handlers.i18n import _, pick_locale, set_locale, set_timezone
from handlers.registry import build_registry
from handlers.types import Incoming, Option, Reply
from storage.clock import utc_now
from storage.conversations import Conversation
from storage.db import Store

log = logging.getLogger("sinergi.engine")

MAX_HOPS = 8  # a step's ask may move on again (goto in ask); this bounds a buggy loop
MAX_BULK = 500  # presses per handle_many call


@dataclass
class EngineConfig:
    services: Services
    officials: dict[str, frozenset[str]]  # channel -> external ids that start as admins
    flood: FloodGate = field(default_factory=FloodGate)


class Engine:
    def __init__(self, store: Store, config: EngineConfig, registry: Registry | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.config = config
        self.registry = registry or build_registry()
        self.clock = clock
        self._failures: dict[tuple[str, str], int] = {}  # failed turns in a row, per user

    async def handle(self, msg: Incoming) -> list[Reply]:
        started = time.perf_counter()
        set_timezone(self.config.services.timezone)
        verdict = self.config.flood.check((msg.channel, msg.external_id), time.monotonic())
        if verdict != "ok":
            log.warning("flood channel=%s user=%s %s", msg.channel, msg.external_id[-4:], verdict)
            if verdict == "drop":
                return []
            set_locale(pick_locale(msg.language_hint, default=self.config.services.default_locale))
            return [Reply(_("You are sending messages very fast. Please wait a few seconds, then try again."))]
        try:
            async with self.store.transaction():
                outcome = await self._handle(msg)
        except Exception:
            log.exception("failed handling message channel=%s message_id=%s", msg.channel, msg.message_id)
            return await self._recover(msg)
        self._failures.pop((msg.channel, msg.external_id), None)
        if outcome is None:
            log.info("duplicate channel=%s message_id=%s ignored", msg.channel, msg.message_id)
            return []
        replies, user_id, before, after = outcome
        log.info(
            "handled channel=%s message_id=%s user=%s state=%s->%s replies=%d ms=%.1f",
            msg.channel, msg.message_id, user_id, before, after, len(replies),
            (time.perf_counter() - started) * 1000,
        )
        return replies

    async def handle_many(self, msgs: Sequence[Incoming]) -> list[list[Reply] | None]:
        """Button presses of one channel that a flow also takes in bulk (`Registry.add_bulk_action`: poll votes),
        all in ONE transaction: dedupe by message id, the senders, the flow's writes, one COMMIT for all.

        For each press: its replies (committed when this returns; [] for a message handled before), or None: not
        for the bulk path (an unknown or not yet onboarded sender, an official named in the settings, someone
        flooding, a person's second press in the batch, a press the flow declines such as a vote on a closed
        poll). Nothing of a None press is written; the caller gives it a usual turn with `handle`, after the
        person's earlier presses. The conversation is not touched: the person stays at their step. If the batch
        fails, every press comes back None.
        """
        if len(msgs) > MAX_BULK or len({msg.channel for msg in msgs}) > 1:
            raise ValueError(f"handle_many takes at most {MAX_BULK} messages of one channel")
        results: list[list[Reply] | None] = [None] * len(msgs)
        if not msgs:
            return results
        started = time.perf_counter()
        set_timezone(self.config.services.timezone)
        channel, now, tick = msgs[0].channel, self.clock(), time.monotonic()
        officials, flood = self.config.officials.get(channel, frozenset()), self.config.flood
        default = self.config.services.default_locale
        taken: list[tuple[int, BulkPress]] = []
        try:
            async with self.store.transaction():
                ids = [msg.message_id for msg in msgs if msg.message_id]
                handled_before = await self.store.inbound.seen_among(channel, ids)
                users = await self.store.users.find_many(channel, {msg.external_id for msg in msgs})
                batches: dict[BulkActionFn, list[tuple[int, BulkPress]]] = {}
                in_batch: set[str] = set()
                senders: set[str] = set()  # one press per person in a batch; a second one waits for its turn
                for index, msg in enumerate(msgs):
                    if msg.message_id in handled_before or msg.message_id in in_batch:
                        results[index] = []  # a redelivery: handled once
                        continue
                    user = users.get(msg.external_id)
                    found = self.registry.find_bulk_action(msg.payload or "")
                    if user is None or not user.onboarded or msg.external_id in officials or found is None \
                            or msg.external_id in senders or not flood.allows((channel, msg.external_id), tick):
                        continue
                    senders.add(msg.external_id)
                    if msg.message_id:
                        in_batch.add(msg.message_id)
                    handler, args = found
                    press = BulkPress(user, args, pick_locale(user.locale, msg.language_hint, default=default))
                    batches.setdefault(handler, []).append((index, press))
                for handler, presses in batches.items():
                    await handler(self.store, self.config.services, now, [press for _index, press in presses])
                    taken += [(index, press) for index, press in presses if press.replies is not None]
                await self.store.inbound.claim_all(
                    channel, [claimed for index, _press in taken if (claimed := msgs[index].message_id)], now)
                await self.store.users.touch_all([(press.user, msgs[index].display_name) for index, press in taken],
                                                 now)
        except Exception:
            log.exception("failed handling %d messages in bulk channel=%s; each gets a usual turn", len(msgs), channel)
            return [None] * len(msgs)
        for index, press in taken:
            results[index] = press.replies
            flood.check((channel, msgs[index].external_id), tick)  # counted once: here, or in `handle` if left
        log.info("handled in bulk channel=%s messages=%d taken=%d duplicates=%d ms=%.1f", channel, len(msgs),
                 len(taken), sum(result == [] for result in results), (time.perf_counter() - started) * 1000)
        return results

    async def _handle(self, msg: Incoming) -> tuple[list[Reply], int, str | None, str | None] | None:
        now = self.clock()
        if msg.message_id and not await self.store.inbound.claim(msg.channel, msg.message_id, now):
            return None
        bootstrap = "admin" if msg.external_id in self.config.officials.get(msg.channel, frozenset()) else None
        user = await self.store.users.touch_or_create(msg.channel, msg.external_id, msg.display_name, now, bootstrap)
        set_locale(pick_locale(user.locale, msg.language_hint, default=self.config.services.default_locale))
        conversation = await self.store.conversations.load(user.id)
        before = conversation.state
        draft: dict[str, Any] = conversation.data.get("draft", {})
        offered = [Option(label, payload) for label, payload in conversation.data.get("options", [])]
        ctx = Context(self.store, self.config.services, user, msg, draft, now, before, self.registry)

        state = before
        resting = state is None or state.startswith("onboarding.") or state in (menu.MAIN, menu.OFFICIAL)
        if not resting and conversation.updated_at:
            idle = now - conversation.updated_at
            if idle > timedelta(minutes=self.config.services.conversation_timeout_minutes):
                state, offered = None, []
                draft.clear()
                ctx.state = None
                if not self._stands_alone(msg):  # a notification's button or HADIR <code> still acts
                    ctx.say(_("We had not heard from you for a while, so we are starting again from the menu."))
                    ctx.next_state = menu.MAIN

        if ctx.next_state is _STAY:
            await self._route(ctx, msg, offered)
        state = await self._settle(ctx)
        if ctx.user_deleted:
            return ctx.replies, user.id, before, None
        options = next((r.options for r in reversed(ctx.replies) if r.options), None)
        data = {
            "draft": ctx.draft if state else {},
            "options": [[o.label, o.payload] for o in options] if options is not None
            else ([[o.label, o.payload] for o in offered] if state == before else []),
        }
        await self.store.conversations.save(user.id, Conversation(state, data), now)
        return ctx.replies, user.id, before, state

    async def _recover(self, msg: Incoming) -> list[Reply]:
        """After a bug the turn is rolled back and the draft kept, so a passing fault costs nothing; a second
        failure in a row puts the user back at the menu, so a broken step never holds anyone."""
        set_locale(self.config.services.default_locale)
        key = (msg.channel, msg.external_id)
        self._failures[key] = self._failures.get(key, 0) + 1
        if self._failures[key] < 2 or len(self._failures) > 10_000:
            if len(self._failures) > 10_000:
                self._failures.clear()
            return [Reply(_("Sorry, something went wrong on our side. Please try again in a moment, "
                            "or type MENU."))]
        del self._failures[key]
        try:
            async with self.store.transaction():
                user = await self.store.users.find(msg.channel, msg.external_id)
                if user is not None:
                    set_locale(pick_locale(user.locale, msg.language_hint, default=self.config.services.default_locale))
                    await self.store.conversations.save(user.id, Conversation(None, {}), self.clock())
        except Exception:
            log.exception("could not reset the conversation after a failure")
        return [Reply(_("Sorry, something went wrong on our side. Please try again in a moment, or type MENU."))]

    async def _route(self, ctx: Context, msg: Incoming, offered: list[Option]) -> None:
        user = ctx.user
        payload = msg.payload or _match_option(msg.text, offered)
        keyword = menu.keyword_of(msg.text) if not msg.payload else None
        if keyword == "stop":
            await self._opt(ctx, out=True)
            ctx.reask = ctx.state is not None
            return
        if keyword == "start":
            if user.opted_out:
                await self._opt(ctx, out=False)
            if user.onboarded:
                ctx.finish()
            elif (ctx.state or "").startswith("onboarding."):
                ctx.reask = True
            else:
                ctx.goto("onboarding.language")
            return
        if not user.onboarded:
            if not (ctx.state or "").startswith("onboarding."):
                ctx.goto("onboarding.language")
                return
            if keyword in ("menu", "cancel"):
                ctx.reask = True
                return
            if keyword == "help":
                await menu.show_help(ctx)
                ctx.reask = True
                return
            ctx.msg = _with_payload(msg, payload)
            await self._run_handle(ctx)
            return
        if keyword in ("menu", "cancel"):
            if keyword == "cancel" and ctx.state and ctx.state != menu.MAIN:
                ctx.say(_("Cancelled. Nothing was sent."))
            ctx.finish()
            return
        if keyword == "help":
            await menu.show_help(ctx)
            ctx.reask = ctx.state is not None
            if ctx.state is None:
                ctx.goto(menu.MAIN)
            return
        command = _command_of(msg.text)
        if command and not payload:
            name, argument = command
            payload = self._command_payload(name, argument, user.is_official)
            if payload is None:
                ctx.say(_("I do not know the command /{name}.").format(name=name[:30]))
                ctx.finish()
                return
        if payload:
            found = self.registry.find_action(payload)
            if found:
                handler, args = found
                await self._guarded(ctx, handler(ctx, args))
                return
            if payload.startswith("go:") or payload in (item[1] for item in menu.MAIN_ITEMS):
                ctx.finish(_("Sorry, this part is not ready yet. We are working on it."))
                return
            if msg.payload and all(o.payload != payload for o in offered):
                ctx.say(_("That button belongs to an older message. Here is where we are now."))
                ctx.reask = True
                if ctx.state is None:
                    ctx.goto(menu.MAIN)
                return
        for pattern, handler in self.registry.intents:
            if msg.text and pattern.search(msg.text):
                await self._guarded(ctx, handler(ctx, msg.text))
                return
        if ctx.state is None or ctx.state not in self.registry.steps:
            if ctx.state is not None:
                log.warning("unknown stored state %r reset to menu", ctx.state)
            if msg.text or msg.location or msg.media:
                ctx.say(_("Sorry, I did not understand that. Here is the menu."))
            ctx.goto(menu.MAIN)
            return
        ctx.msg = _with_payload(msg, payload)
        await self._run_handle(ctx)

    def _stands_alone(self, msg: Incoming) -> bool:
        """A pressed button or a text intent means the same whatever step the user was at."""
        return msg.payload is not None or any(msg.text and p.search(msg.text) for p, _h in self.registry.intents)

    async def _run_handle(self, ctx: Context) -> None:
        assert ctx.state is not None
        step = self.registry.steps.get(ctx.state)
        if step is None:
            ctx.goto(menu.MAIN)
            return
        if step.handle is None:
            ctx.reask = True
            return
        await self._guarded(ctx, self._checked(ctx, ctx.state, step.handle))

    async def _checked(self, ctx: Context, state: str, fn: Any) -> None:
        flow = self.registry.flow_of(state)
        if flow is not None and flow.official_only:
            ctx.require_official("flow:" + flow.name)
        await fn(ctx)

    async def _guarded(self, ctx: Context, work: Any) -> None:
        try:
            await work
        except DraftIncomplete as missing:
            log.warning("conversation at %s lost its draft (%s); restarting at the menu", ctx.state, missing)
            ctx.replies.clear()
            ctx.reask = False
            ctx.draft.clear()
            ctx.finish(_("Sorry, I lost track of what we were doing. Let us start again from the menu."))
        except NotAllowed as refused:
            await self.store.audit.record(ctx.user.id, refused.action, False, ctx.now, state=ctx.state)
            log.warning("refused official action=%s user=%s", refused.action, ctx.user.id)
            ctx.replies.clear()
            ctx.reask = False
            ctx.finish(_("Sorry, only district officials can do that."))

    async def _settle(self, ctx: Context) -> str | None:
        """Run the `ask` of where the user ended up; returns the state to store."""
        state = ctx.state
        for _hop in range(MAX_HOPS):
            if ctx.next_state is not _STAY:
                target = ctx.next_state
                if target is None:
                    ctx.draft.clear()
                    target = menu.MAIN
                assert isinstance(target, str)
                state = target
            elif ctx.reask and state:
                pass
            else:
                return state
            ctx.next_state = _STAY
            ctx.reask = False
            ctx.state = state
            step = self.registry.steps.get(state)
            if step is None:
                ctx.next_state = menu.MAIN
                continue
            await self._guarded(ctx, self._checked(ctx, state, step.ask))
        log.error("flow did not settle after %d hops; back to menu", MAX_HOPS)
        return menu.MAIN

    async def _opt(self, ctx: Context, out: bool) -> None:
        await self.store.users.update(ctx.user.id, opted_out=int(out))
        if out:
            ctx.say(_("Done. We will not send you any more messages unless you write to us first. You can still "
                      "chat with us and check your reports at any time. Type MULAI to receive messages again."))
        else:
            ctx.say(_("Welcome back! You will receive announcements and updates again."))

    def _command_payload(self, name: str, argument: str, official: bool) -> str | None:
        if name in ("start", "mulai") and argument:
            return self.registry.deep_links.get(argument) or _deep_link_payload(argument, self.registry)
        if name in self.registry.commands:
            return self.registry.commands[name]
        if name in self.registry.official_commands:
            return self.registry.official_commands[name]
        return None


def _match_option(text: str, offered: list[Option]) -> str | None:
    """A typed '2', '2.' or the option's words chooses that option."""
    if not text or not offered:
        return None
    typed = text.strip().rstrip(".)").strip()
    if typed.isdecimal() and len(typed) <= 3:
        index = int(typed) - 1
        return offered[index].payload if 0 <= index < len(offered) else None
    folded = typed.casefold()
    for option in offered:
        if option.label.casefold() == folded:
            return option.payload
    return None


def _command_of(text: str) -> tuple[str, str] | None:
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _sep, argument = text[1:].partition(" ")
    name = head.split("@", 1)[0].casefold()
    if not name.replace("_", "").isalnum():
        return None
    return name[:32], argument.strip()[:64]


def _deep_link_payload(argument: str, registry: Registry) -> str | None:
    """`start=poll_12` becomes the action payload `poll:12` when a flow registered `poll`."""
    prefix, _sep, rest = argument.partition("_")
    if prefix and rest and prefix in registry.actions:
        return f"{prefix}:{rest}"
    return None


def _with_payload(msg: Incoming, payload: str | None) -> Incoming:
    return msg if payload == msg.payload else replace(msg, payload=payload)
