"""Jajak pendapat: an official creates a quick poll and pushes it; citizens answer with one tap (Telegram)
or one number (WhatsApp), may change their answer until it closes, and see the results if they are public.

```mermaid
stateDiagram-v2
    [*] --> poll_new.question: Buat jajak pendapat (officials only)
    poll_new.question --> poll_new.options
    poll_new.options --> poll_new.audience: 2-10 options, one per line
    poll_new.audience --> poll_new.closing: audience chosen (audience_* steps)
    poll_new.closing --> poll_new.public: a time, or close by hand
    poll_new.public --> poll_new.review
    poll_new.review --> menu.official: Kirim (pushed through the outbox)
    poll_new.review --> poll_new.audience: Ganti penerima
```

Citizens: `go:polls` lists the open polls for them, `poll:<id>` shows one, `poll:<id>:<n>` votes (works
from any step; on WhatsApp the outbox worker offers a pushed poll's options to a person at the menu, so
a typed number answers it: see `Conversations.offer_options`; a channel may also hand many votes at once
to `votes_in_bulk`, answered in a line each), `poll:<id>:results` shows public results.
Officials: `polladm:list`, `polladm:results:<id>`, `polladm:kecamatan:<id>`, `polladm:desa:<id>`,
`polladm:csv:<id>`, `polladm:close:<id>`, `polladm:share:<id>` (each respondent gets their village's
results beside the district's). The scheduler calls `due_polls(store, now)` to close polls on time.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from handlers import menu
from handlers.audience_picker import AudiencePicker, area_limit, describe, drafted_audience
from handlers.flow import BulkPress, Context, Flow, Registry, Services, Step
from handlers.i18n import N_, _, format_datetime, format_number, use_locale
from handlers.notify import notify, notify_audience
from handlers.types import Option, Reply, shorten
from handlers.when import parse_when
from storage.audience import Audience
from storage.db import Store
from storage.polls import MAX_OPTIONS, MIN_OPTIONS, AreaTally, Poll, Tally

MAX_QUESTION = 300
MAX_OPTION = 60
MAX_OPEN = timedelta(days=90)
BAR_WIDTH = 10
KIND = "poll"

START = "poll_new.question"
PICKER = AudiencePicker("poll_new", done="poll_new.closing")
_NUMBERING = re.compile(r"^\s*(?:\d{1,2}[.)]|[-•*])\s*")


def poll_replies(poll_id: int, question: str, options: list[str] | tuple[str, ...], closes_at: datetime | None,
                 district: str, current: int | None = None) -> list[Reply]:
    """The poll as a citizen receives it (pushed, previewed, or opened from the menu)."""
    lines = [_("Quick poll from {district}:").format(district=district), "", question, ""]
    if closes_at:
        lines.append(_("Choose one answer. You can change it until {when}.").format(when=format_datetime(closes_at)))
    else:
        lines.append(_("Choose one answer. You can change it until the poll closes."))
    if current:
        lines.append(_("Your answer now: {answer}.").format(answer=options[current - 1]))
    choices = [Option(label, f"poll:{poll_id}:{position}") for position, label in enumerate(options, start=1)]
    return [Reply("\n".join(lines), tuple(choices))]


def tally_text(poll: Poll, tally: Tally) -> str:
    """Counts, percentages and a text bar chart, one line per option."""
    lines = [_("Answers: {total}").format(total=format_number(tally.total))]
    for label, count in zip(poll.options, tally.counts, strict=True):
        share = count / tally.total if tally.total else 0.0
        filled = round(share * BAR_WIDTH)
        lines.append(_("{label}: {bar} {percent}% ({count})").format(
            label=label, bar="█" * filled + "░" * (BAR_WIDTH - filled), percent=format_number(round(share * 100)),
            count=format_number(count)))
    return "\n".join(lines)


def _area_line(poll: Poll, area: AreaTally, name: str) -> str:
    total = area.tally.total
    shares = " · ".join(f"{label} {format_number(round(100 * count / total))}%"
                        for label, count in zip(poll.options, area.tally.counts, strict=True))
    return f"{name} ({format_number(total)}): {shares}"


# --- the official's flow: create and push a poll ---------------------------------------------------------

async def ask_question(ctx: Context) -> None:
    ctx.say(_("New quick poll. Write the question (at most {limit} characters).").format(limit=MAX_QUESTION))


async def handle_question(ctx: Context) -> None:
    if not ctx.text or len(ctx.text) > MAX_QUESTION:
        ctx.retry(_("Please write the question as text, at most {limit} characters.").format(limit=MAX_QUESTION))
        return
    ctx.draft["question"] = ctx.text
    ctx.goto("poll_new.options")


async def ask_options(ctx: Context) -> None:
    ctx.say(_("Now the answers people can choose: one per line, {low} to {high} answers, each at most {limit} "
              "characters. For example:\nSetuju\nTidak setuju\nBelum tahu").format(
        low=MIN_OPTIONS, high=MAX_OPTIONS, limit=MAX_OPTION))


async def handle_options(ctx: Context) -> None:
    options: list[str] = []
    for line in ctx.text.splitlines():
        label = _NUMBERING.sub("", line).strip()
        if label and label.casefold() not in (o.casefold() for o in options):
            options.append(label)
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS or any(len(o) > MAX_OPTION for o in options):
        ctx.retry(_("Please write {low} to {high} different answers, one per line, each at most {limit} "
                    "characters.").format(low=MIN_OPTIONS, high=MAX_OPTIONS, limit=MAX_OPTION))
        return
    ctx.draft["options"] = options
    ctx.goto(PICKER.start)


async def ask_closing(ctx: Context) -> None:
    ctx.say(_("When does the poll close? Choose, or type a date and time such as 25/12 17.00."), [
        Option(_("In 1 day"), "pn:close:1"), Option(_("In 3 days"), "pn:close:3"),
        Option(_("In 7 days"), "pn:close:7"), Option(_("I will close it myself"), "pn:close:manual"),
    ])


async def handle_closing(ctx: Context) -> None:
    closes_at: datetime | None
    if ctx.choice == "pn:close:manual":
        closes_at = None
    elif ctx.choice in ("pn:close:1", "pn:close:3", "pn:close:7"):
        closes_at = ctx.now + timedelta(days=int(ctx.choice.rsplit(":", 1)[1]))
    else:
        closes_at = parse_when(ctx.text, ctx.now, ctx.services.timezone)
        if closes_at is None:
            ctx.retry(_("I could not read that time. Please write it like 25/12 08.00."))
            return
        if closes_at <= ctx.now + timedelta(minutes=10) or closes_at > ctx.now + MAX_OPEN:
            ctx.retry(_("Please choose a closing time at least 10 minutes from now and at most 90 days away."))
            return
    ctx.draft["closes_at"] = closes_at.isoformat() if closes_at else None
    ctx.goto("poll_new.public")


async def ask_public(ctx: Context) -> None:
    ctx.say(_("May the people who answer see the results?"), [
        Option(_("Yes, show them the results"), "pn:public:yes"), Option(_("No, only officials"), "pn:public:no"),
    ])


async def handle_public(ctx: Context) -> None:
    if ctx.choice not in ("pn:public:yes", "pn:public:no"):
        ctx.retry(_("Please choose one of the items below."))
        return
    ctx.draft["public"] = ctx.choice == "pn:public:yes"
    ctx.goto("poll_new.review")


def _draft_closes_at(ctx: Context) -> datetime | None:
    raw = ctx.draft.get("closes_at")
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _complete(ctx: Context) -> Audience | None:
    """The audience when the draft holds all a poll needs; otherwise back to the first step (a
    conversation saved by an older version, or a forged state)."""
    audience = drafted_audience(ctx)
    options = ctx.draft.get("options")
    valid_options = isinstance(options, list) and MIN_OPTIONS <= len(options) <= MAX_OPTIONS
    if audience is None or not isinstance(ctx.draft.get("question"), str) or not valid_options:
        ctx.goto(START)
        return None
    return audience


async def ask_review(ctx: Context) -> None:
    audience = _complete(ctx)
    if audience is None:
        return
    count = await ctx.store.audiences.count(audience, ctx.now)
    closes_at = _draft_closes_at(ctx)
    ctx.say(_("Recipients: {reachable} ({audience}); {outside} of them use WhatsApp and have not written in the "
              "last 24 hours, so they get it only through an approved template.\n"
              "Closes: {closes}. Results visible to respondents: {public}.").format(
        reachable=format_number(count.reachable), audience=await describe(ctx.store, audience),
        outside=format_number(count.outside_window),
        closes=format_datetime(closes_at) if closes_at else _("when you close it"),
        public=_("yes") if ctx.draft.get("public") else _("no")))
    ctx.say(_("This is exactly what citizens will see:"))
    ctx.replies.extend(poll_replies(0, ctx.draft["question"], ctx.draft["options"], closes_at,
                                    await ctx.store.areas.district_name()))
    ctx.say(_("Send this poll?"), [Option(_("Send the poll"), "pn:send"),
                                   Option(_("Change recipients"), "pn:audience"), Option(_("Cancel"), "pn:cancel")])


async def handle_review(ctx: Context) -> None:
    if ctx.choice == "pn:audience":
        ctx.goto(PICKER.start)
        return
    if ctx.choice == "pn:cancel":
        ctx.finish(_("Cancelled. Nothing was sent."))
        return
    if ctx.choice != "pn:send":
        ctx.retry(_("Please choose one of the items below."))
        return
    audience = _complete(ctx)
    if audience is None:
        return
    ctx.require_official("poll.create", kecamatan_code=await ctx.store.audiences.scope(audience))
    poll = await ctx.store.polls.create(ctx.user.id, ctx.draft["question"], ctx.draft["options"], audience,
                                        bool(ctx.draft.get("public")), _draft_closes_at(ctx), ctx.now)
    queued = await push(ctx.store, poll, ctx.now, ctx.services.default_locale)
    await ctx.audit("poll.create", poll_id=poll.id, recipients=queued, audience=audience.to_draft())
    ctx.say(_("Poll #{id} is on its way to {count} people.").format(id=poll.id, count=format_number(queued)))
    ctx.draft.clear()
    ctx.goto(menu.OFFICIAL)


async def push(store: Store, poll: Poll, now: datetime, default_locale: str) -> int:
    """Queue the poll for its audience (group `poll:<id>`, bulk priority) in the caller's transaction."""
    district = await store.areas.district_name()
    queued = await notify_audience(
        store, poll.audience, KIND,
        lambda: poll_replies(poll.id, poll.question, poll.options, poll.closes_at, district), now,
        group_id=poll.group_id, template_vars=lambda: {"1": district, "2": poll.question},
        default_locale=default_locale,
    )
    await store.polls.set_recipients(poll.id, queued)
    return queued


# --- citizens: list, open, vote, results ---------------------------------------------------------------

async def list_polls(ctx: Context, _args: str) -> None:
    polls = [poll for poll in await ctx.store.polls.open_polls(ctx.now)
             if await ctx.store.audiences.includes(poll.audience, ctx.user.id)]
    if not polls:
        ctx.finish(_("There are no open polls for you right now."))
        return
    answered = await ctx.store.polls.answered(ctx.user.id, [poll.id for poll in polls])
    options = [Option(("✓ " if poll.id in answered else "") + shorten(poll.question), f"poll:{poll.id}")
               for poll in polls]
    ctx.say(_("Open polls for you. Choose one to answer it or to change your answer (✓ = answered)."),
            options + [Option(_("Back to main menu"), "go:menu")])


async def poll_action(ctx: Context, args: str) -> None:
    """`poll:<id>` shows a poll, `poll:<id>:<n>` votes, `poll:<id>:results` shows public results."""
    raw_id, _sep, rest = args.partition(":")
    poll = await ctx.store.polls.get(int(raw_id)) if raw_id.isdigit() and len(raw_id) < 10 else None
    if poll is None:
        ctx.say(_("I could not find that poll."))
        return
    if rest == "results":
        await _public_results(ctx, poll)
    elif rest.isdigit() and len(rest) <= 2:
        await _vote(ctx, poll, int(rest))
    else:
        await _show(ctx, poll)


async def _show(ctx: Context, poll: Poll) -> None:
    if not poll.is_open(ctx.now):
        await _closed(ctx, poll)
        return
    current = await ctx.store.polls.vote_of(poll.id, ctx.user.id)
    (shown,) = poll_replies(poll.id, poll.question, poll.options, poll.closes_at, await ctx.store.areas.district_name(),
                            current)
    if current and poll.results_public:  # a tap on Telegram is answered on the button: the results are here
        shown = replace(shown, options=(*shown.options, Option(_("See the results so far"), f"poll:{poll.id}:results")))
    ctx.replies.append(shown)


async def _vote(ctx: Context, poll: Poll, position: int) -> None:
    if not poll.is_open(ctx.now):
        await _closed(ctx, poll)
        return
    if not 1 <= position <= len(poll.options):
        ctx.say(_("That is not one of the answers."))
        await _show(ctx, poll)
        return
    counted, previous = await ctx.store.polls.vote(poll, ctx.user.id, position, ctx.now)
    if not counted:
        ctx.say(_("Sorry, this poll is meant for another area or group."))
        return
    text = _voted(poll, position, previous)
    if ctx.state not in (None, menu.MAIN):
        ctx.say(text)
        ctx.reask = True  # they were in the middle of something: ask that again
        return
    options = [Option(_("Change my answer"), f"poll:{poll.id}")]
    if poll.results_public:
        options.append(Option(_("See the results so far"), f"poll:{poll.id}:results"))
    ctx.say(text, options + [Option(_("Back to main menu"), "go:menu")])


def _voted(poll: Poll, position: int, previous: int | None) -> str:
    """What a voter is told: their answer, and whether it is new, changed or the same as before."""
    answer = poll.options[position - 1]
    if previous is None:
        return _("Thank you! Your answer: {answer}.").format(answer=answer)
    if previous == position:
        return _("Your answer is already: {answer}.").format(answer=answer)
    return _("Changed. Your answer is now: {answer}.").format(answer=answer)


async def votes_in_bulk(store: Store, _services: Services, now: datetime, presses: list[BulkPress]) -> None:
    """Many taps on `poll:<id>:<n>` at once (the burst after a push): each poll read once, every vote written
    with one statement, each voter answered with one line (on Telegram a toast on the button, the poll message
    and its buttons stay, so another tap changes the answer). A vote on a closed or unknown poll, on an answer
    it does not have, or from outside its audience is left to the usual turn, which explains."""
    by_poll: dict[int, list[tuple[BulkPress, int]]] = {}
    for press in presses:
        raw_id, raw_position = press.args
        by_poll.setdefault(int(raw_id), []).append((press, int(raw_position)))
    for poll_id, votes in by_poll.items():
        poll = await store.polls.get(poll_id)
        if poll is None or not poll.is_open(now):
            continue
        valid = [(press, position) for press, position in votes if 1 <= position <= len(poll.options)]
        members = await store.polls.members_among(poll, [press.user.id for press, _position in valid])
        counted = [(press, position) for press, position in valid if press.user.id in members]
        previous = await store.polls.vote_all(poll, [(press.user, position) for press, position in counted], now)
        for (press, position), before in zip(counted, previous, strict=True):
            with use_locale(press.locale):
                press.replies = [Reply(_voted(poll, position, before))]


async def _closed(ctx: Context, poll: Poll) -> None:
    text = _("Sorry, this poll has already closed, so answers are no longer counted.")
    if poll.results_public:
        text += "\n\n" + await _citizen_results_text(ctx.store, poll, ctx.user.desa_code)
    ctx.say(text)


async def _public_results(ctx: Context, poll: Poll) -> None:
    if not poll.results_public:
        ctx.say(_("The results of this poll are not public."))
        return
    ctx.say(await _citizen_results_text(ctx.store, poll, ctx.user.desa_code))


async def _citizen_results_text(store: Store, poll: Poll, desa_code: str | None) -> str:
    """The whole district's results, and the person's own desa beside them when it has answers."""
    parts = [_("Results: {question}").format(question=poll.question), "",
             _("Whole district:"), tally_text(poll, await store.polls.tally(poll))]
    desa = await store.areas.desa(desa_code)
    if desa is not None:
        local = await store.polls.tally(poll, desa_code=desa.code)
        if local.total:
            parts += ["", _("Desa {desa}:").format(desa=desa.name), tally_text(poll, local)]
    return "\n".join(parts)


# --- officials: list, results, breakdowns, CSV, close, share ---------------------------------------------

async def polladm_action(ctx: Context, args: str) -> None:
    verb, _sep, raw_id = args.partition(":")
    ctx.require_official(f"poll.{verb}" if verb in _ADMIN_VIEWS else "poll.list")
    if verb in ("", "list"):
        await _admin_list(ctx)
        return
    poll = await ctx.store.polls.get(int(raw_id)) if raw_id.isdigit() and len(raw_id) < 10 else None
    handler = _ADMIN_VIEWS.get(verb)
    if poll is None or handler is None:
        ctx.say(_("I could not find that poll."))
        return
    await handler(ctx, poll)


async def _admin_list(ctx: Context) -> None:
    polls = await ctx.store.polls.recent(10)
    options = [Option(f"#{poll.id} {'' if poll.is_open(ctx.now) else '🔒 '}{shorten(poll.question, 40)}",
                      f"polladm:results:{poll.id}") for poll in polls]
    options += [Option(_("Create a quick poll"), "go:poll_new"), Option(_("Officials' menu"), "go:menu_official")]
    ctx.say(_("The latest polls. Choose one to see its results.") if polls else _("No polls yet."), options)


async def _admin_results(ctx: Context, poll: Poll) -> None:
    tally = await ctx.store.polls.tally(poll)
    if poll.is_open(ctx.now):
        status = (_("Open until {when}.").format(when=format_datetime(poll.closes_at)) if poll.closes_at
                  else _("Open until you close it."))
    else:
        status = _("Closed.")
    text = "\n".join([
        _("Poll #{id}: {question}").format(id=poll.id, question=poll.question),
        _("To {audience}; sent to {recipients} people. {status}").format(
            audience=await describe(ctx.store, poll.audience), recipients=format_number(poll.recipients),
            status=status),
        "", tally_text(poll, tally),
    ])
    options = [Option(_("Per kecamatan"), f"polladm:kecamatan:{poll.id}"),
               Option(_("Per desa"), f"polladm:desa:{poll.id}"),
               Option(_("Download CSV"), f"polladm:csv:{poll.id}")]
    if poll.state == "open":
        options.append(Option(_("Close the poll now"), f"polladm:close:{poll.id}"))
    elif poll.results_public and poll.results_shared_at is None:
        options.append(Option(_("Send each respondent their desa's results"), f"polladm:share:{poll.id}"))
    options += [Option(_("Refresh"), f"polladm:results:{poll.id}"), Option(_("All polls"), "polladm:list")]
    ctx.say(text, options)


async def _admin_breakdown(ctx: Context, poll: Poll, level: str) -> None:
    within = area_limit(ctx)
    areas = await ctx.store.polls.tally_by_area(poll, level, within)
    title = _("Poll #{id} per kecamatan:") if level == "kecamatan" else _("Poll #{id} per desa:")
    lines = [title.format(id=poll.id)]
    for area in areas:
        name = area.name if level == "kecamatan" else f"{area.name}, {area.kecamatan}"
        lines.append(_area_line(poll, area, name))
    if not areas:
        lines.append(_("No answers yet."))
    ctx.say("\n".join(lines), [Option(_("Back to the results"), f"polladm:results:{poll.id}")])


async def _by_kecamatan(ctx: Context, poll: Poll) -> None:
    await _admin_breakdown(ctx, poll, "kecamatan")


async def _by_desa(ctx: Context, poll: Poll) -> None:
    await _admin_breakdown(ctx, poll, "desa")


def results_csv(poll: Poll, areas: list[AreaTally]) -> str:
    """One row per desa and answer (counts only, never who voted), UTF-8 with BOM for spreadsheets."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["poll_id", "question", "kecamatan", "desa_code", "desa", "answer_number", "answer", "votes"])
    for area in areas:
        for position, (label, count) in enumerate(zip(poll.options, area.tally.counts, strict=True), start=1):
            writer.writerow([poll.id, poll.question, area.kecamatan, area.code, area.name, position, label, count])
    return out.getvalue()


async def _csv(ctx: Context, poll: Poll) -> None:
    areas = await ctx.store.polls.tally_by_area(poll, "desa", area_limit(ctx))
    folder = ctx.services.media_dir / "exports"
    path = folder / f"jajak-{poll.id}-{uuid.uuid4().hex[:8]}.csv"
    await asyncio.to_thread(_write_file, path, results_csv(poll, areas))
    await ctx.audit("poll.export", poll_id=poll.id, rows=len(areas) * len(poll.options))
    ctx.replies.append(Reply(_("Results of poll #{id} per desa, as a CSV file.").format(id=poll.id),
                             files=(str(path),)))


def _write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


async def _close(ctx: Context, poll: Poll) -> None:
    ctx.require_official("poll.close", kecamatan_code=await ctx.store.audiences.scope(poll.audience))
    if await ctx.store.polls.close(poll.id, ctx.now):
        await ctx.audit("poll.close", poll_id=poll.id)
        ctx.say(_("Poll #{id} is closed. Answers sent from now on are not counted.").format(id=poll.id))
    closed = await ctx.store.polls.get(poll.id)
    assert closed is not None
    await _admin_results(ctx, closed)


async def _share(ctx: Context, poll: Poll) -> None:
    ctx.require_official("poll.share", kecamatan_code=await ctx.store.audiences.scope(poll.audience))
    if poll.state != "closed" or not poll.results_public:
        ctx.say(_("Results can be sent once the poll is closed, and only when they are public."))
        return
    if not await ctx.store.polls.mark_results_shared(poll.id, ctx.now):
        ctx.say(_("The results of poll #{id} were already sent to the respondents.").format(id=poll.id))
        return
    sent = await share_results(ctx.store, poll, ctx.now, ctx.services.default_locale)
    await ctx.audit("poll.share", poll_id=poll.id, recipients=sent)
    ctx.say(_("Sending the results to {count} respondents, each with their own desa beside the district.").format(
        count=format_number(sent)), [Option(_("Back to the results"), f"polladm:results:{poll.id}")])


async def share_results(store: Store, poll: Poll, now: datetime, default_locale: str) -> int:
    """Queue, for each respondent, their desa's results beside the district's: one composition and one
    statement in SQLite per desa, so thousands of respondents never pass through Python one by one."""
    queued = 0
    for desa_code in await store.polls.respondent_desa(poll.id):
        text = await _results_for(store, poll, desa_code)
        queued += await notify_audience(store, store.polls.respondents_in(poll.id, desa_code), "poll_results", text,
                                        now, group_id=f"poll_results:{poll.id}", default_locale=default_locale,
                                        template_vars=lambda: {"1": poll.question})
    return queued


async def _results_for(store: Store, poll: Poll, desa_code: str | None) -> Callable[[], list[Reply]]:
    district = await store.polls.tally(poll)
    desa = await store.areas.desa(desa_code)
    local = await store.polls.tally(poll, desa_code=desa.code) if desa else None

    def build() -> list[Reply]:
        parts = [_("The poll \"{question}\" has closed. Thank you for answering! The results:").format(
            question=poll.question)]
        if desa is not None and local is not None:
            parts += ["", _("Desa {desa}:").format(desa=desa.name), tally_text(poll, local)]
        parts += ["", _("Whole district:"), tally_text(poll, district)]
        return [Reply("\n".join(parts))]

    return build


_ADMIN_VIEWS = {
    "results": _admin_results,
    "kecamatan": _by_kecamatan,
    "desa": _by_desa,
    "csv": _csv,
    "close": _close,
    "share": _share,
}


async def due_polls(store: Store, now: datetime, default_locale: str = "id") -> list[int]:
    """Close every poll whose closing time has passed; the scheduler calls this. Returns the ids closed.

    Each poll's author is told, in the same transaction, with a button to its results.
    """
    closed = []
    for poll in await store.polls.due(now):
        async with store.transaction():
            if not await store.polls.close(poll.id, now):
                continue
            closed.append(poll.id)
            author = await store.users.get(poll.created_by) if poll.created_by else None
            if author is not None and author.is_official:
                answers = (await store.polls.tally(poll)).total
                await notify(store, [author], "poll_closed", _closed_message(poll.id, answers), now,
                             template_vars=lambda id=poll.id, count=answers: {"1": f"#{id}", "2": str(count)},
                             default_locale=default_locale)
    return closed


def _closed_message(poll_id: int, answers: int) -> Callable[[], list[Reply]]:
    return lambda: [Reply(_("Poll #{id} has closed with {count} answers.").format(
        id=poll_id, count=format_number(answers)), (Option(_("See the results"), f"polladm:results:{poll_id}"),))]


FLOW = Flow(
    "poll_new",
    {
        "poll_new.question": Step(ask_question, handle_question),
        "poll_new.options": Step(ask_options, handle_options),
        **PICKER.steps(),
        "poll_new.closing": Step(ask_closing, handle_closing),
        "poll_new.public": Step(ask_public, handle_public),
        "poll_new.review": Step(ask_review, handle_review),
    },
    start=START,
    official_only=True,
)


def register(registry: Registry) -> None:
    registry.add_flow(FLOW)
    registry.add_action("go:polls", list_polls)
    registry.add_action("poll", poll_action)
    registry.add_bulk_action(r"poll:([0-9]{1,9}):([0-9]{1,2})", votes_in_bulk)
    registry.add_action("polladm", polladm_action)
    registry.add_menu(N_("Create a quick poll"), "go:poll_new", order=20, official=True)
    registry.add_menu(N_("Quick polls and results"), "polladm:list", order=21, official=True)
    registry.add_command("jajak", "go:polls", description=N_("Quick polls"))
    registry.add_command("jajakbaru", "go:poll_new", official=True, description=N_("Create a quick poll"))
