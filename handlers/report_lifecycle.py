"""What happens to a report after it is sent: status changes, notifications and the LAPOR! deadline clock.

Shared by the citizen flows (`handlers/reports.py`), the officials' flows (`handlers/reports_official.py`)
and the scheduler, which calls `queue_overdue_reminders` each working day at 08.00 and `auto_close`.

Deadlines (working days, `handlers/workdays.py`): verification within 3 working days of submission,
first follow-up within 5 working days of verification (or of reopening), and a report answered
"selesai" closes by itself after 10 working days unless the reporter reopens it (allowed for 14 days).

```mermaid
stateDiagram-v2
    [*] --> baru: citizen sends
    baru --> diverifikasi
    baru --> ditolak: note required
    baru --> bukan_kewenangan: note required
    diverifikasi --> diproses
    diverifikasi --> selesai: note required
    diproses --> selesai: note required
    diverifikasi --> ditolak
    diproses --> ditolak
    diverifikasi --> bukan_kewenangan
    diproses --> bukan_kewenangan
    selesai --> diverifikasi: reporter reopens (14 days)
    ditutup --> diverifikasi: reporter reopens (14 days)
    selesai --> ditutup: 10 working days without reply
```
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.i18n import N_, _, current_locale, current_timezone, format_date, set_timezone
from handlers.notify import notify
from handlers.types import Option, Reply
from handlers.workdays import deadline, due_day, is_working_day
from storage.db import Store
from storage.reports import Report, ReportFilter
from storage.users import User

VERIFY_DAYS = 3
FOLLOWUP_DAYS = 5
AUTOCLOSE_DAYS = 10
REOPEN_DAYS = 14
MAX_LISTED = 5000          # bound on what one query for overdue or auto-close work returns
REMINDER_LINES = 10

STATUS_LABELS = {
    "baru": N_("New"),
    "diverifikasi": N_("Verified"),
    "diproses": N_("In progress"),
    "selesai": N_("Resolved"),
    "ditolak": N_("Rejected"),
    "bukan_kewenangan": N_("Not our remit"),
    "ditutup": N_("Closed"),
}
# Where an official may move a report; the last three answers need a note to the citizen.
TRANSITIONS = {
    "baru": ("diverifikasi", "ditolak", "bukan_kewenangan"),
    "diverifikasi": ("diproses", "selesai", "ditolak", "bukan_kewenangan"),
    "diproses": ("selesai", "ditolak", "bukan_kewenangan"),
}
NOTE_REQUIRED = frozenset({"selesai", "ditolak", "bukan_kewenangan"})
FINAL = frozenset({"ditolak", "bukan_kewenangan", "ditutup"})


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status])


async def local_holidays(store: Store) -> frozenset[date]:
    return frozenset(await store.holidays.all())


async def due(store: Store, moment: datetime, days: int, tz: ZoneInfo) -> datetime:
    return deadline(moment, days, tz, await local_holidays(store))


async def category_name(store: Store, code: str) -> str:
    category = await store.reports.categories.get(code)
    return category.name(current_locale()) if category else code


async def unit_name(store: Store, code: str | None) -> str | None:
    unit = await store.reports.units.get(code)
    return unit.name(current_locale()) if unit else code


async def place_text(store: Store, report: Report) -> str:
    desa = await store.areas.desa(report.desa_code)
    place = (_("Desa {desa}, Kecamatan {kecamatan}").format(desa=desa.name, kecamatan=desa.kecamatan_name)
             if desa else report.desa_code)
    if report.landmark:
        place = _("{place} ({landmark})").format(place=place, landmark=report.landmark)
    return place


def osm_link(latitude: float, longitude: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}#map=18/{latitude:.6f}/{longitude:.6f}"


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def due_date_text(deadline_moment: datetime) -> str:
    """The last day a deadline (a midnight) is met, as the user reads dates."""
    return format_date(due_day(deadline_moment, current_timezone()))


def reopen_until(report: Report) -> datetime | None:
    """Midnight after the 14th day from "selesai", district time; None when it cannot be reopened."""
    if report.status not in ("selesai", "ditutup") or report.resolved_at is None:
        return None
    tz = current_timezone()
    last_day = report.resolved_at.astimezone(tz).date() + timedelta(days=REOPEN_DAYS)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)


def can_reopen(report: Report, user: User, at: datetime) -> bool:
    until = reopen_until(report)
    return until is not None and report.reporter_user_id == user.id and at < until


def may_act_on(user: User, kecamatan_code: str) -> bool:
    """The server-side rule of `Context.require_official`, for choosing whom to notify."""
    limit = user.official_kecamatan_code
    return user.is_official and (user.is_admin or not limit or kecamatan_code.startswith(limit))


async def is_visible_to_citizen(store: Store, report: Report, user: User) -> bool:
    """A citizen sees only their own reports and those they support."""
    return report.reporter_user_id == user.id or await store.reports.is_supporter(report.id, user.id)


async def change_status(store: Store, report: Report, status: str, now: datetime, tz: ZoneInfo, *,
                        actor: User | None = None, note: str | None = None, event: str = "status",
                        default_locale: str = "id") -> Report:
    """Move a report, write its history and queue the notifications, all in the caller's transaction.

    The reporter and supporters each hear of it in their own language (not the person who acted);
    after "selesai" the reporter is also asked for a rating and told until when they may reopen it.
    """
    fields: dict[str, Any] = {"status": status}
    if status == "diverifikasi":
        fields.update(verified_at=now, followup_due_at=await due(store, now, FOLLOWUP_DAYS, tz),
                      followed_up_at=None, autoclose_at=None, closed_at=None)
    elif report.status == "diverifikasi" and report.followed_up_at is None:
        fields["followed_up_at"] = now
    if status == "selesai":
        fields.update(resolved_at=now, autoclose_at=await due(store, now, AUTOCLOSE_DAYS, tz))
    if status in FINAL:
        fields["closed_at"] = now
    if event == "reopened":
        fields["reopen_count"] = report.reopen_count + 1
    async with store.transaction():
        await store.reports.update(report.id, now, **fields)
        await store.reports.add_history(report.id, now, event, actor.id if actor else None, status=status, note=note)
        updated = await store.reports.get(report.id)
        assert updated is not None
        await _notify_status(store, updated, event, note, actor, now, default_locale)
    return updated


async def _notify_status(store: Store, report: Report, event: str, note: str | None, actor: User | None,
                         now: datetime, default_locale: str) -> None:
    category = await store.reports.categories.get(report.category_code)
    actor_id = actor.id if actor else None
    reporter = await store.users.get(report.reporter_user_id) if report.reporter_user_id else None
    supporters = [u for u in await store.reports.supporters(report.id)
                  if u.id not in (actor_id, report.reporter_user_id)]

    def compose(as_supporter: bool) -> list[Reply]:
        name = category.name(current_locale()) if category else report.category_code
        if event == "closed":
            text = _("Report {number} ({category}) is now closed: it was resolved and we heard no objection "
                     "within {days} working days. Thank you.").format(
                number=report.number, category=name, days=AUTOCLOSE_DAYS)
        elif event == "reopened":
            text = _("Report {number} ({category}) was reopened by the reporter and is back in the queue.").format(
                number=report.number, category=name)
        elif as_supporter:
            text = _("Update on report {number} ({category}) that you support: it is now \"{status}\".").format(
                number=report.number, category=name, status=status_label(report.status))
        else:
            text = _("Update on your report {number} ({category}): it is now \"{status}\".").format(
                number=report.number, category=name, status=status_label(report.status))
        if note and event == "status":
            text += "\n" + _("Note from the officer: {note}").format(note=note)
        text += "\n\n" + _("Type \"status {number}\" to see its history.").format(number=report.number)
        replies = [Reply(text)]
        if report.status == "selesai" and not as_supporter:
            prompt, options = rating_prompt(report)
            replies.append(Reply(prompt, tuple(options)))
        return replies

    def template_vars() -> dict[str, str]:
        """The WhatsApp template's numbered variables (docs/whatsapp.md): number, new status, officer's note."""
        return {"1": report.number, "2": status_label(report.status),
                "3": note if note and event == "status" else "-"}

    if reporter is not None and reporter.id != actor_id:
        await notify(store, [reporter], "report_status", lambda: compose(False), now, template_vars=template_vars,
                     default_locale=default_locale)
    await notify(store, supporters, "report_status", lambda: compose(True), now, template_vars=template_vars,
                 default_locale=default_locale)


def rating_prompt(report: Report) -> tuple[str, list[Option]]:
    """Ask the reporter to rate a resolved report (1-5), with the reopen option while it is allowed."""
    until = reopen_until(report)
    text = _("Is the problem solved? Please rate how report {number} was handled, from 1 (poor) to 5 (very "
             "good).").format(number=report.number)
    options = [Option(str(n), f"report:rate:{report.id}:{n}") for n in range(1, 6)]
    if until is not None:
        text += "\n" + _("If it is not solved, choose \"Reopen\" until {date}.").format(date=due_date_text(until))
        options.append(Option(_("Reopen"), f"report:reopen:{report.id}"))
    return text, options


async def reopen(store: Store, report: Report, reporter: User, reason: str, now: datetime, tz: ZoneInfo,
                 default_locale: str = "id") -> Report:
    """Back to the queue (verified, with a new follow-up deadline); the handling officials are told."""
    async with store.transaction():
        updated = await change_status(store, report, "diverifikasi", now, tz, actor=reporter, note=reason,
                                      event="reopened", default_locale=default_locale)
        handlers = [await store.users.get(user_id) for user_id in sorted(await store.reports.handler_ids(updated))]
        officials = [u for u in handlers if u is not None and may_act_on(u, updated.kecamatan_code)]
        if not officials:
            officials = await store.users.officials(updated.kecamatan_code)
        category = await store.reports.categories.get(updated.category_code)

        def compose() -> list[Reply]:
            name = category.name(current_locale()) if category else updated.category_code
            return [Reply(
                _("Report {number} ({category}) was reopened by the citizen. Reason: {reason}").format(
                    number=updated.number, category=name, reason=reason),
                (Option(_("Open the report"), f"radm:open:{updated.id}"),),
            )]

        await notify(store, [u for u in officials if u.id != reporter.id], "report_reopened", compose, now,
                     template_vars=lambda: {"1": updated.number, "2": reason}, default_locale=default_locale)
    return updated


async def overdue(store: Store, at: datetime) -> list[Report]:
    """Reports past a deadline at time `at`: waiting for verification, or for their first follow-up."""
    return await store.reports.search(ReportFilter(overdue_at=at), limit=MAX_LISTED)


async def queue_overdue_reminders(store: Store, at: datetime, tz: ZoneInfo, default_locale: str = "id") -> int:
    """One reminder per official about the overdue reports of their unit (else of their kecamatan).

    For the scheduler, each working day at 08.00: on other days it does nothing, and a second call on
    the same day queues nothing more. Returns how many messages were queued.
    """
    set_timezone(tz)
    today = at.astimezone(tz).date()
    if not is_working_day(today, await local_holidays(store)):
        return 0
    group_id = f"report_overdue:{today.isoformat()}"
    queued = 0
    async with store.transaction():
        if await store.outbox.counts(group_id):
            return 0
        per_official: dict[int, tuple[User, list[Report]]] = {}
        for report in await overdue(store, at):
            members = await store.reports.units.members(report.unit_code) if report.unit_code else []
            recipients = [u for u in members if may_act_on(u, report.kecamatan_code)]
            for user in recipients or await store.users.officials(report.kecamatan_code):
                per_official.setdefault(user.id, (user, []))[1].append(report)
        for user, reports in per_official.values():
            def compose(reports: list[Report] = reports) -> list[Reply]:
                text = _("Reminder: {count} reports are past their deadline.").format(count=len(reports))
                text += "\n" + "\n".join(
                    _("{number} · {status} · due {date}").format(
                        number=r.number, status=status_label(r.status), date=due_date_text(r.due_at() or at))
                    for r in reports[:REMINDER_LINES])
                if len(reports) > REMINDER_LINES:
                    text += "\n" + _("…and {count} more.").format(count=len(reports) - REMINDER_LINES)
                return [Reply(text, (Option(_("Show overdue reports"), "radm:overdue"),))]

            queued += await notify(store, [user], "report_overdue", compose, at, group_id=group_id,
                                   template_vars=lambda reports=reports: {"1": str(len(reports))},
                                   default_locale=default_locale)
    return queued


async def auto_close(store: Store, at: datetime, tz: ZoneInfo, default_locale: str = "id") -> list[str]:
    """Close reports answered "selesai" whose 10 working days passed without the reporter reopening them."""
    set_timezone(tz)
    closed = []
    async with store.transaction():
        for report in await store.reports.due_for_autoclose(at):
            await change_status(store, report, "ditutup", at, tz, event="closed", default_locale=default_locale)
            closed.append(report.number)
    return closed


async def history_lines(store: Store, report: Report, limit: int, for_official: bool) -> list[str]:
    """A report's history, one line an event; officials also see ratings and plainer verbs."""
    lines = []
    for entry in await store.reports.history(report.id, limit):
        if entry.event == "rated" and not for_official:
            continue
        if entry.event == "created":
            what = _("Report received")
        elif entry.event == "assigned":
            unit = await unit_name(store, entry.unit_code)
            what = (_("Assigned to {unit}") if for_official else _("Passed to {unit}")).format(unit=unit)
        elif entry.event == "reopened":
            what = (_("Reopened by the reporter: {reason}") if for_official else _("Reopened: {reason}")).format(
                reason=entry.note or "-")
        elif entry.event == "closed":
            what = _("Closed automatically")
        elif entry.event == "rated":
            what = _("Rated {rating} of 5").format(rating=entry.note or "-")
        else:
            what = status_label(entry.status or report.status)
            if entry.note:
                what = _("{status}: {note}").format(status=what, note=entry.note)
        lines.append(f"- {format_date(entry.at, 'medium')}: {what}")
    return lines
