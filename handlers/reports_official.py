"""Officials' side of Laporan: list with filters and paging, open one, change status, assign a unit, export.

Every step and action checks the role server side (`ctx.require_official`), and an official limited to
one kecamatan sees and acts on that kecamatan only. Allowed acts are written to the audit log.

```mermaid
stateDiagram-v2
    [*] --> reports_admin.list: Laporan warga / radm:overdue
    reports_admin.list --> reports_admin.filter_status
    reports_admin.list --> reports_admin.filter_category
    reports_admin.list --> reports_admin.filter_kecamatan
    reports_admin.filter_kecamatan --> reports_admin.filter_desa
    reports_admin.filter_status --> reports_admin.list
    reports_admin.filter_category --> reports_admin.list
    reports_admin.filter_desa --> reports_admin.list
    reports_admin.list --> reports_admin.view: radm:open:<id>
    reports_admin.view --> reports_admin.status
    reports_admin.status --> reports_admin.note
    reports_admin.note --> reports_admin.view: saved, reporter and supporters notified
    reports_admin.view --> reports_admin.assign
    reports_admin.assign --> reports_admin.view
    [*] --> report_unit.choose: Unit kerja saya
```
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from handlers import area_picker
from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_, _, current_locale, format_date, format_datetime
from handlers.notify import notify
from handlers.report_lifecycle import (
    NOTE_REQUIRED,
    STATUS_LABELS,
    TRANSITIONS,
    category_name,
    change_status,
    due_date_text,
    history_lines,
    may_act_on,
    osm_link,
    place_text,
    status_label,
    unit_name,
)
from handlers.reports import stay
from handlers.types import Option, Reply
from storage.db import Store
from storage.reports import OPEN_STATUSES, STATUSES, Report, ReportFilter
from storage.users import User

LIST = "reports_admin.list"
FILTER_STATUS = "reports_admin.filter_status"
FILTER_CATEGORY = "reports_admin.filter_category"
FILTER_KECAMATAN = "reports_admin.filter_kecamatan"
FILTER_DESA = "reports_admin.filter_desa"
VIEW = "reports_admin.view"
STATUS = "reports_admin.status"
NOTE = "reports_admin.note"
ASSIGN = "reports_admin.assign"
UNIT = "report_unit.choose"

PAGE_SIZE = 5
MIN_NOTE = 3
MAX_NOTE = 1000
MAX_EXPORT_ROWS = 20000
HISTORY_SHOWN = 15
_SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _limit(user: User) -> str | None:
    """The kecamatan an official is limited to (admins never are)."""
    return None if user.is_admin else user.official_kecamatan_code


def _filters(ctx: Context) -> dict[str, Any]:
    return ctx.draft.setdefault("filters", {})


def current_filter(ctx: Context) -> ReportFilter:
    """The list's filters as a query; an official limited to a kecamatan never sees beyond it."""
    chosen = ctx.draft.get("filters", {})
    status = chosen.get("status", "open")
    statuses = OPEN_STATUSES if status == "open" else () if status == "all" else (status,)
    limit = _limit(ctx.user)
    kecamatan = limit or chosen.get("kecamatan")
    desa = chosen.get("desa") if not limit or (chosen.get("desa") or "").startswith(limit) else None
    return ReportFilter(statuses=statuses, category_code=chosen.get("category"), kecamatan_code=kecamatan,
                        desa_code=desa, overdue_at=ctx.now if chosen.get("overdue") else None)


async def _describe_filter(ctx: Context) -> str:
    chosen = ctx.draft.get("filters", {})
    status = chosen.get("status", "open")
    parts = [_("open") if status == "open" else _("all statuses") if status == "all" else status_label(status)]
    if chosen.get("category"):
        parts.append(await category_name(ctx.store, chosen["category"]))
    wanted = current_filter(ctx)
    if wanted.desa_code:
        desa = await ctx.store.areas.desa(wanted.desa_code)
        parts.append(_("Desa {desa}").format(desa=desa.name if desa else wanted.desa_code))
    elif wanted.kecamatan_code:
        kecamatan = await ctx.store.areas.kecamatan(wanted.kecamatan_code)
        parts.append(_("Kecamatan {kecamatan}").format(
            kecamatan=kecamatan.name if kecamatan else wanted.kecamatan_code))
    if chosen.get("overdue"):
        parts.append(_("overdue only"))
    return ", ".join(parts)


# --- reports_admin.list ------------------------------------------------------------------------------

async def ask_list(ctx: Context) -> None:
    ctx.require_official("report.list")
    wanted = current_filter(ctx)
    total = await ctx.store.reports.count(wanted)
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    page = min(max(int(ctx.draft.get("page", 0)), 0), pages - 1)
    ctx.draft["page"] = page
    rows = await ctx.store.reports.search(wanted, PAGE_SIZE, page * PAGE_SIZE)
    lines = [_("Citizen reports ({filters}): {total} found, page {page} of {pages}.").format(
        filters=await _describe_filter(ctx), total=total, page=page + 1, pages=pages)]
    if not rows:
        lines.append(_("No reports match these filters."))
    for report in rows:
        desa = await ctx.store.areas.desa(report.desa_code)
        line = f"- {report.number} · {status_label(report.status)} · " \
               f"{await category_name(ctx.store, report.category_code)} · {desa.name if desa else '-'} · " \
               f"{format_date(report.created_at, 'medium')}"
        if report.is_overdue(ctx.now):
            line += " · " + _("OVERDUE")
        lines.append(line)
    options = [Option(report.number, f"radm:open:{report.id}") for report in rows]
    if page > 0:
        options.append(Option(_("Previous page"), "page:prev"))
    if page < pages - 1:
        options.append(Option(_("Next page"), "page:next"))
    overdue_only = ctx.draft.get("filters", {}).get("overdue")
    options += [
        Option(_("Filter by status"), "filter:status"),
        Option(_("Filter by category"), "filter:category"),
        Option(_("Filter by area"), "filter:area"),
        Option(_("All deadlines") if overdue_only else _("Overdue only"), "filter:overdue"),
        Option(_("Clear filters"), "filter:clear"),
        Option(_("Export CSV"), "report:export"),
        Option(_("Officials' menu"), "go:menu_official"),
    ]
    ctx.say("\n".join(lines), options)


async def handle_list(ctx: Context) -> None:
    ctx.require_official("report.list")
    choice = ctx.choice
    if choice in ("page:prev", "page:next"):
        ctx.draft["page"] = int(ctx.draft.get("page", 0)) + (1 if choice == "page:next" else -1)
        ctx.reask = True
    elif choice == "filter:status":
        ctx.goto(FILTER_STATUS)
    elif choice == "filter:category":
        ctx.goto(FILTER_CATEGORY)
    elif choice == "filter:area":
        ctx.goto(FILTER_KECAMATAN)
    elif choice == "filter:overdue":
        _filters(ctx)["overdue"] = not _filters(ctx).get("overdue")
        ctx.draft["page"] = 0
        ctx.reask = True
    elif choice == "filter:clear":
        ctx.draft["filters"] = {}
        ctx.draft["page"] = 0
        ctx.reask = True
    else:
        ctx.retry(_("Please choose a report or one of the options below."))


def _set_filter(ctx: Context, **values: object) -> None:
    _filters(ctx).update(values)
    ctx.draft["page"] = 0
    ctx.goto(LIST)


async def ask_filter_status(ctx: Context) -> None:
    ctx.require_official("report.list")
    options = [Option(_("All open reports"), "fstatus:open"), Option(_("All statuses"), "fstatus:all")]
    options += [Option(_(STATUS_LABELS[status]), f"fstatus:{status}") for status in STATUSES]
    ctx.say(_("Show reports with which status?"), options)


async def handle_filter_status(ctx: Context) -> None:
    ctx.require_official("report.list")
    status = ctx.choice[8:] if ctx.choice and ctx.choice.startswith("fstatus:") else None
    if status not in ("open", "all", *STATUSES):
        ctx.retry(_("Please choose one of the options below."))
        return
    _set_filter(ctx, status=status)


async def ask_filter_category(ctx: Context) -> None:
    ctx.require_official("report.list")
    categories = await ctx.store.reports.categories.list(include_inactive=True)
    ctx.say(_("Show reports of which category?"),
            [Option(_("All categories"), "fcat:all")]
            + [Option(c.name(current_locale()), f"fcat:{c.code}") for c in categories])


async def handle_filter_category(ctx: Context) -> None:
    ctx.require_official("report.list")
    code = ctx.choice[5:] if ctx.choice and ctx.choice.startswith("fcat:") else ""
    if code == "all":
        _set_filter(ctx, category=None)
    elif code and await ctx.store.reports.categories.get(code):
        _set_filter(ctx, category=code)
    else:
        ctx.retry(_("Please choose one of the options below."))


async def ask_filter_kecamatan(ctx: Context) -> None:
    ctx.require_official("report.list")
    limit = _limit(ctx.user)
    if limit:
        ctx.draft["kecamatan_code"] = limit
        ctx.goto(FILTER_DESA)
        return
    kecamatan = await ctx.store.areas.kecamatan_list()
    ctx.say(_("Show reports from which kecamatan? Choose one, or type a kecamatan or desa name."),
            [Option(_("All areas"), "farea:all")] + [Option(k.name, f"kec:{k.code}") for k in kecamatan])


async def handle_filter_kecamatan(ctx: Context) -> None:
    ctx.require_official("report.list")
    if ctx.choice == "farea:all":
        _set_filter(ctx, kecamatan=None, desa=None)
        return
    desa_code = await area_picker.handle_kecamatan(ctx, FILTER_DESA)
    if desa_code:
        desa = await ctx.store.areas.desa(desa_code)
        assert desa is not None
        _set_filter(ctx, kecamatan=desa.kecamatan_code, desa=desa.code)


async def ask_filter_desa(ctx: Context) -> None:
    ctx.require_official("report.list")
    kecamatan = await ctx.store.areas.kecamatan(ctx.draft.get("kecamatan_code") or "")
    if kecamatan is None:
        ctx.goto(FILTER_KECAMATAN)
        return
    options = [Option(_("All of Kecamatan {kecamatan}").format(kecamatan=kecamatan.name), "farea:kec")]
    options += [Option(d.name, f"desa:{d.code}") for d in await ctx.store.areas.desa_list(kecamatan.code)]
    if not _limit(ctx.user):
        options.append(Option(_("Another kecamatan"), "area:back"))
    ctx.say(_("Which desa in {kecamatan}?").format(kecamatan=kecamatan.name), options)


async def handle_filter_desa(ctx: Context) -> None:
    kecamatan_code = ctx.draft.get("kecamatan_code")
    ctx.require_official("report.list", kecamatan_code=kecamatan_code)
    if ctx.choice == "farea:kec":
        _set_filter(ctx, kecamatan=kecamatan_code, desa=None)
        return
    desa_code = await area_picker.handle_desa(ctx, FILTER_KECAMATAN)
    if desa_code:
        ctx.require_official("report.list", kecamatan_code=desa_code)
        desa = await ctx.store.areas.desa(desa_code)
        assert desa is not None
        _set_filter(ctx, kecamatan=desa.kecamatan_code, desa=desa.code)


# --- reports_admin.view ------------------------------------------------------------------------------

async def reporter_lines(store: Store, report: Report, viewer: User) -> list[str]:
    """The reporter as an official sees them: anonymous has no name; a confidential reporter's name and phone
    number only for the officials handling the report. Only WhatsApp gives us a phone number."""
    if report.privacy == "anonim" or report.reporter_user_id is None:
        return [_("Reporter: {name}").format(name=_("Anonymous (no name kept)"))]
    if report.privacy == "rahasia" and viewer.id not in await store.reports.handler_ids(report):
        return [_("Reporter: {name}").format(name=_("Confidential: only the officials handling it see the name"))]
    reporter = await store.users.get(report.reporter_user_id)
    name = (reporter.display_name if reporter else None) or "-"
    lines = [_("Reporter: {name}").format(
        name=_("{name} (confidential)").format(name=name) if report.privacy == "rahasia" else name)]
    if reporter is not None and reporter.channel == "whatsapp":
        lines.append(_("Phone: {number}").format(number=reporter.external_id))
    return lines


async def official_detail(store: Store, report: Report, viewer: User, now: datetime) -> str:
    lines = [
        f"{report.number} · {await category_name(store, report.category_code)}",
        _("Status: {status}").format(status=status_label(report.status)),
        _("Sent: {date}").format(date=format_datetime(report.created_at)),
        *await reporter_lines(store, report, viewer),
        _("Place: {place}").format(place=await place_text(store, report)),
    ]
    if report.latitude is not None and report.longitude is not None:
        lines.append(_("Map: {link}").format(link=osm_link(report.latitude, report.longitude)))
    lines.append(_("Unit: {unit}").format(unit=await unit_name(store, report.unit_code) or _("not assigned")))
    due_at = report.due_at()
    if due_at is not None:
        key = (_("Verification due: {date}") if report.status == "baru" else _("First follow-up due: {date}"))
        lines.append(key.format(date=due_date_text(due_at)) + (" · " + _("OVERDUE") if now >= due_at else ""))
    rating = await store.reports.rating(report.id, report.reopen_count)
    lines.append(_("Supporters: {count}").format(count=await store.reports.supporter_count(report.id)))
    if rating is not None:
        lines.append(_("Rating: {rating} of 5").format(rating=rating))
    if report.reopen_count:
        lines.append(_("Reopened {count} times").format(count=report.reopen_count))
    lines.append(_("Description: {description}").format(description=report.description))
    lines += ["", _("History:")]
    lines += await history_lines(store, report, HISTORY_SHOWN, for_official=True)
    return "\n".join(lines)


async def _current_report(ctx: Context, action: str) -> Report | None:
    """The report being worked on, after checking the official may act on its kecamatan."""
    report = await ctx.store.reports.get(int(ctx.draft.get("report_id", 0)))
    if report is not None:
        ctx.require_official(action, kecamatan_code=report.kecamatan_code)
    return report


async def ask_view(ctx: Context) -> None:
    ctx.require_official("report.view")
    report = await _current_report(ctx, "report.view")
    if report is None:
        ctx.say(_("That report does not exist."))
        ctx.goto(LIST)
        return
    await ctx.audit("report.view", report=report.number)
    options = []
    if report.status in TRANSITIONS:
        options.append(Option(_("Change status"), "radm:status"))
    options += [Option(_("Assign to a unit"), "radm:assign"), Option(_("Back to the list"), "radm:list"),
                Option(_("Officials' menu"), "go:menu_official")]
    ctx.say(await official_detail(ctx.store, report, ctx.user, ctx.now), options,
            media=tuple(await ctx.store.reports.photos(report.id)))


async def handle_view(ctx: Context) -> None:
    ctx.require_official("report.view")
    if ctx.choice == "radm:status":
        ctx.goto(STATUS)
    elif ctx.choice == "radm:assign":
        ctx.goto(ASSIGN)
    elif ctx.choice == "radm:list":
        ctx.goto(LIST)
    else:
        ctx.retry(_("Please choose one of the options below."))


# --- reports_admin.status, reports_admin.note --------------------------------------------------------

async def ask_status(ctx: Context) -> None:
    ctx.require_official("report.status")
    report = await _current_report(ctx, "report.status")
    if report is None or report.status not in TRANSITIONS:
        ctx.say(_("The status of this report can no longer be changed."))
        ctx.goto(VIEW if report else LIST)
        return
    ctx.say(_("{number} is now \"{status}\". Move it to:").format(number=report.number,
                                                                   status=status_label(report.status)),
            [Option(status_label(s), f"to:{s}") for s in TRANSITIONS[report.status]]
            + [Option(_("Back"), "radm:back")])


async def handle_status(ctx: Context) -> None:
    ctx.require_official("report.status")
    report = await _current_report(ctx, "report.status")
    if ctx.choice == "radm:back" or report is None:
        ctx.goto(VIEW)
        return
    status = ctx.choice[3:] if ctx.choice and ctx.choice.startswith("to:") else None
    if status not in TRANSITIONS.get(report.status, ()):
        ctx.retry(_("Please choose one of the options below."))
        return
    ctx.draft["new_status"] = status
    ctx.goto(NOTE)


async def ask_note(ctx: Context) -> None:
    ctx.require_official("report.status")
    status = ctx.draft.get("new_status")
    if status not in STATUS_LABELS:
        ctx.goto(STATUS)
        return
    if status in NOTE_REQUIRED:
        ctx.say(_("Write the note to the citizen for \"{status}\" (required, at most {limit} characters).").format(
            status=status_label(status), limit=MAX_NOTE), [Option(_("Back"), "radm:back")])
    else:
        ctx.say(_("Write a note to the citizen, or choose \"No note\"."),
                [Option(_("No note"), "note:none"), Option(_("Back"), "radm:back")])


async def handle_note(ctx: Context) -> None:
    ctx.require_official("report.status")
    report = await _current_report(ctx, "report.status")
    status = ctx.draft.get("new_status")
    if ctx.choice == "radm:back" or report is None:
        ctx.goto(STATUS)
        return
    if status not in TRANSITIONS.get(report.status, ()):
        ctx.say(_("Someone changed this report in the meantime. Please look again."))
        ctx.goto(VIEW)
        return
    note: str | None = None
    if ctx.choice != "note:none" or status in NOTE_REQUIRED:
        note = ctx.text
        if not MIN_NOTE <= len(note) <= MAX_NOTE:
            ctx.retry(_("Please write the note in {low} to {high} characters.").format(low=MIN_NOTE, high=MAX_NOTE))
            return
    await change_status(ctx.store, report, status, ctx.now, ctx.services.timezone, actor=ctx.user, note=note,
                        default_locale=ctx.services.default_locale)
    await ctx.audit("report.status", report=report.number, status=status)
    ctx.draft.pop("new_status", None)
    ctx.say(_("Saved: {number} is now \"{status}\". The reporter and supporters are notified.").format(
        number=report.number, status=status_label(status)))
    ctx.goto(VIEW)


# --- reports_admin.assign ----------------------------------------------------------------------------

async def ask_assign(ctx: Context) -> None:
    ctx.require_official("report.assign")
    report = await _current_report(ctx, "report.assign")
    if report is None:
        ctx.goto(LIST)
        return
    units = await ctx.store.reports.units.list()
    ctx.say(_("Assign {number} to which unit? Now: {unit}.").format(
        number=report.number, unit=await unit_name(ctx.store, report.unit_code) or _("not assigned")),
        [Option(u.name(current_locale()), f"unit:{u.code}") for u in units] + [Option(_("Back"), "radm:back")])


async def handle_assign(ctx: Context) -> None:
    ctx.require_official("report.assign")
    report = await _current_report(ctx, "report.assign")
    if ctx.choice == "radm:back" or report is None:
        ctx.goto(VIEW)
        return
    unit = await ctx.store.reports.units.get(ctx.choice[5:] if ctx.choice and ctx.choice.startswith("unit:") else "")
    if unit is None or not unit.active:
        ctx.retry(_("Please choose one of the units below."))
        return
    if unit.code != report.unit_code:
        await ctx.store.reports.update(report.id, ctx.now, unit_code=unit.code)
        await ctx.store.reports.add_history(report.id, ctx.now, "assigned", ctx.user.id, status=report.status,
                                            unit_code=unit.code)
        await ctx.audit("report.assign", report=report.number, unit=unit.code)
        members = [u for u in await ctx.store.reports.units.members(unit.code)
                   if u.id != ctx.user.id and may_act_on(u, report.kecamatan_code)]
        category = await ctx.store.reports.categories.get(report.category_code)

        def compose() -> list[Reply]:
            return [Reply(_("Report {number} ({category}) was assigned to your unit, {unit}.").format(
                number=report.number, category=category.name(current_locale()) if category else "",
                unit=unit.name(current_locale())), (Option(_("Open the report"), f"radm:open:{report.id}"),))]

        await notify(ctx.store, members, "report_assigned", compose, ctx.now,
                     template_vars=lambda: {"1": report.number, "2": unit.name(current_locale())},
                     default_locale=ctx.services.default_locale)
    ctx.say(_("Saved: {number} is assigned to {unit}.").format(number=report.number,
                                                               unit=unit.name(current_locale())))
    ctx.goto(VIEW)


REPORTS_ADMIN_FLOW = Flow(
    "reports_admin",
    {
        LIST: Step(ask_list, handle_list),
        FILTER_STATUS: Step(ask_filter_status, handle_filter_status),
        FILTER_CATEGORY: Step(ask_filter_category, handle_filter_category),
        FILTER_KECAMATAN: Step(ask_filter_kecamatan, handle_filter_kecamatan),
        FILTER_DESA: Step(ask_filter_desa, handle_filter_desa),
        VIEW: Step(ask_view, handle_view),
        STATUS: Step(ask_status, handle_status),
        NOTE: Step(ask_note, handle_note),
        ASSIGN: Step(ask_assign, handle_assign),
    },
    start=LIST,
    official_only=True,
)


# --- report_unit.choose: which unit an official works in ---------------------------------------------

async def ask_unit(ctx: Context) -> None:
    ctx.require_official("report.unit")
    current = await ctx.store.reports.units.get(await ctx.store.reports.units.unit_of(ctx.user.id))
    units = await ctx.store.reports.units.list()
    ctx.say(_("Which unit do you work in? Reports assigned to it, and its daily overdue reminders, come to you.\n"
              "Now: {unit}").format(unit=current.name(current_locale()) if current else _("no unit")),
            [Option(u.name(current_locale()), f"myunit:{u.code}") for u in units]
            + [Option(_("No unit"), "myunit:none"), Option(_("Officials' menu"), "go:menu_official")])


async def handle_unit(ctx: Context) -> None:
    ctx.require_official("report.unit")
    code = ctx.choice[7:] if ctx.choice and ctx.choice.startswith("myunit:") else ""
    if code == "none":
        await ctx.store.reports.units.set_member(ctx.user.id, None)
        await ctx.audit("report.unit", unit=None)
        ctx.finish(_("Saved. You are not in any unit now."))
        return
    unit = await ctx.store.reports.units.get(code)
    if unit is None or not unit.active:
        ctx.retry(_("Please choose one of the units below."))
        return
    await ctx.store.reports.units.set_member(ctx.user.id, unit.code)
    await ctx.audit("report.unit", unit=unit.code)
    ctx.finish(_("Saved. You are now in {unit}.").format(unit=unit.name(current_locale())))


UNIT_FLOW = Flow("report_unit", {UNIT: Step(ask_unit, handle_unit)}, start=UNIT, official_only=True)


# --- actions: open one report, overdue list, CSV export ----------------------------------------------

async def open_action(ctx: Context, args: str) -> None:
    """`radm:open:<id>` from the list, a reminder or an assignment message."""
    ctx.require_official("report.view")
    report = await ctx.store.reports.get(int(args)) if args.isdigit() and len(args) < 12 else None
    if report is None:
        ctx.say(_("That report does not exist."))
        stay(ctx)
        return
    ctx.require_official("report.view", kecamatan_code=report.kecamatan_code)
    kept = {k: ctx.draft[k] for k in ("filters", "page") if k in ctx.draft} \
        if (ctx.state or "").startswith("reports_admin.") else {}
    ctx.draft.clear()
    ctx.draft.update(kept, report_id=report.id)
    ctx.goto(VIEW)


async def overdue_action(ctx: Context, _args: str) -> None:
    """`radm:overdue`: the list of open reports past a deadline (the daily reminder's button)."""
    ctx.require_official("report.list")
    ctx.draft.clear()
    ctx.draft["filters"] = {"status": "open", "overdue": True}
    ctx.goto(LIST)


def _cell(value: object) -> str:
    """Text for a CSV cell; text a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_SPREADSHEET_FORMULA) else text


def _local(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


async def export_csv(store: Store, wanted: ReportFilter, now: datetime, tz: ZoneInfo) -> tuple[str, int]:
    """Reports as CSV text in the current language: (text, number of reports). Save it as UTF-8 with BOM.

    A confidential report never shows its reporter's name here, an anonymous one has none.
    """
    header = [_("Number"), _("Sent"), _("Category"), _("Status"), _("Unit"), _("Kecamatan"), _("Desa"),
              _("Landmark"), _("Latitude"), _("Longitude"), _("Description"), _("Privacy"), _("Reporter"),
              _("Supporters"), _("Verification due"), _("Verified"), _("First follow-up due"), _("Resolved"),
              _("Closed"), _("Rating"), _("Overdue")]
    privacy_names = {"biasa": _("Normal"), "rahasia": _("Confidential"), "anonim": _("Anonymous")}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    rows = await store.reports.export_rows(wanted, MAX_EXPORT_ROWS)
    for row in rows:
        report = row.report
        desa = await store.areas.desa(report.desa_code)
        if report.privacy == "biasa":
            reporter = row.reporter_name or ""
        else:
            reporter = _("(confidential)") if report.privacy == "rahasia" else _("(anonymous)")
        writer.writerow([_cell(value) for value in (
            report.number, _local(report.created_at, tz), await category_name(store, report.category_code),
            status_label(report.status), report.unit_code or "", desa.kecamatan_name if desa else "",
            desa.name if desa else report.desa_code, report.landmark,
            f"{report.latitude:.6f}" if report.latitude is not None else "",
            f"{report.longitude:.6f}" if report.longitude is not None else "",
            report.description, privacy_names[report.privacy], reporter, row.supporters,
            _local(report.verify_due_at, tz), _local(report.verified_at, tz), _local(report.followup_due_at, tz),
            _local(report.resolved_at, tz), _local(report.closed_at, tz), row.rating or "",
            _("yes") if report.is_overdue(now) else _("no"),
        )])
    return buffer.getvalue(), len(rows)


def _write_bom(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8-sig"))


async def export_action(ctx: Context, _args: str) -> None:
    """`report:export` (button or /ekspor_laporan): the list's current filters as a CSV file in the chat."""
    ctx.require_official("report.export")
    if (ctx.state or "").startswith("reports_admin."):
        wanted = current_filter(ctx)
    else:
        wanted = ReportFilter(kecamatan_code=_limit(ctx.user))
    text, count = await export_csv(ctx.store, wanted, ctx.now, ctx.services.timezone)
    stamp = ctx.now.astimezone(ctx.services.timezone).strftime("%Y%m%d-%H%M%S")
    path = ctx.services.media_dir / "exports" / f"laporan-{stamp}-{ctx.user.id}.csv"
    await asyncio.to_thread(_write_bom, path, text)
    await ctx.audit("report.export", count=count, file=path.name)
    ctx.say(_("Export ready: {count} reports (CSV, opens in spreadsheet programs).").format(count=count),
            files=(str(path),))
    stay(ctx)


def register(registry: Registry) -> None:
    registry.add_flow(REPORTS_ADMIN_FLOW)
    registry.add_flow(UNIT_FLOW)
    registry.add_action("radm:open", open_action)
    registry.add_action("radm:overdue", overdue_action)
    registry.add_action("report:export", export_action)
    registry.add_menu(N_("Citizen reports"), "go:reports_admin", order=10, official=True)
    registry.add_menu(N_("Overdue reports"), "radm:overdue", order=11, official=True)
    registry.add_menu(N_("My work unit"), "go:report_unit", order=12, official=True)
    registry.add_command("kelola_laporan", "go:reports_admin", official=True, description=N_("Manage citizen reports"))
    registry.add_command("ekspor_laporan", "report:export", official=True, description=N_("Export reports as CSV"))
