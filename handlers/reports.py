"""Lapor masalah (send a report), Laporan saya (follow my reports), and `status LPR-…` typed anywhere.

```mermaid
stateDiagram-v2
    [*] --> report.category: Lapor masalah
    report.category --> report.describe
    report.describe --> report.describe: too short / too long
    report.describe --> report.photos
    report.photos --> report.photos: photo 1, 2 of 3
    report.photos --> report.location: 3rd photo / Lewati / Selesai
    report.location --> report.kecamatan: Desa lain
    report.kecamatan --> report.desa
    report.desa --> report.location
    report.location --> report.privacy: pin or landmark
    report.privacy --> report.check
    report.check --> report.duplicate: similar open report nearby
    report.check --> report.summary
    report.duplicate --> menu.main: Dukung laporan ini
    report.duplicate --> report.summary: Tetap kirim
    report.summary --> report.category: Ubah … (then back to report.check)
    report.summary --> menu.main: Kirim (ticket number) / Batal

    [*] --> my_reports.list: Laporan saya
    my_reports.list --> my_reports.view
    my_reports.view --> my_reports.reopen: Buka lagi (14 days after selesai)
    my_reports.reopen --> menu.main
```

The draft holds: category, description, photos (paths), desa_code, latitude/longitude or landmark,
privacy, `editing` (came from the summary), `checked` (what the duplicate check last looked at) and
`duplicate_id`. An anonymous report keeps no link to the user: the reporter is told a check code
once, and only its hash is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from typing import Any

from rapidfuzz import fuzz, utils

from handlers import area_picker, menu
from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_, _, current_locale, format_date
from handlers.report_lifecycle import (
    VERIFY_DAYS,
    can_reopen,
    category_name,
    distance_m,
    due,
    due_date_text,
    history_lines,
    is_visible_to_citizen,
    osm_link,
    place_text,
    rating_prompt,
    reopen,
    status_label,
    unit_name,
)
from handlers.types import Option
from storage.db import Store
from storage.reports import NewReport, Report, number_for
from storage.users import User

CATEGORY = "report.category"
DESCRIBE = "report.describe"
PHOTOS = "report.photos"
LOCATION = "report.location"
KECAMATAN = "report.kecamatan"
DESA = "report.desa"
PRIVACY = "report.privacy"
CHECK = "report.check"
DUPLICATE = "report.duplicate"
SUMMARY = "report.summary"
LIST = "my_reports.list"
VIEW = "my_reports.view"
REOPEN = "my_reports.reopen"

MAX_DESCRIPTION = 1000
MIN_WORDS = 3
MIN_LANDMARK = 3
MAX_LANDMARK = 200
MAX_PHOTOS = 3
MAX_PHOTO_PATH = 500
MAX_REASON = 500
PAGE_SIZE = 5
NEAR_METRES = 200
SIMILAR_TEXT = 85          # rapidfuzz WRatio, 0-100: "very similar" descriptions in the same desa
CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"   # no 0/O, 1/I, 2/Z, 5/S, 8/B: easy to read aloud
CODE_LENGTH = 6
HISTORY_SHOWN = 10
NUMBER_PATTERN = (r"^\s*(?:(?:cek\s+)?status\s+)?LPR[\s-]*(\d{4})[\s-]*(\d{1,6})"
                  r"(?:\s+([A-Za-z0-9]{" + str(CODE_LENGTH) + r"}))?\s*$")
_NUMBER_RE = re.compile(NUMBER_PATTERN, re.IGNORECASE)

PRIVACY_LABELS = {"biasa": N_("Normal"), "rahasia": N_("Confidential"), "anonim": N_("Anonymous")}
EDITS = {
    "sum:edit:category": CATEGORY,
    "sum:edit:description": DESCRIBE,
    "sum:edit:photos": PHOTOS,
    "sum:edit:location": LOCATION,
    "sum:edit:privacy": PRIVACY,
}


def _next(ctx: Context, step: str) -> None:
    """Go on to `step`, or straight back to the summary when the user came to change one part."""
    ctx.goto(CHECK if ctx.draft.get("editing") else step)


def stay(ctx: Context) -> None:
    """After an action from any step: ask the current step again (or show the menu)."""
    if ctx.state:
        ctx.reask = True
    else:
        ctx.goto(menu.MAIN)


# --- report.category ---------------------------------------------------------------------------------

async def ask_category(ctx: Context) -> None:
    categories = await ctx.store.reports.categories.list()
    ctx.say(_("What is the problem about? Choose a category."),
            [Option(c.name(current_locale()), f"cat:{c.code}") for c in categories])


async def handle_category(ctx: Context) -> None:
    code = ctx.choice[4:] if ctx.choice and ctx.choice.startswith("cat:") else None
    category = await ctx.store.reports.categories.get(code) if code else None
    if category is None or not category.active:
        ctx.retry(_("Please choose one of the categories below."))
        return
    ctx.draft["category"] = category.code
    _next(ctx, DESCRIBE)


# --- report.describe ---------------------------------------------------------------------------------

async def ask_describe(ctx: Context) -> None:
    ctx.say(_("Please describe the problem: what is wrong, since when, and who is affected. "
              "At most {limit} characters.").format(limit=MAX_DESCRIPTION))


async def handle_describe(ctx: Context) -> None:
    text = ctx.text
    if not text:
        ctx.retry(_("Please write the description as a text message."))
    elif len(text) > MAX_DESCRIPTION:
        ctx.retry(_("That is a little long: please keep it under {limit} characters (yours has {count}).").format(
            limit=MAX_DESCRIPTION, count=len(text)))
    elif len(text.split()) < MIN_WORDS:
        ctx.retry(_("Could you tell us a little more? For example: what exactly is broken, and since when."))
    else:
        ctx.draft["description"] = text
        _next(ctx, PHOTOS)


# --- report.photos -----------------------------------------------------------------------------------

async def ask_photos(ctx: Context) -> None:
    count = len(ctx.draft.get("photos", []))
    if count == 0:
        ctx.say(_("You may send up to {limit} photos of the problem, one by one. No photo? Choose Skip.").format(
            limit=MAX_PHOTOS), [Option(_("Skip"), "photos:skip")], request="photo")
    else:
        ctx.say(_("Photo {count} of {limit} received. Send another one, or choose Done.").format(
            count=count, limit=MAX_PHOTOS), [Option(_("Done"), "photos:done")], request="photo")


async def handle_photos(ctx: Context) -> None:
    photos: list[str] = ctx.draft.setdefault("photos", [])
    sent = [m.path for m in ctx.msg.media if m.kind == "photo" and m.path and len(m.path) <= MAX_PHOTO_PATH]
    if sent:
        room = MAX_PHOTOS - len(photos)
        photos.extend(sent[:room])
        if len(sent) > room:
            ctx.say(_("Only {limit} photos fit in one report; I kept the first ones.").format(limit=MAX_PHOTOS))
        if len(photos) >= MAX_PHOTOS:
            _next(ctx, LOCATION)
        else:
            ctx.reask = True
    elif ctx.choice in ("photos:skip", "photos:done"):
        _next(ctx, LOCATION)
    elif photos:
        ctx.retry(_("Please send a photo, or choose Done."))
    else:
        ctx.retry(_("Please send a photo, or choose Skip."))


# --- report.location (+ report.kecamatan, report.desa to pick another desa) --------------------------

def _desa_code(ctx: Context) -> str | None:
    return ctx.draft.get("desa_code") or ctx.user.desa_code


async def ask_location(ctx: Context) -> None:
    desa = await ctx.store.areas.desa(_desa_code(ctx))
    ctx.say(
        _("Where exactly is the problem? Share the location pin, or type a landmark such as "
          "\"depan SD Negeri 2\".\nPlace: Desa {desa}, Kecamatan {kecamatan}. Somewhere else? "
          "Choose \"Another desa\".").format(desa=desa.name if desa else "-",
                                             kecamatan=desa.kecamatan_name if desa else "-"),
        [Option(_("Another desa"), "loc:desa")],
        request="location",
    )


async def handle_location(ctx: Context) -> None:
    location = ctx.msg.location
    if location is not None:
        if not location.valid:
            ctx.retry(_("I could not read that location. Please share it again, or type a landmark."))
            return
        ctx.draft.update(latitude=round(location.latitude, 6), longitude=round(location.longitude, 6),
                         landmark=None, desa_code=_desa_code(ctx))
        _next(ctx, PRIVACY)
    elif ctx.choice == "loc:desa":
        ctx.goto(KECAMATAN)
    elif ctx.text and not ctx.msg.media:
        if not MIN_LANDMARK <= len(ctx.text) <= MAX_LANDMARK:
            ctx.retry(_("Please describe the spot in {low} to {high} characters, e.g. \"depan SD Negeri 2\".").format(
                low=MIN_LANDMARK, high=MAX_LANDMARK))
            return
        ctx.draft.update(landmark=ctx.text, latitude=None, longitude=None, desa_code=_desa_code(ctx))
        _next(ctx, PRIVACY)
    else:
        ctx.retry(_("Please share the location pin, or type a landmark."))


async def ask_kecamatan(ctx: Context) -> None:
    await area_picker.ask_kecamatan(ctx, _("In which kecamatan is the problem? Choose one, or type its name "
                                           "(or the desa's name)."))


async def handle_kecamatan(ctx: Context) -> None:
    desa_code = await area_picker.handle_kecamatan(ctx, DESA)
    if desa_code:
        ctx.draft["desa_code"] = desa_code
        ctx.goto(LOCATION)


async def ask_desa(ctx: Context) -> None:
    await area_picker.ask_desa(ctx)


async def handle_desa(ctx: Context) -> None:
    desa_code = await area_picker.handle_desa(ctx, KECAMATAN)
    if desa_code:
        ctx.draft["desa_code"] = desa_code
        ctx.goto(LOCATION)


# --- report.privacy ----------------------------------------------------------------------------------

async def ask_privacy(ctx: Context) -> None:
    ctx.say(
        _("Who may see your name?\n"
          "- Normal: the officials see your name.\n"
          "- Confidential: only the officials handling your report see your name.\n"
          "- Anonymous: we keep no name at all, so we cannot send you updates; you get a code to check "
          "the status yourself."),
        [Option(_(label), f"privacy:{level}") for level, label in PRIVACY_LABELS.items()],
    )


async def handle_privacy(ctx: Context) -> None:
    level = ctx.choice[8:] if ctx.choice and ctx.choice.startswith("privacy:") else None
    if level not in PRIVACY_LABELS:
        ctx.retry(_("Please choose one of the three options."))
        return
    ctx.draft["privacy"] = level
    ctx.goto(CHECK)


# --- report.check, report.duplicate ------------------------------------------------------------------

async def find_duplicate(store: Store, user: User, category: str, desa_code: str, latitude: float | None,
                         longitude: float | None, description: str) -> Report | None:
    """The open report of the same category most likely about the same problem, if any.

    Within 200 m of a location pin comes first (nearest wins), then the same desa with a very similar
    description (most similar wins). The user's own reports are left out.
    """
    box = None
    if latitude is not None and longitude is not None:
        margin_lat = NEAR_METRES / 111_000 * 1.2
        margin_lon = margin_lat / max(math.cos(math.radians(latitude)), 0.01)
        box = (latitude - margin_lat, latitude + margin_lat, longitude - margin_lon, longitude + margin_lon)
    best: tuple[tuple[int, float], Report] | None = None
    for report in await store.reports.open_near(category, desa_code, box, user.id):
        score: tuple[int, float] | None = None
        if latitude is not None and longitude is not None and report.latitude is not None \
                and report.longitude is not None:
            metres = distance_m(latitude, longitude, report.latitude, report.longitude)
            if metres <= NEAR_METRES:
                score = (0, metres)
        if score is None and report.desa_code == desa_code:
            similarity = fuzz.WRatio(description, report.description, processor=utils.default_process)
            if similarity >= SIMILAR_TEXT:
                score = (1, -similarity)
        if score is not None and (best is None or score < best[0]):
            best = (score, report)
    return best[1] if best else None


async def ask_check(ctx: Context) -> None:
    """Look for a duplicate whenever what it depends on changed; then the summary."""
    d = ctx.draft
    looked_at = [d.get("category"), d.get("desa_code"), d.get("latitude"), d.get("longitude"), d.get("description")]
    if d.get("checked") != looked_at:
        d["checked"] = looked_at
        candidate = await find_duplicate(ctx.store, ctx.user, d["category"], d["desa_code"], d.get("latitude"),
                                         d.get("longitude"), d["description"])
        if candidate is not None:
            d["duplicate_id"] = candidate.id
            ctx.goto(DUPLICATE)
            return
    ctx.goto(SUMMARY)


async def ask_duplicate(ctx: Context) -> None:
    report = await ctx.store.reports.get(int(ctx.draft.get("duplicate_id", 0)))
    if report is None or not report.is_open:
        ctx.goto(SUMMARY)
        return
    snippet = report.description if len(report.description) <= 160 else report.description[:157] + "..."
    ctx.say(
        _("A similar report is already open:\n{number} · {category} · {status}\n{place}\nSent on {date}: "
          "\"{text}\"\nSupporters: {count}\n\nYou can support that report instead: you will get its updates, "
          "and the officials see that more people are affected.").format(
            number=report.number, category=await category_name(ctx.store, report.category_code),
            status=status_label(report.status), place=await place_text(ctx.store, report),
            date=format_date(report.created_at, "medium"), text=snippet,
            count=await ctx.store.reports.supporter_count(report.id)),
        [Option(_("Support this report"), "dup:support"), Option(_("Send my report anyway"), "dup:new")],
    )


async def handle_duplicate(ctx: Context) -> None:
    if ctx.choice == "dup:new":
        ctx.goto(SUMMARY)
        return
    if ctx.choice != "dup:support":
        ctx.retry(_("Please choose one of the two options."))
        return
    report = await ctx.store.reports.get(int(ctx.draft.get("duplicate_id", 0)))
    if report is None or not report.is_open:
        ctx.say(_("That report is no longer open, so your own report is needed."))
        ctx.goto(SUMMARY)
        return
    if await ctx.store.reports.add_supporter(report.id, ctx.user.id, ctx.now):
        ctx.finish(_("Thank you! You now support report {number}. We will tell you when its status changes. "
                     "Your own report was not sent.").format(number=report.number))
    else:
        ctx.finish(_("You already support report {number}. Your own report was not sent.").format(
            number=report.number))


# --- report.summary ----------------------------------------------------------------------------------

async def _draft_place(ctx: Context) -> str:
    d = ctx.draft
    desa = await ctx.store.areas.desa(d.get("desa_code"))
    place = (_("Desa {desa}, Kecamatan {kecamatan}").format(desa=desa.name, kecamatan=desa.kecamatan_name)
             if desa else "-")
    if d.get("latitude") is not None:
        return _("{place}, map pin {link}").format(place=place, link=osm_link(d["latitude"], d["longitude"]))
    return _("{place} ({landmark})").format(place=place, landmark=d.get("landmark") or "-")


async def ask_summary(ctx: Context) -> None:
    d = ctx.draft
    lines = [
        _("Please check your report:"),
        _("Category: {category}").format(category=await category_name(ctx.store, d["category"])),
        _("Description: {description}").format(description=d["description"]),
        _("Photos: {count}").format(count=len(d.get("photos", []))),
        _("Place: {place}").format(place=await _draft_place(ctx)),
        _("Privacy: {privacy}").format(privacy=_(PRIVACY_LABELS[d["privacy"]])),
        "",
        _("Send it now, or change one part."),
    ]
    ctx.say("\n".join(lines), [
        Option(_("Send report"), "sum:send"),
        Option(_("Change category"), "sum:edit:category"),
        Option(_("Change description"), "sum:edit:description"),
        Option(_("Change photos"), "sum:edit:photos"),
        Option(_("Change place"), "sum:edit:location"),
        Option(_("Change privacy"), "sum:edit:privacy"),
        Option(_("Cancel"), "sum:cancel"),
    ])


async def handle_summary(ctx: Context) -> None:
    if ctx.choice == "sum:send":
        await _submit(ctx)
    elif ctx.choice in EDITS:
        ctx.draft["editing"] = True
        if ctx.choice == "sum:edit:photos":
            ctx.draft["photos"] = []
        ctx.goto(EDITS[ctx.choice])
    elif ctx.choice == "sum:cancel":
        ctx.finish(_("Cancelled. Nothing was sent."))
    else:
        ctx.retry(_("Please choose Send report, or the part you want to change."))


def _missing_step(draft: dict[str, Any]) -> str | None:
    """A restart or a stale draft could leave a gap: the step that fills it."""
    if not draft.get("category"):
        return CATEGORY
    if not draft.get("description"):
        return DESCRIBE
    if not draft.get("desa_code") or (draft.get("latitude") is None and not draft.get("landmark")):
        return LOCATION
    if draft.get("privacy") not in PRIVACY_LABELS:
        return PRIVACY
    return None


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.upper().encode()).hexdigest()


async def _submit(ctx: Context) -> None:
    d = ctx.draft
    missing = _missing_step(d)
    category = await ctx.store.reports.categories.get(d.get("category") or "")
    desa = await ctx.store.areas.desa(d.get("desa_code"))
    if missing or category is None or desa is None:
        ctx.goto(missing or CATEGORY)
        return
    anonymous = d["privacy"] == "anonim"
    code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH)) if anonymous else None
    report = await ctx.store.reports.create(
        NewReport(
            reporter_user_id=None if anonymous else ctx.user.id,
            privacy=d["privacy"],
            category_code=category.code,
            description=d["description"],
            kecamatan_code=desa.kecamatan_code,
            desa_code=desa.code,
            verify_due_at=await due(ctx.store, ctx.now, VERIFY_DAYS, ctx.services.timezone),
            landmark=d.get("landmark"),
            latitude=d.get("latitude"),
            longitude=d.get("longitude"),
            unit_code=category.default_unit_code,
            photos=tuple(d.get("photos", []))[:MAX_PHOTOS],
            access_code_hash=_code_hash(code) if code else None,
        ),
        year=ctx.now.astimezone(ctx.services.timezone).year,
        now=ctx.now,
    )
    lines = [
        _("Thank you! Your report has been received."),
        _("Ticket number: {number}").format(number=report.number),
        _("We will verify it by {date} at the latest (within {days} working days).").format(
            date=due_date_text(report.verify_due_at), days=VERIFY_DAYS),
    ]
    if code:
        lines += [
            _("You chose anonymous, so we keep no name and cannot send you updates."),
            _("To check its status, type: status {number} {code}").format(number=report.number, code=code),
            _("Keep this code: only with it can the report be opened."),
        ]
    else:
        lines.append(_("To check its status, type: status {number}, or open \"My reports\". We will also tell "
                       "you when its status changes.").format(number=report.number))
    ctx.finish("\n".join(lines))


REPORT_FLOW = Flow(
    "report",
    {
        CATEGORY: Step(ask_category, handle_category),
        DESCRIBE: Step(ask_describe, handle_describe),
        PHOTOS: Step(ask_photos, handle_photos),
        LOCATION: Step(ask_location, handle_location),
        KECAMATAN: Step(ask_kecamatan, handle_kecamatan),
        DESA: Step(ask_desa, handle_desa),
        PRIVACY: Step(ask_privacy, handle_privacy),
        CHECK: Step(ask_check),
        DUPLICATE: Step(ask_duplicate, handle_duplicate),
        SUMMARY: Step(ask_summary, handle_summary),
    },
    start=CATEGORY,
)


# --- Laporan saya ------------------------------------------------------------------------------------

async def citizen_detail(store: Store, report: Report) -> str:
    """One report as its reporter or a supporter sees it: no names, the officials' notes, the history."""
    lines = [
        f"{report.number} · {await category_name(store, report.category_code)}",
        _("Status: {status}").format(status=status_label(report.status)),
        _("Place: {place}").format(place=await place_text(store, report)),
        _("Sent: {date}").format(date=format_date(report.created_at, "medium")),
    ]
    due_at = report.due_at()
    if due_at is not None:
        lines.append(_("Expected answer by: {date}").format(date=due_date_text(due_at)))
    unit = await unit_name(store, report.unit_code)
    if unit:
        lines.append(_("Handled by: {unit}").format(unit=unit))
    lines.append(_("Description: {description}").format(description=report.description))
    lines += ["", _("History:")]
    lines += await history_lines(store, report, HISTORY_SHOWN, for_official=False)
    return "\n".join(lines)


async def ask_list(ctx: Context) -> None:
    total = await ctx.store.reports.count_for_user(ctx.user.id)
    if total == 0:
        ctx.finish(_("You have no reports yet. Choose \"Report a problem\" to send one."))
        return
    pages = math.ceil(total / PAGE_SIZE)
    page = min(max(int(ctx.draft.get("page", 0)), 0), pages - 1)
    ctx.draft["page"] = page
    rows = await ctx.store.reports.for_user(ctx.user.id, PAGE_SIZE, page * PAGE_SIZE)
    lines = [_("Your reports, latest update first ({first}-{last} of {total}):").format(
        first=page * PAGE_SIZE + 1, last=page * PAGE_SIZE + len(rows), total=total)]
    for report, supported in rows:
        line = _("{number} · {category} · {status} · updated {date}").format(
            number=report.number, category=await category_name(ctx.store, report.category_code),
            status=status_label(report.status), date=format_date(report.updated_at, "medium"))
        lines.append("- " + line + (" " + _("(you support it)") if supported else ""))
    options = [Option(report.number, f"mine:{report.id}") for report, _supported in rows]
    if page > 0:
        options.append(Option(_("Previous page"), "page:prev"))
    if page < pages - 1:
        options.append(Option(_("Next page"), "page:next"))
    options.append(Option(_("Back to main menu"), "go:menu"))
    ctx.say("\n".join(lines) + "\n\n" + _("Choose a report to see its history."), options)


async def handle_list(ctx: Context) -> None:
    if ctx.choice in ("page:prev", "page:next"):
        ctx.draft["page"] = int(ctx.draft.get("page", 0)) + (1 if ctx.choice == "page:next" else -1)
        ctx.reask = True
        return
    report = await _report_of_choice(ctx, "mine:")
    if report is None or not await is_visible_to_citizen(ctx.store, report, ctx.user):
        ctx.retry(_("Please choose one of your reports below."))
        return
    ctx.draft["report_id"] = report.id
    ctx.goto(VIEW)


async def _report_of_choice(ctx: Context, prefix: str) -> Report | None:
    value = ctx.choice[len(prefix):] if ctx.choice and ctx.choice.startswith(prefix) else ""
    return await ctx.store.reports.get(int(value)) if value.isdigit() and len(value) < 12 else None


async def ask_view(ctx: Context) -> None:
    report = await ctx.store.reports.get(int(ctx.draft.get("report_id", 0)))
    if report is None or not await is_visible_to_citizen(ctx.store, report, ctx.user):
        ctx.goto(LIST)
        return
    text = await citizen_detail(ctx.store, report)
    options: list[Option] = []
    if report.reporter_user_id == ctx.user.id and report.status in ("selesai", "ditutup"):
        if await ctx.store.reports.rating(report.id, report.reopen_count) is None:
            prompt, options = rating_prompt(report)
            text += "\n\n" + prompt
        elif can_reopen(report, ctx.user, ctx.now):
            options.append(Option(_("Reopen"), f"report:reopen:{report.id}"))
    options += [Option(_("Back to my reports"), "mine:back"), Option(_("Back to main menu"), "go:menu")]
    photos = tuple(await ctx.store.reports.photos(report.id))
    ctx.say(text, options, media=photos)


async def handle_view(ctx: Context) -> None:
    if ctx.choice == "mine:back":
        ctx.goto(LIST)
    else:
        ctx.retry(_("Please choose one of the options below."))


async def ask_reopen(ctx: Context) -> None:
    report = await ctx.store.reports.get(int(ctx.draft.get("report_id", 0)))
    if report is None:
        ctx.finish()
        return
    ctx.say(_("What is still wrong with report {number}? Tell us in a sentence, so the officials know what to "
              "check.").format(number=report.number), [Option(_("Do not reopen"), "reopen:cancel")])


async def handle_reopen(ctx: Context) -> None:
    report = await ctx.store.reports.get(int(ctx.draft.get("report_id", 0)))
    if ctx.choice == "reopen:cancel" or report is None:
        ctx.goto(VIEW)
        return
    if not can_reopen(report, ctx.user, ctx.now):
        ctx.finish(_("This report can no longer be reopened. Please send a new report if the problem is still "
                     "there."))
        return
    reason = ctx.text
    if not 3 <= len(reason) <= MAX_REASON:
        ctx.retry(_("Please write the reason in {low} to {high} characters.").format(low=3, high=MAX_REASON))
        return
    updated = await reopen(ctx.store, report, ctx.user, reason, ctx.now, ctx.services.timezone,
                           ctx.services.default_locale)
    assert updated.followup_due_at is not None
    ctx.finish(_("Report {number} is open again. The officials have been told and will follow up by {date}.").format(
        number=updated.number, date=due_date_text(updated.followup_due_at)))


MY_REPORTS_FLOW = Flow(
    "my_reports",
    {
        LIST: Step(ask_list, handle_list),
        VIEW: Step(ask_view, handle_view),
        REOPEN: Step(ask_reopen, handle_reopen),
    },
    start=LIST,
)


# --- actions and the status intent (work from any step) ----------------------------------------------

async def _own_report(ctx: Context, report_id: str) -> Report | None:
    if not report_id.isdigit() or len(report_id) > 12:
        return None
    report = await ctx.store.reports.get(int(report_id))
    return report if report is not None and report.reporter_user_id == ctx.user.id else None


async def rate_action(ctx: Context, args: str) -> None:
    """`report:rate:<id>:<1-5>` from the "selesai" notification or the report's page."""
    report_id, _sep, value = args.partition(":")
    report = await _own_report(ctx, report_id)
    if report is None or report.status not in ("selesai", "ditutup") or value not in ("1", "2", "3", "4", "5"):
        ctx.say(_("This report cannot be rated now."))
        stay(ctx)
        return
    await ctx.store.reports.rate(report.id, report.reopen_count, int(value), ctx.now)
    await ctx.store.reports.add_history(report.id, ctx.now, "rated", ctx.user.id, status=report.status, note=value)
    ctx.say(_("Thank you for your rating ({rating} of 5).").format(rating=value))
    if int(value) <= 2 and can_reopen(report, ctx.user, ctx.now):
        ctx.say(_("If the problem is not solved, you can reopen the report from \"My reports\"."))
    stay(ctx)


async def reopen_action(ctx: Context, args: str) -> None:
    """`report:reopen:<id>`: the reporter says the problem is not solved (within 14 days of "selesai")."""
    report = await _own_report(ctx, args)
    if report is None or not can_reopen(report, ctx.user, ctx.now):
        ctx.say(_("This report can no longer be reopened. Please send a new report if the problem is still there."))
        stay(ctx)
        return
    ctx.draft.clear()
    ctx.draft["report_id"] = report.id
    ctx.goto(REOPEN)


def _code_matches(report: Report, code: str | None) -> bool:
    return bool(report.access_code_hash and code and hmac.compare_digest(report.access_code_hash, _code_hash(code)))


async def status_intent(ctx: Context, text: str) -> None:
    """`status LPR-2026-000123` (or just the number) anywhere: that report's status and history."""
    match = _NUMBER_RE.match(text)
    if match is None:
        stay(ctx)
        return
    number = number_for(int(match.group(1)), int(match.group(2)))
    report = await ctx.store.reports.by_number(number)
    if report is not None and ctx.user.is_official and not match.group(3):
        ctx.draft.clear()
        ctx.draft["report_id"] = report.id
        ctx.goto("reports_admin.view")
        return
    if report is not None and _code_matches(report, match.group(3)):
        ctx.say(await citizen_detail(ctx.store, report))
        stay(ctx)
        return
    if report is None or not await is_visible_to_citizen(ctx.store, report, ctx.user):
        ctx.say(_("I could not find report {number} among your reports. Please check the number.").format(
            number=number))
        stay(ctx)
        return
    if ctx.state in (None, menu.MAIN) or (ctx.state or "").startswith("my_reports."):
        ctx.draft.clear()
        ctx.draft["report_id"] = report.id
        ctx.goto(VIEW)
    else:
        ctx.say(await citizen_detail(ctx.store, report))
        stay(ctx)


def register(registry: Registry) -> None:
    registry.add_flow(REPORT_FLOW)
    registry.add_flow(MY_REPORTS_FLOW)
    registry.add_action("report:rate", rate_action)
    registry.add_action("report:reopen", reopen_action)
    registry.add_intent(NUMBER_PATTERN, status_intent)
    registry.add_command("lapor", "go:report", description=N_("Report a problem"))
    registry.add_command("laporan_saya", "go:my_reports", description=N_("My reports"))
