"""Program & info for citizens: browse the programmes of their area, follow or unfollow one with one tap,
see what they follow, and answer an update with feedback ("Tanggapi").

```mermaid
stateDiagram-v2
    [*] --> programmes.main: Program & info (lists what I follow and what my area has)
    programmes.main --> programmes.detail: a programme (prog:open)
    programmes.detail --> programmes.main: Ikuti / Berhenti mengikuti (prog:sub / prog:unsub)
    [*] --> programmes.feedback: Tanggapi on an update (prog:feedback)
    programmes.feedback --> menu.main: feedback written
```
"""

from __future__ import annotations

from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_, _, current_locale, format_date
from handlers.inputs import bounded_text, parse_id
from handlers.scope import user_kecamatan
from handlers.types import Option, Reply
from storage.db import Store
from storage.programmes import Programme, ProgrammeUpdate

TOPIC_LABELS = {
    "pendidikan": N_("Education"),
    "kesehatan": N_("Health"),
    "lingkungan": N_("Environment"),
    "pertanian": N_("Agriculture"),
    "sosial": N_("Social"),
    "ekonomi": N_("Economy"),
    "infrastruktur": N_("Infrastructure"),
    "lainnya": N_("Other"),
}
FEEDBACK = (2, 1000)
LIST_LIMIT = 20


def topic_label(topic: str) -> str:
    return _(TOPIC_LABELS.get(topic, N_("Other")))


async def programme_area(store: Store, programme: Programme) -> str:
    if programme.desa_code:
        desa = await store.areas.desa(programme.desa_code)
        if desa:
            return _("Desa {desa}, Kecamatan {kecamatan}").format(desa=desa.name, kecamatan=desa.kecamatan_name)
    if programme.kecamatan_code:
        kecamatan = await store.areas.kecamatan(programme.kecamatan_code)
        if kecamatan:
            return _("Kecamatan {kecamatan}").format(kecamatan=kecamatan.name)
    return await store.areas.district_name() or _("the whole district")


def update_replies(programme: Programme, update: ProgrammeUpdate) -> list[Reply]:
    """An update as a subscriber sees it, in the current locale where the official wrote that language."""
    text = _("News from {programme}:").format(programme=programme.name) + "\n\n" + update.text_for(current_locale())
    if update.link:
        text += "\n\n" + _("More: {link}").format(link=update.link)
    options = (Option(_("Respond"), f"prog:feedback:{update.id}"),
               Option(_("Unfollow"), f"prog:unsub:{programme.id}"))
    return [Reply(text, options, media=(update.photo_path,) if update.photo_path else ())]



def _in_area(programme: Programme, desa_code: str | None, kecamatan_code: str | None) -> bool:
    if programme.kecamatan_code is None:
        return True
    return programme.kecamatan_code == kecamatan_code and programme.desa_code in (None, desa_code)


async def _visible(ctx: Context, programme_id: int | None) -> Programme | None:
    """An active programme of the user's area, or one they already follow."""
    programme = await ctx.store.programmes.get(programme_id) if programme_id else None
    if programme is None:
        return None
    if programme.active and _in_area(programme, ctx.user.desa_code, await user_kecamatan(ctx)):
        return programme
    if programme.id in await ctx.store.programmes.subscribed_ids(ctx.user.id):
        return programme
    return None


def _not_found(ctx: Context) -> None:
    ctx.say(_("Sorry, I could not find that programme."))
    ctx.goto("programmes.main")


async def ask_main(ctx: Context) -> None:
    programmes = await ctx.store.programmes.for_area(ctx.user.desa_code, await user_kecamatan(ctx),
                                                     limit=LIST_LIMIT)
    followed = await ctx.store.programmes.subscriptions(ctx.user.id)
    followed_ids = {p.id for p in followed}
    if followed:
        lines = [_("You follow: {names}.").format(names=", ".join(p.name for p in followed))]
    else:
        lines = [_("You do not follow any programme yet.")]
    if programmes:
        lines.append(_("Programmes for your area (✓ = you follow it). Choose one to read about it and follow or "
                       "unfollow it:"))
        for number, p in enumerate(programmes, start=1):
            mark = "✓ " if p.id in followed_ids else ""
            lines.append(f"{number}. {mark}{p.name} ({topic_label(p.topic)})")
    else:
        lines.append(_("There are no programmes for your area yet."))
    shown = programmes + [p for p in followed if p.id not in {q.id for q in programmes}]
    options = [Option(("✓ " if p.id in followed_ids else "") + p.name[:58], f"prog:open:{p.id}") for p in shown]
    ctx.say("\n".join(lines), options + [Option(_("Back to main menu"), "go:menu")])


async def handle_choose(ctx: Context) -> None:
    ctx.retry(_("Please choose one of the items below."))


async def ask_detail(ctx: Context) -> None:
    programme = await _visible(ctx, ctx.draft.get("programme_id"))
    if programme is None:
        _not_found(ctx)
        return
    following = programme.id in await ctx.store.programmes.subscribed_ids(ctx.user.id)
    lines = [programme.name,
             _("Topic: {topic} · Area: {area}").format(topic=topic_label(programme.topic),
                                                      area=await programme_area(ctx.store, programme))]
    if programme.description:
        lines += ["", programme.description]
    latest = await ctx.store.programmes.updates(programme.id, limit=1)
    if latest:
        lines += ["", _("Latest news ({date}):").format(date=format_date(latest[0].created_at)),
                  latest[0].text_for(current_locale())]
    lines += ["", _("You follow this programme.") if following else _("You do not follow this programme yet.")]
    toggle = (Option(_("Unfollow"), f"prog:unsub:{programme.id}") if following
              else Option(_("Follow"), f"prog:sub:{programme.id}"))
    ctx.say("\n".join(lines), [toggle, Option(_("Other programmes"), "prog:list"),
                               Option(_("Back to main menu"), "go:menu")])


async def ask_feedback(ctx: Context) -> None:
    ctx.say(_("What do you think about this news? Write your feedback; the officials read every message."),
            [Option(_("Cancel"), "prog:list")])


async def handle_feedback(ctx: Context) -> None:
    text = bounded_text(ctx, *FEEDBACK)
    if text is None:
        return
    update = await ctx.store.programmes.update(ctx.draft.get("update_id", 0))
    if update is None or await _visible(ctx, update.programme_id) is None:
        ctx.finish(_("Sorry, I could not find that programme."))
        return
    await ctx.store.programmes.add_feedback(update.id, ctx.user.id, text, ctx.now)
    ctx.finish(_("Thank you! Your feedback was passed on to the officials of the programme."))


async def programme_action(ctx: Context, args: str) -> None:
    """`prog:<verb>:<id>`: open, sub, unsub (programme ids), feedback (an update id), list."""
    verb, _sep, rest = args.partition(":")
    if verb == "list":
        ctx.goto("programmes.main")
        return
    if verb == "feedback":
        update = await ctx.store.programmes.update(parse_id(rest) or 0)
        if update is None or await _visible(ctx, update.programme_id) is None:
            _not_found(ctx)
            return
        ctx.draft.clear()
        ctx.draft["update_id"] = update.id
        ctx.goto("programmes.feedback")
        return
    programme = await _visible(ctx, parse_id(rest))
    if programme is None:
        _not_found(ctx)
        return
    ctx.draft["programme_id"] = programme.id
    if verb == "sub":
        await ctx.store.programmes.subscribe(programme.id, ctx.user.id, ctx.now)
        ctx.say(_("You now follow {programme}. Its news will come to you here.").format(programme=programme.name))
        ctx.goto("programmes.main")
    elif verb == "unsub":
        await ctx.store.programmes.unsubscribe(programme.id, ctx.user.id)
        ctx.say(_("You no longer follow {programme}.").format(programme=programme.name))
        ctx.goto("programmes.main")
    else:
        ctx.goto("programmes.detail")


FLOW = Flow(
    "programmes",
    {
        "programmes.main": Step(ask_main, handle_choose),
        "programmes.detail": Step(ask_detail, handle_choose),
        "programmes.feedback": Step(ask_feedback, handle_feedback),
    },
    start="programmes.main",
)


def register(registry: Registry) -> None:
    registry.add_flow(FLOW)
    registry.add_action("prog", programme_action)
    registry.add_command("program", "go:programmes", description=N_("Programmes & info"))
