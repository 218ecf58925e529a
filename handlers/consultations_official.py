"""Konsultasi publik for officials: create one step by step, see registrants and attendance, rank proposals
by support and move them through the Musrenbang stages, and send the outcome to everyone who came.

```mermaid
stateDiagram-v2
    [*] --> consultation_admin.main: Menu petugas > Konsultasi publik
    consultation_admin.main --> consultation_admin.title: Buat konsultasi
    consultation_admin.title --> consultation_admin.description
    consultation_admin.description --> consultation_admin.level
    consultation_admin.level --> consultation_admin.kecamatan: desa / kecamatan
    consultation_admin.level --> consultation_admin.place: kabupaten
    consultation_admin.kecamatan --> consultation_admin.desa: desa level
    consultation_admin.kecamatan --> consultation_admin.place: kecamatan level
    consultation_admin.desa --> consultation_admin.place
    consultation_admin.place --> consultation_admin.pin: an address
    consultation_admin.place --> consultation_admin.link: Online saja
    consultation_admin.pin --> consultation_admin.link
    consultation_admin.link --> consultation_admin.start
    consultation_admin.start --> consultation_admin.end
    consultation_admin.end --> consultation_admin.capacity
    consultation_admin.capacity --> consultation_admin.topic
    consultation_admin.topic --> consultation_admin.confirm
    consultation_admin.confirm --> consultation_admin.detail: Simpan
    consultation_admin.main --> consultation_admin.detail: a consultation (conadm:open)
    consultation_admin.detail --> consultation_admin.registrants
    consultation_admin.detail --> consultation_admin.proposals
    consultation_admin.proposals --> consultation_admin.proposal
    consultation_admin.proposal --> consultation_admin.stage_note: a stage (conadm:stage)
    consultation_admin.stage_note --> consultation_admin.proposal: note or Tanpa catatan
    consultation_admin.detail --> consultation_admin.outcome: Kirim hasil
    consultation_admin.outcome --> consultation_admin.outcome_confirm
    consultation_admin.outcome_confirm --> consultation_admin.detail: Kirim
```
A limited official (one kecamatan) creates and manages only consultations in that kecamatan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.consultations import LEVEL_LABELS, STAGE_LABELS, describe, describe_proposal
from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_, _, format_datetime
from handlers.inputs import bounded_text, parse_id
from handlers.notify import notify
from handlers.scope import official_area_steps, official_limit, require_area_official
from handlers.types import Option, Reply
from handlers.when import local_date, parse_when
from storage.clock import from_db, to_db
from storage.consultations import FINAL_STAGES, Consultation, NewConsultation, Proposal
from storage.outbox import PRIORITY_BULK

START = "consultation_admin.main"
TITLE = (5, 120)
DESCRIPTION_MAX = 1500
PLACE = (3, 200)
URL_MAX = 500
CAPACITY_MAX = 100_000
MAX_AHEAD = timedelta(days=366)
MAX_LENGTH = timedelta(days=3)
OUTCOME = (10, 3000)
NOTE_MAX = 500
SHOWN = 60                         # rows in one list message, so it stays within a chat message's size
RECENT = timedelta(days=30)        # ended consultations stay in the officials' list this long
PIPELINE = ("proposed", "desa", "kecamatan", "kabupaten")


# --- rules shared with `sinergi consultations add` --------------------------------------------------

def check_url(text: str) -> bool:
    return (text.startswith(("https://", "http://")) and len(text) <= URL_MAX and not any(c.isspace() for c in text)
            and "." in text)


def check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> str | None:
    """What is wrong with these times, in words for the official; None when they are fine."""
    if starts_at <= now:
        return _("The start must be in the future.")
    if starts_at > now + MAX_AHEAD:
        return _("The start must be within a year from now.")
    if ends_at <= starts_at:
        return _("The end must be after the start.")
    if ends_at > starts_at + MAX_LENGTH:
        return _("A consultation can last at most three days.")
    return None


def next_stages(stage: str) -> tuple[str, ...]:
    """The next Musrenbang stage, or a decision (in the plan / not prioritised) from any open stage."""
    if stage in FINAL_STAGES:
        return ()
    following = PIPELINE[PIPELINE.index(stage) + 1:PIPELINE.index(stage) + 2]
    return (*following, *FINAL_STAGES)


def zone_name(tz: ZoneInfo, now: datetime) -> str:
    return now.astimezone(tz).tzname() or str(tz)


# --- helpers ----------------------------------------------------------------------------------------


async def _managed(ctx: Context, action: str, consultation_id: int | None) -> Consultation | None:
    """The consultation, once the official is known to manage its area (else NotAllowed is raised)."""
    ctx.require_official(action)
    consultation = await ctx.store.consultations.get(consultation_id) if consultation_id else None
    if consultation is not None:
        require_area_official(ctx, action, consultation.kecamatan_code)
    return consultation


def _gone(ctx: Context) -> None:
    ctx.say(_("Sorry, I could not find that consultation."))
    ctx.goto(START)




# --- the list ---------------------------------------------------------------------------------------

async def ask_main(ctx: Context) -> None:
    ctx.require_official("consultation.list")
    consultations = await ctx.store.consultations.for_officials(official_limit(ctx), ctx.now - RECENT)
    lines = [_("Consultations (upcoming and of the last 30 days):")] if consultations else [
        _("There are no upcoming consultations yet.")]
    for number, c in enumerate(consultations, start=1):
        lines.append(f"{number}. {c.title}\n   {format_datetime(c.starts_at)}")
    ctx.say("\n".join(lines),
            [Option(_("New consultation"), "new")]
            + [Option(c.title[:60], f"conadm:open:{c.id}") for c in consultations]
            + [Option(_("Officials' menu"), "go:menu_official")])


async def handle_main(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    if ctx.choice == "new":
        ctx.draft.clear()
        ctx.goto("consultation_admin.title")
    else:
        ctx.retry(_("Please choose one of the items below."))


# --- create, step by step ---------------------------------------------------------------------------

async def ask_title(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    ctx.say(_("New consultation. What is its title? For example: Musrenbang Desa Jogotirto 2027."))


async def handle_title(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    title = bounded_text(ctx, *TITLE)
    if title:
        ctx.draft["title"] = title
        ctx.goto("consultation_admin.description")


async def ask_description(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    ctx.say(_("Describe it for citizens: the purpose, the agenda, who should come."),
            [Option(_("Skip"), "skip")])


async def handle_description(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    if ctx.choice == "skip":
        ctx.draft["description"] = ""
    else:
        description = bounded_text(ctx, 1, DESCRIPTION_MAX)
        if description is None:
            return
        ctx.draft["description"] = description
    ctx.goto("consultation_admin.level")


async def ask_place(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    ctx.say(_("Where is it held? Write the address, e.g. Balai Desa Jogotirto, Jl. Berbah No. 1. "
              "Or choose Online only."), [Option(_("Online only"), "online")])


async def handle_place(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    if ctx.choice == "online":
        ctx.draft.update(place=None, latitude=None, longitude=None)
        ctx.goto("consultation_admin.link")
        return
    place = bounded_text(ctx, *PLACE)
    if place:
        ctx.draft["place"] = place
        ctx.goto("consultation_admin.pin")


async def ask_pin(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    ctx.say(_("Share the location pin of the place, so people find it on the map, or skip."),
            [Option(_("Skip"), "skip")], request="location")


async def handle_pin(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    location = ctx.msg.location
    if ctx.choice == "skip":
        ctx.draft.update(latitude=None, longitude=None)
    elif location is not None and location.valid:
        ctx.draft.update(latitude=location.latitude, longitude=location.longitude)
    else:
        ctx.retry(_("Please share a location, or choose Skip."))
        return
    ctx.goto("consultation_admin.link")


async def ask_link(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    if ctx.draft.get("place"):
        ctx.say(_("Can people also join online? Write the meeting link (https://…), or skip."),
                [Option(_("Skip"), "skip")])
    else:
        ctx.say(_("Write the link of the online meeting (https://…)."))


async def handle_link(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    if ctx.choice == "skip" and ctx.draft.get("place"):
        ctx.draft["online_url"] = None
    elif check_url(ctx.text.strip()):
        ctx.draft["online_url"] = ctx.text.strip()
    else:
        ctx.retry(_("That does not look like a link. It should start with https://"))
        return
    ctx.goto("consultation_admin.start")


async def ask_start(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    ctx.say(_("When does it start? Write the date and time in {zone}, for example 30-11-2026 09.00.").format(
        zone=zone_name(ctx.services.timezone, ctx.now)))


async def handle_start(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    starts_at = parse_when(ctx.text, ctx.now, ctx.services.timezone)
    if starts_at is None:
        ctx.retry(_("I could not read that. Please write day-month-year and time, for example 30-11-2026 09.00."))
        return
    problem = check_times(starts_at, starts_at + timedelta(minutes=1), ctx.now)
    if problem:
        ctx.retry(problem)
        return
    ctx.draft["starts_at"] = to_db(starts_at)
    ctx.goto("consultation_admin.end")


async def ask_end(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    ctx.say(_("When does it end? Write the time, for example 12.00 (or a date and time if it ends on another day)."))


async def handle_end(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    starts_at = from_db(ctx.draft.get("starts_at"))
    if starts_at is None:
        ctx.goto("consultation_admin.start")
        return
    tz = ctx.services.timezone
    ends_at = parse_when(ctx.text, ctx.now, tz, on_date=local_date(starts_at, tz))
    if ends_at is None:
        ctx.retry(_("I could not read that. Please write the time, for example 12.00."))
        return
    problem = check_times(starts_at, ends_at, ctx.now)
    if problem:
        ctx.retry(problem)
        return
    ctx.draft["ends_at"] = to_db(ends_at)
    ctx.goto("consultation_admin.capacity")


async def ask_capacity(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    ctx.say(_("How many people can attend? Write a number, or choose No limit. When it is full, people can join "
              "a waiting list."), [Option(_("No limit"), "none")])


async def handle_capacity(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    text = ctx.text.strip().replace(".", "")
    if ctx.choice == "none":
        ctx.draft["capacity"] = None
    elif text.isdigit() and len(text) <= 6 and 1 <= int(text) <= CAPACITY_MAX:
        ctx.draft["capacity"] = int(text)
    else:
        ctx.retry(_("Please write a number of people, for example 50, or choose No limit."))
        return
    ctx.goto("consultation_admin.topic")


async def _topics(ctx: Context) -> list[Option]:
    programmes = await ctx.store.programmes.for_area(ctx.draft.get("desa_code"), ctx.draft.get("kecamatan_code"),
                                                    limit=10)
    return [Option(p.name[:60], f"programme:{p.id}") for p in programmes]


async def ask_topic(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    options = await _topics(ctx)
    if not options:
        ctx.draft["programme_id"] = None
        ctx.goto("consultation_admin.confirm")
        return
    ctx.say(_("Is it about one of these programmes?"), options + [Option(_("No programme"), "none")])


async def handle_topic(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    if ctx.choice == "none":
        ctx.draft["programme_id"] = None
    elif ctx.choice and ctx.choice in {o.payload for o in await _topics(ctx)}:
        ctx.draft["programme_id"] = int(ctx.choice.removeprefix("programme:"))
    else:
        ctx.retry(_("Please choose one of the items below."))
        return
    ctx.goto("consultation_admin.confirm")


def _drafted(ctx: Context) -> Consultation:
    d = ctx.draft
    starts_at, ends_at = from_db(d["starts_at"]), from_db(d["ends_at"])
    assert starts_at is not None and ends_at is not None
    return Consultation(
        id=0, title=d["title"], description=d.get("description", ""), level=d["level"],
        kecamatan_code=d.get("kecamatan_code"), desa_code=d.get("desa_code"), place=d.get("place"),
        latitude=d.get("latitude"), longitude=d.get("longitude"), online_url=d.get("online_url"),
        starts_at=starts_at, ends_at=ends_at, capacity=d.get("capacity"), programme_id=d.get("programme_id"),
        proposals_open=True, outcome=None, outcome_at=None, created_by=ctx.user.id,
    )


async def ask_confirm(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    ctx.say(_("Please check the consultation:") + "\n\n" + await describe(ctx.store, _drafted(ctx)),
            [Option(_("Save"), "save"), Option(_("Cancel"), "cancel")])


async def handle_confirm(ctx: Context) -> None:
    ctx.require_official("consultation.create")
    if ctx.choice == "cancel":
        ctx.finish(_("Cancelled. Nothing was saved."))
        return
    if ctx.choice != "save":
        ctx.retry(_("Please choose one of the items below."))
        return
    draft = _drafted(ctx)
    require_area_official(ctx, "consultation.create", draft.kecamatan_code)
    problem = check_times(draft.starts_at, draft.ends_at, ctx.now)
    if problem:
        ctx.say(problem)
        ctx.goto("consultation_admin.start")
        return
    consultation_id = await ctx.store.consultations.create(NewConsultation(
        draft.title, draft.description, draft.level, draft.kecamatan_code, draft.desa_code, draft.place,
        draft.latitude, draft.longitude, draft.online_url, draft.starts_at, draft.ends_at, draft.capacity,
        draft.programme_id, ctx.user.id), ctx.now)
    await ctx.audit("consultation.create", consultation_id=consultation_id, level=draft.level,
                    kecamatan_code=draft.kecamatan_code, desa_code=draft.desa_code)
    ctx.draft.clear()
    ctx.draft["consultation_id"] = consultation_id
    ctx.say(_("Saved. Citizens of the area can now see it and register."))
    ctx.goto("consultation_admin.detail")


# --- one consultation -------------------------------------------------------------------------------

async def ask_detail(ctx: Context) -> None:
    consultation = await _managed(ctx, "consultation.view", ctx.draft.get("consultation_id"))
    if consultation is None:
        _gone(ctx)
        return
    c = consultation
    counts = await ctx.store.consultations.counts(c.id)
    proposals = await ctx.store.consultations.count_proposals(c.id)
    summary = _("Registered: {registered}{capacity} · waiting list: {waiting} · attended: {attended} · "
                "proposals: {proposals}").format(
        registered=counts["registered"], capacity=f"/{c.capacity}" if c.capacity else "", waiting=counts["waiting"],
        attended=counts["attended"], proposals=proposals)
    lines = [await describe(ctx.store, c), "", summary,
             _("Proposals are open.") if c.proposals_open else _("Proposals are closed.")]
    if c.outcome_at:
        lines.append(_("Outcome sent on {when}.").format(when=format_datetime(c.outcome_at)))
    options = [Option(_("Registrants and attendance"), f"conadm:registrants:{c.id}"),
               Option(_("Proposals by support"), f"conadm:proposals:{c.id}"),
               Option(_("Close proposals") if c.proposals_open else _("Open proposals"), f"conadm:toggle:{c.id}")]
    if ctx.now >= c.starts_at:
        options.append(Option(_("Send the outcome"), f"conadm:outcome:{c.id}"))
    options += [Option(_("All consultations"), "go:consultation_admin"),
                Option(_("Officials' menu"), "go:menu_official")]
    ctx.say("\n".join(lines), options)


async def handle_choose(ctx: Context) -> None:
    ctx.require_official("consultation.view")
    ctx.retry(_("Please choose one of the items below."))


async def ask_registrants(ctx: Context) -> None:
    consultation = await _managed(ctx, "consultation.registrants", ctx.draft.get("consultation_id"))
    if consultation is None:
        _gone(ctx)
        return
    registrants = await ctx.store.consultations.registrants(consultation.id, limit=SHOWN + 1)
    await ctx.audit("consultation.registrants", consultation_id=consultation.id)
    counts = await ctx.store.consultations.counts(consultation.id)
    lines = [_("{title}: {registered} registered, {attended} attended, {waiting} waiting.").format(
        title=consultation.title, registered=counts["registered"], attended=counts["attended"],
        waiting=counts["waiting"])]
    for number, person in enumerate(registrants[:SHOWN], start=1):
        r = person.registration
        if r.state == "waiting":
            status = _("waiting list")
        elif r.attended_at:
            status = _("attended {when}").format(when=format_datetime(r.attended_at))
        else:
            status = _("not checked in")
        lines.append(f"{number}. {person.display_name or '-'} · {r.code} · {status}")
    if len(registrants) > SHOWN:
        lines.append(_("…and more; the counts above include everyone."))
    lines.append(_("To check someone in at the door, send HADIR and their code."))
    ctx.say("\n".join(lines), [Option(_("Back to the consultation"), f"conadm:open:{consultation.id}")])


async def ask_proposals(ctx: Context) -> None:
    consultation = await _managed(ctx, "consultation.proposals", ctx.draft.get("consultation_id"))
    if consultation is None:
        _gone(ctx)
        return
    proposals = await ctx.store.consultations.proposals(consultation.id, limit=SHOWN)
    if not proposals:
        ctx.say(_("No proposals yet."), [Option(_("Back to the consultation"), f"conadm:open:{consultation.id}")])
        return
    lines = [_("Proposals for {title}, most supported first:").format(title=consultation.title)]
    for number, p in enumerate(proposals, start=1):
        lines.append(_("{number}. {title} ({supporters} supporters, {stage})").format(
            number=number, title=p.title, supporters=p.supporters, stage=_(STAGE_LABELS[p.stage]).lower()))
    ctx.say("\n".join(lines), [Option(f"{p.title[:50]} ({p.supporters})", f"conadm:proposal:{p.id}")
                               for p in proposals[:20]]
            + [Option(_("Back to the consultation"), f"conadm:open:{consultation.id}")])


async def _managed_proposal(ctx: Context, action: str, proposal_id: int | None
                            ) -> tuple[Proposal, Consultation] | None:
    ctx.require_official(action)
    proposal = await ctx.store.consultations.proposal(proposal_id) if proposal_id else None
    consultation = await _managed(ctx, action, proposal.consultation_id) if proposal else None
    if proposal is None or consultation is None:
        return None
    return proposal, consultation


async def ask_proposal(ctx: Context) -> None:
    found = await _managed_proposal(ctx, "proposal.view", ctx.draft.get("proposal_id"))
    if found is None:
        _gone(ctx)
        return
    proposal, consultation = found
    proposer = await ctx.store.users.get(proposal.user_id) if proposal.user_id else None
    lines = [describe_proposal(proposal), "",
             _("Proposed by {name} on {when}.").format(name=(proposer.display_name if proposer else None) or "-",
                                                       when=format_datetime(proposal.created_at)),
             _("History:")]
    for change in await ctx.store.consultations.stage_history(proposal.id):
        note = f" — {change.note}" if change.note else ""
        lines.append(f"· {format_datetime(change.at)}: {_(STAGE_LABELS[change.stage])}{note}")
    options = [Option(_("Move to: {stage}").format(stage=_(STAGE_LABELS[stage])),
                      f"conadm:stage:{proposal.id}:{stage}") for stage in next_stages(proposal.stage)]
    options.append(Option(_("Back to proposals"), f"conadm:proposals:{consultation.id}"))
    ctx.say("\n".join(lines), options)


async def ask_stage_note(ctx: Context) -> None:
    found = await _managed_proposal(ctx, "proposal.stage", ctx.draft.get("proposal_id"))
    if found is None:
        _gone(ctx)
        return
    proposal, _consultation = found
    ctx.say(_("Moving \"{title}\" to: {stage}. Write a short note for the proposer and supporters (why, what "
              "next), or choose No note.").format(title=proposal.title,
                                                  stage=_(STAGE_LABELS[ctx.draft.get("stage", "proposed")])),
            [Option(_("No note"), "skip"), Option(_("Cancel"), f"conadm:proposal:{proposal.id}")])


async def handle_stage_note(ctx: Context) -> None:
    found = await _managed_proposal(ctx, "proposal.stage", ctx.draft.get("proposal_id"))
    if found is None:
        _gone(ctx)
        return
    proposal, consultation = found
    if ctx.choice == "skip":
        note = None
    else:
        note = bounded_text(ctx, 3, NOTE_MAX)
        if note is None:
            return
    stage = ctx.draft.get("stage")
    if stage not in next_stages(proposal.stage):
        ctx.say(_("That stage change is no longer possible; the proposal is now at: {stage}.").format(
            stage=_(STAGE_LABELS[proposal.stage])))
        ctx.goto("consultation_admin.proposal")
        return
    await ctx.store.consultations.set_stage(proposal.id, stage, note, ctx.user.id, ctx.now)

    def compose() -> list[Reply]:
        lines = [_("News about the proposal \"{title}\" ({consultation}): it is now at the stage: {stage}.").format(
            title=proposal.title, consultation=consultation.title, stage=_(STAGE_LABELS[stage]))]
        if note:
            lines.append(_("Note from the officials: {note}").format(note=note))
        return [Reply("\n".join(lines), (Option(_("See the proposal"), f"cons:proposal:{proposal.id}"),))]

    audience = await ctx.store.consultations.proposal_audience(proposal.id)
    told = await notify(ctx.store, audience, "proposal_stage", compose, ctx.now,
                        template_vars=lambda: {"1": proposal.title, "2": _(STAGE_LABELS[stage])},
                        default_locale=ctx.services.default_locale)
    await ctx.audit("proposal.stage", proposal_id=proposal.id, stage=stage, notified=told)
    ctx.say(_("Done. The proposal is now at: {stage}. {count} people were told.").format(
        stage=_(STAGE_LABELS[stage]), count=told))
    ctx.draft.pop("stage", None)
    ctx.goto("consultation_admin.proposal")


async def ask_outcome(ctx: Context) -> None:
    consultation = await _managed(ctx, "consultation.outcome", ctx.draft.get("consultation_id"))
    if consultation is None:
        _gone(ctx)
        return
    ctx.say(_("Write the outcome (hasil / notulen) of {title}. It goes to everyone who registered or attended.")
            .format(title=consultation.title),
            [Option(_("Cancel"), f"conadm:open:{consultation.id}")])


async def handle_outcome(ctx: Context) -> None:
    ctx.require_official("consultation.outcome")
    outcome = bounded_text(ctx, *OUTCOME)
    if outcome:
        ctx.draft["outcome"] = outcome
        ctx.goto("consultation_admin.outcome_confirm")


def _outcome_replies(consultation: Consultation, outcome: str) -> list[Reply]:
    return [Reply(_("Outcome of {title} ({when}):").format(title=consultation.title,
                                                          when=format_datetime(consultation.starts_at))
                  + "\n\n" + outcome,
                  (Option(_("See details"), f"cons:open:{consultation.id}"),))]


async def ask_outcome_confirm(ctx: Context) -> None:
    consultation = await _managed(ctx, "consultation.outcome", ctx.draft.get("consultation_id"))
    if consultation is None or not ctx.draft.get("outcome"):
        _gone(ctx)
        return
    audience = await ctx.store.consultations.outcome_audience(consultation.id)
    lines = [_("This is what people will receive:"), "", _outcome_replies(consultation, ctx.draft["outcome"])[0].text,
             "", _("It goes to {count} people.").format(count=len(audience))]
    if consultation.outcome_at:
        lines.append(_("An outcome was already sent on {when}; this one will be sent again to everyone.").format(
            when=format_datetime(consultation.outcome_at)))
    ctx.say("\n".join(lines), [Option(_("Send"), "send"), Option(_("Cancel"), f"conadm:open:{consultation.id}")])


async def handle_outcome_confirm(ctx: Context) -> None:
    consultation = await _managed(ctx, "consultation.outcome", ctx.draft.get("consultation_id"))
    if consultation is None:
        _gone(ctx)
        return
    if ctx.choice != "send":
        ctx.retry(_("Please choose one of the items below."))
        return
    if ctx.now < consultation.starts_at:
        ctx.say(_("The outcome can be sent once the consultation has started."))
        ctx.goto("consultation_admin.detail")
        return
    outcome = ctx.draft["outcome"]
    await ctx.store.consultations.set_outcome(consultation.id, outcome, ctx.now)
    audience = await ctx.store.consultations.outcome_audience(consultation.id)
    told = await notify(ctx.store, audience, "consultation_outcome",
                        lambda: _outcome_replies(consultation, outcome), ctx.now, priority=PRIORITY_BULK,
                        group_id=f"consultation_outcome:{consultation.id}",
                        template_vars=lambda: {"1": consultation.title},
                        default_locale=ctx.services.default_locale)
    await ctx.audit("consultation.outcome", consultation_id=consultation.id, notified=told)
    ctx.draft.pop("outcome", None)
    ctx.say(_("The outcome was sent to {count} people.").format(count=told))
    ctx.goto("consultation_admin.detail")


# --- actions ----------------------------------------------------------------------------------------

async def official_action(ctx: Context, args: str) -> None:
    """`conadm:<verb>:<id>[:<stage>]` from the officials' screens."""
    verb, _sep, rest = args.partition(":")
    ctx.require_official(f"consultation.{verb}"[:60])
    if verb in ("proposal", "stage"):
        proposal_id_text, _sep, stage = rest.partition(":")
        found = await _managed_proposal(ctx, f"proposal.{verb}", parse_id(proposal_id_text))
        if found is None:
            _gone(ctx)
            return
        proposal, consultation = found
        ctx.draft.update(consultation_id=consultation.id, proposal_id=proposal.id)
        if verb == "stage":
            if stage not in next_stages(proposal.stage):
                ctx.say(_("That stage change is no longer possible; the proposal is now at: {stage}.").format(
                    stage=_(STAGE_LABELS[proposal.stage])))
                ctx.goto("consultation_admin.proposal")
                return
            ctx.draft["stage"] = stage
            ctx.goto("consultation_admin.stage_note")
        else:
            ctx.goto("consultation_admin.proposal")
        return
    consultation = await _managed(ctx, f"consultation.{verb}"[:60], parse_id(rest))
    if consultation is None:
        _gone(ctx)
        return
    ctx.draft["consultation_id"] = consultation.id
    if verb == "registrants":
        ctx.goto("consultation_admin.registrants")
    elif verb == "proposals":
        ctx.goto("consultation_admin.proposals")
    elif verb == "toggle":
        await ctx.store.consultations.set_proposals_open(consultation.id, not consultation.proposals_open)
        await ctx.audit("consultation.proposals_open", consultation_id=consultation.id,
                        open=not consultation.proposals_open)
        ctx.goto("consultation_admin.detail")
    elif verb == "outcome":
        if ctx.now < consultation.starts_at:
            ctx.say(_("The outcome can be sent once the consultation has started."))
            ctx.goto("consultation_admin.detail")
        else:
            ctx.goto("consultation_admin.outcome")
    else:
        ctx.goto("consultation_admin.detail")


FLOW = Flow(
    "consultation_admin",
    {
        START: Step(ask_main, handle_main),
        "consultation_admin.title": Step(ask_title, handle_title),
        "consultation_admin.description": Step(ask_description, handle_description),
        **official_area_steps("consultation_admin", "consultation.create", "consultation_admin.place", key="level",
                              question=N_("For which level is it?"), labels=LEVEL_LABELS),
        "consultation_admin.place": Step(ask_place, handle_place),
        "consultation_admin.pin": Step(ask_pin, handle_pin),
        "consultation_admin.link": Step(ask_link, handle_link),
        "consultation_admin.start": Step(ask_start, handle_start),
        "consultation_admin.end": Step(ask_end, handle_end),
        "consultation_admin.capacity": Step(ask_capacity, handle_capacity),
        "consultation_admin.topic": Step(ask_topic, handle_topic),
        "consultation_admin.confirm": Step(ask_confirm, handle_confirm),
        "consultation_admin.detail": Step(ask_detail, handle_choose),
        "consultation_admin.registrants": Step(ask_registrants, handle_choose),
        "consultation_admin.proposals": Step(ask_proposals, handle_choose),
        "consultation_admin.proposal": Step(ask_proposal, handle_choose),
        "consultation_admin.stage_note": Step(ask_stage_note, handle_stage_note),
        "consultation_admin.outcome": Step(ask_outcome, handle_outcome),
        "consultation_admin.outcome_confirm": Step(ask_outcome_confirm, handle_outcome_confirm),
    },
    start=START,
    official_only=True,
)


def register(registry: Registry) -> None:
    registry.add_flow(FLOW)
    registry.add_action("conadm", official_action)
    registry.add_menu(N_("Public consultations"), "go:consultation_admin", 20, official=True)
