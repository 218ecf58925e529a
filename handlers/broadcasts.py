"""Pengumuman: an official writes an announcement, chooses who gets it, sees it as citizens will, and sends
it now or at a set time; then watches its progress and may cancel what has not gone out.

```mermaid
stateDiagram-v2
    [*] --> broadcast.text_id: Kirim pengumuman (officials only)
    broadcast.text_id --> broadcast.text_en
    broadcast.text_en --> broadcast.photo: English text / Lewati
    broadcast.photo --> broadcast.audience: photo / Tanpa foto
    broadcast.audience --> broadcast.review: audience chosen (audience_* steps)
    broadcast.review --> broadcast.progress: Kirim sekarang
    broadcast.review --> broadcast.schedule: Jadwalkan
    broadcast.review --> broadcast.audience: Ganti penerima
    broadcast.schedule --> menu.official: time given
    broadcast.progress --> broadcast.progress: Perbarui (edits the message)
```

Progress, cancel and the list are actions (`broadcast:progress:<id>`, `broadcast:cancel:<id>`,
`broadcast:list`), so their buttons work from any step. The scheduler calls `due_broadcasts(store, now)`
to start scheduled ones. Sending writes one outbox row per recipient (group `broadcast:<id>`, bulk
priority) in the same transaction as the broadcast's start; the outbox workers pace the delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from handlers import menu
from handlers.audience_picker import AudiencePicker, describe, drafted_audience
from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_, _, current_locale, format_datetime, format_duration, format_number, use_locale
from handlers.notify import notify, notify_audience
from handlers.types import Option, Reply, shorten
from handlers.when import parse_when
from storage.audience import Audience
from storage.broadcasts import Broadcast
from storage.db import Store

MAX_TEXT = 2000
MAX_SCHEDULE_AHEAD = timedelta(days=90)
KIND = "broadcast"

START = "broadcast.text_id"
PICKER = AudiencePicker("broadcast", done="broadcast.review")


def compose(text_id: str, text_en: str | None, photo: str | None, district: str) -> Callable[[], list[Reply]]:
    """What a citizen receives, in their language: the same function builds the preview and the outbox rows."""

    def build() -> list[Reply]:
        text = text_en if current_locale() == "en" and text_en else text_id
        return [Reply(
            _("Announcement from {district}:\n\n{text}\n\nTo stop receiving announcements, reply BERHENTI.").format(
                district=district, text=text),
            media=(photo,) if photo else (),
        )]

    return build


def template_vars(text_id: str, text_en: str | None, district: str) -> Callable[[], dict[str, Any]]:
    """WhatsApp template variables outside the 24-hour window: {{1}} the district, {{2}} the text."""
    return lambda: {"1": district, "2": text_en if current_locale() == "en" and text_en else text_id}


def _text_problem(text: str) -> str | None:
    if not text:
        return _("Please write the announcement as text.")
    if len(text) > MAX_TEXT:
        return _("That is {length} characters; the limit is {limit}. Please shorten it.").format(
            length=format_number(len(text)), limit=format_number(MAX_TEXT))
    return None


async def ask_text_id(ctx: Context) -> None:
    ctx.say(_("New announcement. Write the text in Bahasa Indonesia (at most {limit} characters).").format(
        limit=format_number(MAX_TEXT)))


async def handle_text_id(ctx: Context) -> None:
    problem = _text_problem(ctx.text)
    if problem:
        ctx.retry(problem)
        return
    ctx.draft["text_id"] = ctx.text
    ctx.goto("broadcast.text_en")


async def ask_text_en(ctx: Context) -> None:
    ctx.say(_("Add an English version for people who chose English? Write it, or choose Skip."),
            [Option(_("Skip"), "bc:skip")])


async def handle_text_en(ctx: Context) -> None:
    if ctx.choice == "bc:skip":
        ctx.draft["text_en"] = None
    else:
        problem = _text_problem(ctx.text)
        if problem:
            ctx.retry(problem)
            return
        ctx.draft["text_en"] = ctx.text
    ctx.goto("broadcast.photo")


async def ask_photo(ctx: Context) -> None:
    ctx.say(_("Add a photo? Send it now, or choose No photo."), [Option(_("No photo"), "bc:nophoto")],
            request="photo")


async def handle_photo(ctx: Context) -> None:
    photo = next((m.path for m in ctx.msg.media if m.kind == "photo" and m.path), None)
    if photo:
        ctx.draft["photo"] = photo
    elif ctx.choice == "bc:nophoto":
        ctx.draft["photo"] = None
    else:
        ctx.retry(_("Please send a photo, or choose No photo."))
        return
    ctx.goto(PICKER.start)


def _complete(ctx: Context) -> Audience | None:
    """The audience when the draft holds all a broadcast needs; otherwise back to the first step (a
    conversation saved by an older version, or a forged state)."""
    audience = drafted_audience(ctx)
    if audience is None or not isinstance(ctx.draft.get("text_id"), str):
        ctx.goto(START)
        return None
    return audience


async def ask_review(ctx: Context) -> None:
    audience = _complete(ctx)
    if audience is None:
        return
    count = await ctx.store.audiences.count(audience, ctx.now)
    ctx.say(_("Recipients: {reachable} ({audience}).\n"
              "Not sent to {opted_out} people who said BERHENTI and {unreachable} we cannot reach.\n"
              "Of the recipients, {outside} use WhatsApp and have not written to us in the last 24 hours: "
              "they get it only through an approved WhatsApp template.").format(
        reachable=format_number(count.reachable), audience=await describe(ctx.store, audience),
        opted_out=format_number(count.opted_out), unreachable=format_number(count.unreachable),
        outside=format_number(count.outside_window)))
    build = compose(ctx.draft["text_id"], ctx.draft.get("text_en"), ctx.draft.get("photo"),
                    await ctx.store.areas.district_name())
    for locale in ("id", "en") if ctx.draft.get("text_en") else ("id",):
        ctx.say(_("This is exactly what citizens who chose {language} will see:").format(
            language="Bahasa Indonesia" if locale == "id" else "English"))
        with use_locale(locale):
            ctx.replies.extend(build())
    ctx.say(_("Send it?"), [
        Option(_("Send now"), "bc:now"), Option(_("Schedule for later"), "bc:schedule"),
        Option(_("Change recipients"), "bc:audience"), Option(_("Cancel"), "bc:cancel"),
    ])


async def handle_review(ctx: Context) -> None:
    if ctx.choice == "bc:now":
        broadcast = await _create(ctx, "broadcast.send", scheduled_at=None)
        if broadcast is None:
            return
        queued = await start(ctx.store, broadcast, ctx.now, ctx.services.default_locale) or 0
        await ctx.audit("broadcast.send", broadcast_id=broadcast.id, recipients=queued,
                        audience=broadcast.audience.to_draft())
        ctx.draft.clear()
        ctx.draft["broadcast_id"] = broadcast.id
        ctx.goto("broadcast.progress")
    elif ctx.choice == "bc:schedule":
        ctx.goto("broadcast.schedule")
    elif ctx.choice == "bc:audience":
        ctx.goto(PICKER.start)
    elif ctx.choice == "bc:cancel":
        ctx.finish(_("Cancelled. Nothing was sent."))
    else:
        ctx.retry(_("Please choose one of the items below."))


async def ask_schedule(ctx: Context) -> None:
    local = ctx.now.astimezone(ctx.services.timezone)
    tomorrow_eight = (local + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    ctx.say(_("When should it go out? Type a date and time, for example 25/12 08.00 or besok 07.30."),
            [Option(format_datetime(tomorrow_eight), "bc:at:" + tomorrow_eight.isoformat())])


async def handle_schedule(ctx: Context) -> None:
    when: datetime | None
    if ctx.choice and ctx.choice.startswith("bc:at:"):
        try:
            when = datetime.fromisoformat(ctx.choice.removeprefix("bc:at:"))
        except ValueError:
            when = None
        if when is not None and when.tzinfo is None:
            when = None
    else:
        when = parse_when(ctx.text, ctx.now, ctx.services.timezone)
    if when is None:
        ctx.retry(_("I could not read that time. Please write it like 25/12 08.00."))
        return
    if when <= ctx.now + timedelta(minutes=1) or when > ctx.now + MAX_SCHEDULE_AHEAD:
        ctx.retry(_("Please choose a time in the future, at most 90 days from now."))
        return
    broadcast = await _create(ctx, "broadcast.schedule", scheduled_at=when)
    if broadcast is None:
        return
    await ctx.audit("broadcast.schedule", broadcast_id=broadcast.id, scheduled_at=when,
                    audience=broadcast.audience.to_draft())
    ctx.say(_("Scheduled. Announcement #{id} goes out on {when}. The recipients are counted again at that time.")
            .format(id=broadcast.id, when=format_datetime(when)))
    ctx.draft.clear()
    ctx.goto(menu.OFFICIAL)


async def _create(ctx: Context, action: str, scheduled_at: datetime | None) -> Broadcast | None:
    audience = _complete(ctx)
    if audience is None:
        return None
    ctx.require_official(action, kecamatan_code=await ctx.store.audiences.scope(audience))
    return await ctx.store.broadcasts.create(ctx.user.id, ctx.draft["text_id"], ctx.draft.get("text_en"),
                                             ctx.draft.get("photo"), audience, ctx.now, scheduled_at)


async def ask_progress(ctx: Context) -> None:
    broadcast = await ctx.store.broadcasts.get(int(ctx.draft.get("broadcast_id", 0)))
    if broadcast is None:
        ctx.goto(menu.OFFICIAL)
        return
    ctx.replies.append(await progress_reply(ctx.store, broadcast, ctx.now))


async def handle_progress(ctx: Context) -> None:
    ctx.retry(_("Please choose one of the items below."))


async def start(store: Store, broadcast: Broadcast, now: datetime, default_locale: str) -> int | None:
    """Write the outbox rows of a scheduled or just-created broadcast: how many were queued, or None
    if it was started or cancelled already."""
    async with store.transaction():
        if not await store.broadcasts.start(broadcast.id, now):
            return None
        district = await store.areas.district_name()
        queued = await notify_audience(
            store, broadcast.audience, KIND,
            compose(broadcast.text_id, broadcast.text_en, broadcast.photo_path, district), now,
            group_id=broadcast.group_id, template_vars=template_vars(broadcast.text_id, broadcast.text_en, district),
            default_locale=default_locale,
        )
        await store.broadcasts.set_recipients(broadcast.id, queued)
    return queued


async def due_broadcasts(store: Store, now: datetime, default_locale: str = "id") -> list[int]:
    """Start every scheduled broadcast whose time has come; the scheduler calls this. Returns the ids started.

    Safe to call twice for the same moment: a broadcast starts once (state moves scheduled -> sending).
    Its author is told in the same transaction, with a button to follow its progress.
    """
    started = []
    for broadcast in await store.broadcasts.due(now):
        async with store.transaction():
            queued = await start(store, broadcast, now, default_locale)
            if queued is None:
                continue
            started.append(broadcast.id)
            author = await store.users.get(broadcast.created_by) if broadcast.created_by else None
            if author is not None and author.is_official:
                await notify(store, [author], "broadcast_started", _started_message(broadcast.id, queued), now,
                             template_vars=lambda id=broadcast.id, count=queued: {"1": f"#{id}", "2": str(count)},
                             default_locale=default_locale)
    return started


def _started_message(broadcast_id: int, queued: int) -> Callable[[], list[Reply]]:
    return lambda: [Reply(
        _("Your scheduled announcement #{id} is going out now to {count} people.").format(
            id=broadcast_id, count=format_number(queued)),
        (Option(_("Show progress"), f"broadcast:progress:{broadcast_id}"),),
    )]


async def progress_text(store: Store, broadcast: Broadcast, now: datetime) -> str:
    """Sent / failed / waiting / needs template and the time left, in the current locale (chat and CLI)."""
    return await _progress_text(store, broadcast, await store.outbox.counts(broadcast.group_id), now)


async def progress_reply(store: Store, broadcast: Broadcast, now: datetime, edit: bool = False) -> Reply:
    """The progress message with Refresh (which edits it in place), Cancel while something is left, and Back."""
    counts = await store.outbox.counts(broadcast.group_id)
    options = [Option(_("Refresh"), f"broadcast:progress:{broadcast.id}")]
    if broadcast.state == "scheduled" or (broadcast.state == "sending" and _waiting(counts)):
        options.append(Option(_("Cancel sending"), f"broadcast:cancel:{broadcast.id}"))
    options.append(Option(_("Officials' menu"), "go:menu_official"))
    return Reply(await _progress_text(store, broadcast, counts, now), tuple(options), edit=edit)


def _waiting(counts: dict[str, int]) -> int:
    return counts.get("pending", 0) + counts.get("sending", 0)


async def _progress_text(store: Store, broadcast: Broadcast, counts: dict[str, int], now: datetime) -> str:
    sent = counts.get("sent", 0) + counts.get("delivered", 0) + counts.get("read", 0)
    failed = counts.get("failed", 0)
    waiting = _waiting(counts)
    needs_template = counts.get("needs_template", 0)
    cancelled = counts.get("cancelled", 0)
    lines = [_("Announcement #{id} to {audience}").format(id=broadcast.id,
                                                           audience=await describe(store, broadcast.audience))]
    if broadcast.state == "scheduled" and broadcast.scheduled_at:
        lines.append(_("Scheduled for {when}.").format(when=format_datetime(broadcast.scheduled_at)))
    elif broadcast.state == "cancelled" and broadcast.cancelled_at:
        lines.append(_("Cancelled on {when}. What had not gone out stays unsent.").format(
            when=format_datetime(broadcast.cancelled_at)))
    elif waiting:
        lines.append(_("Sending."))
    else:
        lines.append(_("Finished."))
    if broadcast.state != "scheduled":
        lines.append(_("Recipients: {total}\nSent: {sent}\nFailed: {failed}\nWaiting: {waiting}\n"
                       "Need a WhatsApp template: {needs_template}").format(
            total=format_number(broadcast.recipients), sent=format_number(sent), failed=format_number(failed),
            waiting=format_number(waiting), needs_template=format_number(needs_template)))
    if cancelled:
        lines.append(_("Stopped by the cancel: {cancelled}").format(cancelled=format_number(cancelled)))
    if waiting and broadcast.state == "sending" and broadcast.started_at:
        lines.append(_time_left(sent + failed + needs_template, waiting, (now - broadcast.started_at).total_seconds()))
    lines.append(_("As of {when}.").format(when=format_datetime(now)))
    return "\n".join(lines)


def _time_left(done: int, waiting: int, elapsed_seconds: float) -> str:
    """Estimate from the pace so far (the outbox paces to each platform's limit, so it is steady)."""
    if done == 0 or elapsed_seconds <= 0:
        return _("Estimating the time left.")
    seconds_left = waiting / (done / elapsed_seconds)
    return _("About {duration} left.").format(duration=format_duration(timedelta(seconds=max(1.0, seconds_left))))


async def broadcast_action(ctx: Context, args: str) -> None:
    """`broadcast:list`, `broadcast:progress:<id>`, `broadcast:cancel:<id>` (officials only)."""
    verb, _sep, raw_id = args.partition(":")
    ctx.require_official(f"broadcast.{verb}" if verb in ("progress", "cancel") else "broadcast.list")
    if verb in ("", "list"):
        await _list(ctx)
        return
    broadcast = await ctx.store.broadcasts.get(int(raw_id)) if raw_id.isdigit() and len(raw_id) < 10 else None
    if broadcast is None or verb not in ("progress", "cancel"):
        ctx.say(_("I could not find that announcement."))
        return
    if verb == "cancel":
        ctx.require_official("broadcast.cancel", kecamatan_code=await ctx.store.audiences.scope(broadcast.audience))
        await _cancel(ctx, broadcast)
        return
    ctx.replies.append(await progress_reply(ctx.store, broadcast, ctx.now, edit=True))


async def _cancel(ctx: Context, broadcast: Broadcast) -> None:
    if broadcast.state == "cancelled":
        ctx.say(_("Announcement #{id} was already cancelled.").format(id=broadcast.id))
        return
    await ctx.store.broadcasts.cancel(broadcast.id, ctx.now)
    stopped = await ctx.store.outbox.cancel_group(broadcast.group_id)
    await ctx.audit("broadcast.cancel", broadcast_id=broadcast.id, stopped=stopped)
    ctx.say(_("Announcement #{id} is cancelled. {stopped} messages that had not gone out will not be sent.").format(
        id=broadcast.id, stopped=format_number(stopped)))
    cancelled = await ctx.store.broadcasts.get(broadcast.id)
    assert cancelled is not None
    ctx.replies.append(await progress_reply(ctx.store, cancelled, ctx.now))


async def _list(ctx: Context) -> None:
    recent = await ctx.store.broadcasts.recent(10)
    if not recent:
        ctx.say(_("No announcements yet."), [Option(_("Send an announcement"), "go:broadcast"),
                                             Option(_("Officials' menu"), "go:menu_official")])
        return
    options = []
    for broadcast in recent:
        label = f"#{broadcast.id} {shorten(broadcast.text_id, 30)}"
        options.append(Option(label, f"broadcast:progress:{broadcast.id}"))
    options.append(Option(_("Officials' menu"), "go:menu_official"))
    ctx.say(_("The latest announcements. Choose one to see its progress."), options)


FLOW = Flow(
    "broadcast",
    {
        "broadcast.text_id": Step(ask_text_id, handle_text_id),
        "broadcast.text_en": Step(ask_text_en, handle_text_en),
        "broadcast.photo": Step(ask_photo, handle_photo),
        **PICKER.steps(),
        "broadcast.review": Step(ask_review, handle_review),
        "broadcast.schedule": Step(ask_schedule, handle_schedule),
        "broadcast.progress": Step(ask_progress, handle_progress),
    },
    start=START,
    official_only=True,
)


def register(registry: Registry) -> None:
    registry.add_flow(FLOW)
    registry.add_action("broadcast", broadcast_action)
    registry.add_menu(N_("Send an announcement"), "go:broadcast", order=10, official=True)
    registry.add_menu(N_("Announcements and their progress"), "broadcast:list", order=11, official=True)
    registry.add_command("pengumuman", "go:broadcast", official=True, description=N_("Send an announcement"))
