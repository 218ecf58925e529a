"""Konsultasi publik for citizens: see what is coming up, register (or wait for a place), check in, propose
and support usulan, and get reminded before it starts.

```mermaid
stateDiagram-v2
    [*] --> consultation.list: Konsultasi publik
    consultation.list --> consultation.detail: a consultation (cons:open)
    consultation.list --> consultation.mine: Pendaftaran saya
    consultation.detail --> consultation.detail: Daftar / Daftar tunggu / Batalkan / Saya hadir
    consultation.detail --> consultation.proposals: Usulan warga
    consultation.proposals --> consultation.proposal: an usulan (cons:proposal)
    consultation.proposal --> consultation.proposal: Dukung
    consultation.proposals --> consultation.propose_title: Kirim usulan
    consultation.propose_title --> consultation.propose_description
    consultation.propose_description --> consultation.propose_category
    consultation.propose_category --> consultation.propose_location
    consultation.propose_location --> consultation.propose_confirm
    consultation.propose_confirm --> consultation.proposal: Kirim
```
`HADIR <code>` works from anywhere during the event (from one hour before the start to the end).
Reminders go out the day before at 09.00 and two hours before the start (kinds `consultation_h1`,
`consultation_2h`, one row per registration, run by the scheduler).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.flow import Context, Flow, Registry, Services, Step
from handlers.i18n import N_, _, format_datetime, format_number
from handlers.inputs import bounded_text, parse_id
from handlers.notify import notify
from handlers.scope import require_area_official, user_kecamatan
from handlers.types import Option, Reply
from storage.consultations import Consultation, NewProposal, Proposal, Registration
from storage.db import Store
from storage.outbox import PRIORITY_NOTIFICATION
from storage.reminders import Reminder
from storage.users import User

LEVEL_LABELS = {
    "desa": N_("Desa level"),
    "kecamatan": N_("Kecamatan level"),
    "kabupaten": N_("Kabupaten level"),
}
STAGE_LABELS = {
    "proposed": N_("Proposed"),
    "desa": N_("Discussed in the desa"),
    "kecamatan": N_("Forwarded to the kecamatan"),
    "kabupaten": N_("Forwarded to the kabupaten"),
    "planned": N_("Included in the plan"),
    "not_prioritised": N_("Not prioritised"),
}
CATEGORY_LABELS = {
    "infrastruktur": N_("Roads and infrastructure"),
    "air": N_("Clean water and sanitation"),
    "pendidikan": N_("Education"),
    "kesehatan": N_("Health"),
    "ekonomi": N_("Economy and small business"),
    "pertanian": N_("Agriculture"),
    "sosial": N_("Social"),
    "lingkungan": N_("Environment"),
    "lainnya": N_("Other"),
}

REMINDER_DAY_BEFORE = "consultation_h1"
REMINDER_TWO_HOURS = "consultation_2h"
DAY_BEFORE_AT = time(9, 0)                   # H-1 at 09.00 district time
TWO_HOURS = timedelta(hours=2)
CHECKIN_OPENS = timedelta(hours=1)           # HADIR is accepted from an hour before the start
LIST_LIMIT = 10
PROPOSAL_TITLE = (5, 120)
PROPOSAL_DESCRIPTION = (10, 1000)
PROPOSAL_LOCATION = (3, 200)


# --- shared with the officials' flow and the CLI ----------------------------------------------------

async def area_name(store: Store, consultation: Consultation) -> str:
    if consultation.level == "desa":
        desa = await store.areas.desa(consultation.desa_code)
        if desa:
            return _("Desa {desa}, Kecamatan {kecamatan}").format(desa=desa.name, kecamatan=desa.kecamatan_name)
    if consultation.level in ("desa", "kecamatan") and consultation.kecamatan_code:
        kecamatan = await store.areas.kecamatan(consultation.kecamatan_code)
        if kecamatan:
            return _("Kecamatan {kecamatan}").format(kecamatan=kecamatan.name)
    return await store.areas.district_name() or _("the whole district")


def map_link(latitude: float, longitude: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={latitude:.5f}&mlon={longitude:.5f}#map=17/{latitude:.5f}/{longitude:.5f}"


async def describe(store: Store, consultation: Consultation) -> str:
    """The consultation card: what, where, when (the Indonesian way), places left, topic."""
    c = consultation
    lines = [c.title, f"{_(LEVEL_LABELS[c.level])} · {await area_name(store, c)}",
             _("Starts: {when}").format(when=format_datetime(c.starts_at)),
             _("Ends: {when}").format(when=format_datetime(c.ends_at))]
    if c.place:
        lines.append(_("Place: {place}").format(place=c.place))
    if c.latitude is not None and c.longitude is not None:
        lines.append(_("Map: {link}").format(link=map_link(c.latitude, c.longitude)))
    if c.online_url:
        lines.append(_("Online: {link}").format(link=c.online_url))
    if c.capacity:
        taken = (await store.consultations.counts(c.id))["registered"]
        lines.append(_("Places: {capacity}, {left} left").format(
            capacity=format_number(c.capacity), left=format_number(max(0, c.capacity - taken))))
    if c.programme_id:
        programme = await store.programmes.get(c.programme_id)
        if programme:
            lines.append(_("Topic: {programme}").format(programme=programme.name))
    if c.description:
        lines += ["", c.description]
    return "\n".join(lines)


async def schedule_reminders(store: Store, registration_id: int, consultation: Consultation, now: datetime,
                             tz: ZoneInfo) -> None:
    """H-1 at 09.00 district time and two hours before the start; only those still ahead."""
    local_day = consultation.starts_at.astimezone(tz).date() - timedelta(days=1)
    day_before = datetime.combine(local_day, DAY_BEFORE_AT, tzinfo=tz).astimezone(UTC)
    for kind, due in ((REMINDER_DAY_BEFORE, day_before), (REMINDER_TWO_HOURS, consultation.starts_at - TWO_HOURS)):
        if due > now:
            await store.reminders.schedule(kind, str(registration_id), due, now)


async def cancel_reminders(store: Store, registration_id: int, now: datetime) -> None:
    for kind in (REMINDER_DAY_BEFORE, REMINDER_TWO_HOURS):
        await store.reminders.cancel(kind, str(registration_id), now, note="registration cancelled")


async def fire_reminder(store: Store, services: Services, reminder: Reminder, now: datetime) -> bool:
    """A due H-1 or 2-hour reminder: only to a still-registered person, only before the start."""
    registration_id = parse_id(reminder.target)
    registration = await store.consultations.registration_by_id(registration_id) if registration_id else None
    if registration is None or registration.state != "registered":
        return False
    consultation = await store.consultations.get(registration.consultation_id)
    user = await store.users.get(registration.user_id)
    if consultation is None or user is None or consultation.starts_at <= now:
        return False
    tomorrow = reminder.kind == REMINDER_DAY_BEFORE

    def compose() -> list[Reply]:
        if tomorrow:
            head = _("Reminder: tomorrow is {title}.").format(title=consultation.title)
        else:
            head = _("Reminder: {title} starts soon.").format(title=consultation.title)
        lines = [head, _("Starts: {when}").format(when=format_datetime(consultation.starts_at))]
        if consultation.place:
            lines.append(_("Place: {place}").format(place=consultation.place))
        if consultation.online_url:
            lines.append(_("Online: {link}").format(link=consultation.online_url))
        lines.append(_("Your code is {code}. When you arrive, send HADIR {code}.").format(code=registration.code))
        return [Reply("\n".join(lines), (Option(_("See details"), f"cons:open:{consultation.id}"),
                                          Option(_("Cancel my registration"), f"cons:cancel:{consultation.id}")))]

    sent = await notify(store, [user], "consultation_reminder", compose, now, priority=PRIORITY_NOTIFICATION,
                        template_vars=lambda: {"1": consultation.title,
                                               "2": format_datetime(consultation.starts_at),
                                               "3": registration.code},
                        default_locale=services.default_locale)
    return sent > 0


# --- who may see what -------------------------------------------------------------------------------


async def in_area(ctx: Context, consultation: Consultation) -> bool:
    """The consultation is for the user's desa, kecamatan or the whole kabupaten."""
    if consultation.level == "kabupaten":
        return True
    if consultation.level == "desa":
        return consultation.desa_code == ctx.user.desa_code
    return consultation.kecamatan_code == await user_kecamatan(ctx)


async def _visible(ctx: Context, consultation_id: int | None) -> Consultation | None:
    """The consultation if this user may open it (their area, or they registered for it)."""
    if consultation_id is None:
        return None
    consultation = await ctx.store.consultations.get(consultation_id)
    if consultation is None:
        return None
    if await in_area(ctx, consultation):
        return consultation
    if await ctx.store.consultations.registration(consultation.id, ctx.user.id):
        return consultation
    return None


def _not_found(ctx: Context) -> None:
    ctx.say(_("Sorry, I could not find that consultation."))
    ctx.goto("consultation.list")


def _accepting_proposals(consultation: Consultation, now: datetime) -> bool:
    return consultation.proposals_open and now < consultation.ends_at


def _checkin_open(consultation: Consultation, now: datetime) -> bool:
    return consultation.starts_at - CHECKIN_OPENS <= now <= consultation.ends_at


# --- the list, the card, my registrations ------------------------------------------------------------

async def ask_list(ctx: Context) -> None:
    upcoming = await ctx.store.consultations.upcoming_for_area(ctx.user.desa_code, await user_kecamatan(ctx),
                                                               ctx.now, limit=LIST_LIMIT)
    extra = [Option(_("My registrations"), "cons:mine"), Option(_("Back to main menu"), "go:menu")]
    if not upcoming:
        ctx.say(_("There are no upcoming consultations for your area right now. We will announce new ones here."),
                extra)
        return
    lines = [_("Upcoming consultations for your area, soonest first:")]
    for number, consultation in enumerate(upcoming, start=1):
        lines.append(f"{number}. {consultation.title}\n   {format_datetime(consultation.starts_at)}")
    lines.append(_("Choose one to read more and register."))
    ctx.say("\n".join(lines), [Option(c.title[:60], f"cons:open:{c.id}") for c in upcoming] + extra)


async def handle_choose(ctx: Context) -> None:
    ctx.retry(_("Please choose one of the items below."))


async def ask_detail(ctx: Context) -> None:
    consultation = await _visible(ctx, ctx.draft.get("consultation_id"))
    if consultation is None:
        _not_found(ctx)
        return
    c, now = consultation, ctx.now
    registration = await ctx.store.consultations.registration(c.id, ctx.user.id)
    lines = [await describe(ctx.store, c), ""]
    options = []
    active = registration is not None and registration.state != "cancelled"
    if registration is not None and registration.state == "registered":
        lines.append(_("You are registered. Your code: {code}").format(code=registration.code))
        if registration.attended_at:
            lines.append(_("Your attendance is recorded."))
        elif _checkin_open(c, now):
            options.append(Option(_("I am here"), f"cons:checkin:{c.id}"))
    elif registration is not None and registration.state == "waiting":
        position = await ctx.store.consultations.waiting_position(registration)
        lines.append(_("You are on the waiting list (number {position}).").format(position=position))
    if c.outcome:
        lines += ["", _("Outcome:"), c.outcome]
    if not active and now < c.ends_at:
        if await _has_place(ctx, c):
            options.append(Option(_("Register"), f"cons:register:{c.id}"))
        elif now < c.starts_at:
            options.append(Option(_("Join the waiting list"), f"cons:wait:{c.id}"))
    if active and now < c.starts_at:
        options.append(Option(_("Cancel my registration"), f"cons:cancel:{c.id}"))
    proposals = await ctx.store.consultations.count_proposals(c.id)
    if proposals or (_accepting_proposals(c, now) and await in_area(ctx, c)):
        options.append(Option(_("Citizens' proposals ({count})").format(count=proposals), f"cons:proposals:{c.id}"))
    options += [Option(_("Other consultations"), "cons:list"), Option(_("Back to main menu"), "go:menu")]
    ctx.say("\n".join(lines).strip(), options)


async def _has_place(ctx: Context, consultation: Consultation) -> bool:
    if not consultation.capacity:
        return True
    return (await ctx.store.consultations.counts(consultation.id))["registered"] < consultation.capacity


async def ask_mine(ctx: Context) -> None:
    mine = await ctx.store.consultations.active_registrations(ctx.user.id, ctx.now)
    back = [Option(_("Other consultations"), "cons:list"), Option(_("Back to main menu"), "go:menu")]
    if not mine:
        ctx.say(_("You are not registered for any upcoming consultation."), back)
        return
    lines = [_("Your registrations:")]
    for number, (registration, consultation) in enumerate(mine, start=1):
        status = (_("code {code}").format(code=registration.code) if registration.state == "registered"
                  else _("waiting list"))
        lines.append(f"{number}. {consultation.title} ({status})\n   {format_datetime(consultation.starts_at)}")
    ctx.say("\n".join(lines), [Option(c.title[:60], f"cons:open:{c.id}") for _r, c in mine] + back)


# --- register, wait, cancel, check in ---------------------------------------------------------------

async def _register(ctx: Context, consultation: Consultation, waiting: bool) -> None:
    now = ctx.now
    existing = await ctx.store.consultations.registration(consultation.id, ctx.user.id)
    if existing is not None and existing.state == "registered":
        ctx.say(_("You are already registered for this consultation."))
    elif existing is not None and existing.state == "waiting":
        ctx.say(_("You are already on the waiting list for this consultation."))
    elif now >= consultation.ends_at:
        ctx.say(_("This consultation has already ended."))
    elif await _has_place(ctx, consultation):
        registration = await ctx.store.consultations.register(consultation.id, ctx.user.id, "registered", now)
        await schedule_reminders(ctx.store, registration.id, consultation, now, ctx.services.timezone)
        ctx.say(_("You are registered for {title}. Your code is {code}. When you arrive, send HADIR {code}. "
                  "We will remind you the day before and two hours before it starts.").format(
            title=consultation.title, code=registration.code))
    elif not waiting:
        ctx.say(_("Sorry, this consultation is full. You can join the waiting list: we will tell you as soon as "
                  "a place frees up."))
    elif now >= consultation.starts_at:
        ctx.say(_("This consultation has already started, so the waiting list is closed."))
    else:
        registration = await ctx.store.consultations.register(consultation.id, ctx.user.id, "waiting", now)
        position = await ctx.store.consultations.waiting_position(registration)
        ctx.say(_("You are on the waiting list, number {position}. If a place frees up, you get it and we will "
                  "tell you.").format(position=position))
    ctx.draft["consultation_id"] = consultation.id
    ctx.goto("consultation.detail")


async def cancel_registration(store: Store, registration: Registration, consultation: Consultation, now: datetime,
                              tz: ZoneInfo, default_locale: str) -> User | None:
    """Cancel; if that freed a place, give it to the first person waiting and tell them. Returns them."""
    await store.consultations.set_registration_state(registration.id, "cancelled", now)
    await cancel_reminders(store, registration.id, now)
    if registration.state != "registered" or now >= consultation.starts_at:
        return None
    waiting = await store.consultations.first_waiting(consultation.id)
    if waiting is None:
        return None
    await store.consultations.set_registration_state(waiting.id, "registered", now)
    await schedule_reminders(store, waiting.id, consultation, now, tz)
    promoted = await store.users.get(waiting.user_id)
    if promoted is None:
        return None

    def compose() -> list[Reply]:
        return [Reply(
            _("Good news: a place freed up for {title} ({when}). You are now registered. Your code is {code}; "
              "when you arrive, send HADIR {code}.").format(
                title=consultation.title, when=format_datetime(consultation.starts_at), code=waiting.code),
            (Option(_("See details"), f"cons:open:{consultation.id}"),
             Option(_("Cancel my registration"), f"cons:cancel:{consultation.id}")),
        )]

    await notify(store, [promoted], "consultation_place_freed", compose, now, default_locale=default_locale,
                 template_vars=lambda: {"1": consultation.title, "2": format_datetime(consultation.starts_at),
                                        "3": waiting.code})
    return promoted


async def _cancel(ctx: Context, consultation: Consultation) -> None:
    registration = await ctx.store.consultations.registration(consultation.id, ctx.user.id)
    if registration is None or registration.state == "cancelled":
        ctx.say(_("You are not registered for this consultation."))
    elif ctx.now >= consultation.starts_at:
        ctx.say(_("This consultation has already started; there is nothing to cancel."))
    else:
        await cancel_registration(ctx.store, registration, consultation, ctx.now, ctx.services.timezone,
                                  ctx.services.default_locale)
        ctx.say(_("Your registration is cancelled. Thank you for letting us know."))
    ctx.draft["consultation_id"] = consultation.id
    ctx.goto("consultation.detail")


async def check_in(ctx: Context, registration: Registration, consultation: Consultation) -> str:
    """Record attendance during the event window; returns what to tell whoever sent it."""
    now = ctx.now
    if registration.state == "waiting":
        return _("You are still on the waiting list for {title}, so I cannot record your attendance. "
                 "Please speak to the committee at the door.").format(title=consultation.title)
    if registration.state != "registered":
        return _("This registration was cancelled.")
    if now < consultation.starts_at - CHECKIN_OPENS:
        return _("Check-in for {title} opens one hour before it starts ({when}).").format(
            title=consultation.title, when=format_datetime(consultation.starts_at))
    if now > consultation.ends_at:
        return _("{title} has already ended.").format(title=consultation.title)
    if not await ctx.store.consultations.mark_attended(registration.id, now):
        return _("Attendance for code {code} was already recorded.").format(code=registration.code)
    return _("Welcome to {title}! Attendance for code {code} is recorded.").format(
        title=consultation.title, code=registration.code)


async def _check_in_button(ctx: Context, consultation: Consultation) -> None:
    registration = await ctx.store.consultations.registration(consultation.id, ctx.user.id)
    if registration is None:
        ctx.say(_("You are not registered for this consultation."))
    else:
        ctx.say(await check_in(ctx, registration, consultation))
    ctx.draft["consultation_id"] = consultation.id
    ctx.goto("consultation.detail")


async def hadir_intent(ctx: Context, text: str) -> None:
    """`HADIR K7Q2MX` (or just `HADIR` when the sender has one event going on)."""
    words = text.split()
    code = words[1] if len(words) > 1 else None
    if code is None:
        ongoing = [(r, c) for r, c in await ctx.store.consultations.active_registrations(ctx.user.id, ctx.now)
                   if r.state == "registered" and _checkin_open(c, ctx.now)]
        if len(ongoing) != 1:
            ctx.finish(_("Please send HADIR followed by your registration code, for example HADIR K7Q2MX."))
            return
        registration, consultation = ongoing[0]
        ctx.finish(await check_in(ctx, registration, consultation))
        return
    registration = await ctx.store.consultations.registration_by_code(code)
    consultation = await ctx.store.consultations.get(registration.consultation_id) if registration else None
    if registration is None or consultation is None:
        ctx.finish(_("I could not find the code {code}. Please check it and try again.").format(code=code[:12]))
        return
    if registration.user_id != ctx.user.id:
        if not ctx.user.is_official:  # a citizen cannot check somebody else in
            ctx.finish(_("I could not find the code {code}. Please check it and try again.").format(code=code[:12]))
            return
        require_area_official(ctx, "consultation.checkin", consultation.kecamatan_code)
        message = await check_in(ctx, registration, consultation)
        await ctx.audit("consultation.checkin", consultation_id=consultation.id, registration_id=registration.id)
        ctx.finish(message)
        return
    ctx.finish(await check_in(ctx, registration, consultation))


# --- proposals --------------------------------------------------------------------------------------

async def ask_proposals(ctx: Context) -> None:
    consultation = await _visible(ctx, ctx.draft.get("consultation_id"))
    if consultation is None:
        _not_found(ctx)
        return
    proposals = await ctx.store.consultations.proposals(consultation.id, limit=LIST_LIMIT)
    lines = [_("Proposals for {title}, most supported first:").format(title=consultation.title)]
    if not proposals:
        lines = [_("No proposals yet for {title}.").format(title=consultation.title)]
    for number, proposal in enumerate(proposals, start=1):
        lines.append(_("{number}. {title} ({supporters} supporters, {stage})").format(
            number=number, title=proposal.title, supporters=proposal.supporters,
            stage=_(STAGE_LABELS[proposal.stage]).lower()))
    options = [Option(p.title[:60], f"cons:proposal:{p.id}") for p in proposals]
    if _accepting_proposals(consultation, ctx.now) and await in_area(ctx, consultation):
        options.append(Option(_("Send a proposal"), f"cons:propose:{consultation.id}"))
    elif not _accepting_proposals(consultation, ctx.now):
        lines.append(_("This consultation no longer takes new proposals."))
    options.append(Option(_("Back to the consultation"), f"cons:open:{consultation.id}"))
    ctx.say("\n".join(lines), options)


async def _proposal_visible(ctx: Context, proposal_id: int | None) -> tuple[Proposal, Consultation] | None:
    proposal = await ctx.store.consultations.proposal(proposal_id) if proposal_id else None
    consultation = await _visible(ctx, proposal.consultation_id) if proposal else None
    if proposal is None or consultation is None:
        return None
    return proposal, consultation


async def _may_support(ctx: Context, proposal: Proposal, consultation: Consultation) -> bool:
    return (proposal.user_id != ctx.user.id and not proposal.final and await in_area(ctx, consultation)
            and not await ctx.store.consultations.supports(proposal.id, ctx.user.id))


def describe_proposal(proposal: Proposal) -> str:
    lines = [proposal.title,
             _("Sector: {category}").format(category=_(CATEGORY_LABELS.get(proposal.category, N_("Other")))),
             _("Location: {location}").format(location=proposal.location)]
    if proposal.latitude is not None and proposal.longitude is not None:
        lines.append(_("Map: {link}").format(link=map_link(proposal.latitude, proposal.longitude)))
    lines += [_("Stage: {stage}").format(stage=_(STAGE_LABELS[proposal.stage])),
              _("Supporters: {count}").format(count=proposal.supporters), "", proposal.description]
    return "\n".join(lines)


async def ask_proposal(ctx: Context) -> None:
    found = await _proposal_visible(ctx, ctx.draft.get("proposal_id"))
    if found is None:
        _not_found(ctx)
        return
    proposal, consultation = found
    text = describe_proposal(proposal)
    history = await ctx.store.consultations.stage_history(proposal.id)
    if history and history[-1].note:
        text += "\n\n" + _("Latest note from the officials: {note}").format(note=history[-1].note)
    options = []
    if await _may_support(ctx, proposal, consultation):
        options.append(Option(_("Support"), f"cons:support:{proposal.id}"))
    options += [Option(_("Back to proposals"), f"cons:proposals:{consultation.id}"),
                Option(_("Back to main menu"), "go:menu")]
    ctx.say(text, options)


async def _support(ctx: Context, proposal_id: int | None) -> None:
    found = await _proposal_visible(ctx, proposal_id)
    if found is None:
        _not_found(ctx)
        return
    proposal, consultation = found
    if proposal.user_id == ctx.user.id:
        ctx.say(_("This is your own proposal, so it already counts as yours."))
    elif proposal.final:
        ctx.say(_("This proposal has been decided; support is closed."))
    elif not await in_area(ctx, consultation):
        ctx.say(_("Only residents of the consultation's area can support its proposals."))
    elif await ctx.store.consultations.support(proposal.id, ctx.user.id, ctx.now):
        ctx.say(_("Thank you, your support is counted. We will tell you when the proposal moves on."))
    else:
        ctx.say(_("You already support this proposal."))
    ctx.draft["proposal_id"] = proposal.id
    ctx.goto("consultation.proposal")


async def _start_proposal(ctx: Context, consultation: Consultation) -> None:
    if not _accepting_proposals(consultation, ctx.now):
        ctx.say(_("This consultation no longer takes new proposals."))
        ctx.goto("consultation.detail")
    elif not await in_area(ctx, consultation):
        ctx.say(_("Only residents of the consultation's area can send proposals to it."))
        ctx.goto("consultation.detail")
    else:
        ctx.draft.clear()
        ctx.draft["consultation_id"] = consultation.id
        ctx.goto("consultation.propose_title")




async def ask_propose_title(ctx: Context) -> None:
    ctx.say(_("What is your proposal called? Write a short title, e.g. \"Repair the Dusun Kalang farm road\"."),
            [Option(_("Cancel"), f"cons:proposals:{ctx.draft.get('consultation_id')}")])


async def handle_propose_title(ctx: Context) -> None:
    title = bounded_text(ctx, *PROPOSAL_TITLE)
    if title:
        ctx.draft["title"] = title
        ctx.goto("consultation.propose_description")


async def ask_propose_description(ctx: Context) -> None:
    ctx.say(_("Describe the proposal: what is needed, why, and who benefits."))


async def handle_propose_description(ctx: Context) -> None:
    description = bounded_text(ctx, *PROPOSAL_DESCRIPTION)
    if description:
        ctx.draft["description"] = description
        ctx.goto("consultation.propose_category")


async def ask_propose_category(ctx: Context) -> None:
    ctx.say(_("Which field is it about?"), [Option(_(label), f"cat:{key}") for key, label in CATEGORY_LABELS.items()])


async def handle_propose_category(ctx: Context) -> None:
    key = (ctx.choice or "").removeprefix("cat:")
    if key not in CATEGORY_LABELS:
        ctx.retry(_("Please choose one of the items below."))
        return
    ctx.draft["category"] = key
    ctx.goto("consultation.propose_location")


async def ask_propose_location(ctx: Context) -> None:
    ctx.say(_("Where is it? Write the place (dusun, RT/RW, landmark) or share a location."), request="location")


async def handle_propose_location(ctx: Context) -> None:
    location = ctx.msg.location
    if location is not None:
        if not location.valid:
            ctx.retry(_("That location looks wrong. Please write the place instead."))
            return
        ctx.draft.update(latitude=location.latitude, longitude=location.longitude,
                         location=(location.address or _("Shared location"))[:PROPOSAL_LOCATION[1]])
    else:
        text = bounded_text(ctx, *PROPOSAL_LOCATION)
        if not text:
            return
        ctx.draft.update(location=text, latitude=None, longitude=None)
    ctx.goto("consultation.propose_confirm")


def _draft_proposal(ctx: Context) -> Proposal:
    d = ctx.draft
    return Proposal(0, int(d["consultation_id"]), ctx.user.id, d["title"], d["description"], d["location"],
                    d.get("latitude"), d.get("longitude"), d["category"], "proposed", 0, ctx.now)


async def ask_propose_confirm(ctx: Context) -> None:
    ctx.say(_("Please check your proposal:") + "\n\n" + describe_proposal(_draft_proposal(ctx)),
            [Option(_("Send"), "send"), Option(_("Cancel"), "cancel")])


async def handle_propose_confirm(ctx: Context) -> None:
    if ctx.choice == "cancel":
        ctx.finish(_("Cancelled. Nothing was sent."))
        return
    if ctx.choice != "send":
        ctx.retry(_("Please choose one of the items below."))
        return
    consultation = await _visible(ctx, ctx.draft.get("consultation_id"))
    if consultation is None or not _accepting_proposals(consultation, ctx.now) or not await in_area(ctx, consultation):
        ctx.finish(_("Sorry, this consultation no longer takes new proposals."))
        return
    draft = _draft_proposal(ctx)
    proposal_id = await ctx.store.consultations.add_proposal(NewProposal(
        consultation.id, ctx.user.id, draft.title, draft.description, draft.location, draft.latitude,
        draft.longitude, draft.category), ctx.now)
    ctx.draft.clear()
    ctx.draft["proposal_id"] = proposal_id
    ctx.say(_("Thank you! Your proposal is saved. Neighbours can now support it, and we will tell you at every "
              "stage."))
    ctx.goto("consultation.proposal")


# --- actions (buttons work from anywhere, also from reminders) --------------------------------------

async def consultation_action(ctx: Context, args: str) -> None:
    verb, _sep, rest = args.partition(":")
    if verb == "list":
        ctx.goto("consultation.list")
        return
    if verb == "mine":
        ctx.goto("consultation.mine")
        return
    if verb in ("proposal", "support"):
        proposal_id = parse_id(rest)
        if verb == "support":
            await _support(ctx, proposal_id)
        elif await _proposal_visible(ctx, proposal_id):
            ctx.draft["proposal_id"] = proposal_id
            ctx.goto("consultation.proposal")
        else:
            _not_found(ctx)
        return
    consultation = await _visible(ctx, parse_id(rest))
    if consultation is None:
        _not_found(ctx)
        return
    ctx.draft["consultation_id"] = consultation.id
    if verb == "open":
        ctx.goto("consultation.detail")
    elif verb in ("register", "wait"):
        await _register(ctx, consultation, waiting=verb == "wait")
    elif verb == "cancel":
        await _cancel(ctx, consultation)
    elif verb == "checkin":
        await _check_in_button(ctx, consultation)
    elif verb == "proposals":
        ctx.goto("consultation.proposals")
    elif verb == "propose":
        await _start_proposal(ctx, consultation)
    else:
        ctx.goto("consultation.detail")


FLOW = Flow(
    "consultation",
    {
        "consultation.list": Step(ask_list, handle_choose),
        "consultation.detail": Step(ask_detail, handle_choose),
        "consultation.mine": Step(ask_mine, handle_choose),
        "consultation.proposals": Step(ask_proposals, handle_choose),
        "consultation.proposal": Step(ask_proposal, handle_choose),
        "consultation.propose_title": Step(ask_propose_title, handle_propose_title),
        "consultation.propose_description": Step(ask_propose_description, handle_propose_description),
        "consultation.propose_category": Step(ask_propose_category, handle_propose_category),
        "consultation.propose_location": Step(ask_propose_location, handle_propose_location),
        "consultation.propose_confirm": Step(ask_propose_confirm, handle_propose_confirm),
    },
    start="consultation.list",
)

def register(registry: Registry) -> None:
    registry.add_flow(FLOW)
    registry.add_action("cons", consultation_action)
    registry.add_intent(r"^\s*hadir\b(\s+[A-Za-z0-9]{1,12})?\s*[.!]?\s*$", hadir_intent)
    registry.add_command("konsultasi", "go:consultation", description=N_("Public consultations"))
    registry.add_reminder_kind(REMINDER_DAY_BEFORE, fire_reminder, grace=timedelta(hours=12))
    registry.add_reminder_kind(REMINDER_TWO_HOURS, fire_reminder, grace=timedelta(minutes=90))
