"""Programmes for officials: add and (de)activate programmes, publish an update to the subscribers (with an
optional English text, photo and link), and read the feedback citizens sent on each update.

```mermaid
stateDiagram-v2
    [*] --> programme_admin.main: Menu petugas > Program
    programme_admin.main --> programme_admin.name: Tambah program
    programme_admin.name --> programme_admin.description
    programme_admin.description --> programme_admin.topic
    programme_admin.topic --> programme_admin.area
    programme_admin.area --> programme_admin.confirm: seluruh kabupaten
    programme_admin.area --> programme_admin.kecamatan: kecamatan / desa
    programme_admin.kecamatan --> programme_admin.desa: desa
    programme_admin.kecamatan --> programme_admin.confirm: kecamatan
    programme_admin.desa --> programme_admin.confirm
    programme_admin.confirm --> programme_admin.detail: Simpan
    programme_admin.main --> programme_admin.detail: a programme (progadm:open)
    programme_admin.detail --> programme_admin.publish_text: Kirim kabar
    programme_admin.publish_text --> programme_admin.publish_english
    programme_admin.publish_english --> programme_admin.publish_photo
    programme_admin.publish_photo --> programme_admin.publish_link
    programme_admin.publish_link --> programme_admin.publish_confirm
    programme_admin.publish_confirm --> programme_admin.detail: Kirim
    programme_admin.detail --> programme_admin.updates: Kabar & tanggapan
    programme_admin.updates --> programme_admin.update: an update (progadm:update)
```
"""

from __future__ import annotations

from handlers.consultations_official import check_url
from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_, _, format_date, format_datetime, use_locale
from handlers.inputs import bounded_text, parse_id
from handlers.notify import notify_audience
from handlers.programmes import TOPIC_LABELS, programme_area, topic_label, update_replies
from handlers.scope import official_area_steps, official_limit, require_area_official
from handlers.types import Option
from storage.audience import Audience
from storage.programmes import NewProgramme, NewUpdate, Programme, ProgrammeUpdate

AREA_LABELS = {"kabupaten": N_("The whole kabupaten"), "kecamatan": N_("One kecamatan"), "desa": N_("One desa")}

START = "programme_admin.main"
NAME = (3, 100)
DESCRIPTION_MAX = 1000
TEXT = (5, 2000)
FEEDBACK_SHOWN = 12                # the latest feedback shown, each cut to FEEDBACK_CHARS, so one message holds it
FEEDBACK_CHARS = 280



async def _managed(ctx: Context, action: str, programme_id: int | None) -> Programme | None:
    """The programme, once the official is known to manage its area (else NotAllowed is raised)."""
    ctx.require_official(action)
    programme = await ctx.store.programmes.get(programme_id) if programme_id else None
    if programme is not None:
        require_area_official(ctx, action, programme.kecamatan_code)
    return programme


def _gone(ctx: Context) -> None:
    ctx.say(_("Sorry, I could not find that programme."))
    ctx.goto(START)




async def ask_main(ctx: Context) -> None:
    ctx.require_official("programme.list")
    programmes = await ctx.store.programmes.for_officials(official_limit(ctx))
    lines = [_("Programmes:")] if programmes else [_("There are no programmes yet.")]
    for number, p in enumerate(programmes, start=1):
        state = "" if p.active else " " + _("(inactive)")
        lines.append(f"{number}. {p.name} ({topic_label(p.topic)}){state}")
    ctx.say("\n".join(lines), [Option(_("New programme"), "new")]
            + [Option(p.name[:60], f"progadm:open:{p.id}") for p in programmes]
            + [Option(_("Officials' menu"), "go:menu_official")])


async def handle_main(ctx: Context) -> None:
    ctx.require_official("programme.create")
    if ctx.choice == "new":
        ctx.draft.clear()
        ctx.goto("programme_admin.name")
    else:
        ctx.retry(_("Please choose one of the items below."))


async def handle_choose(ctx: Context) -> None:
    ctx.require_official("programme.view")
    ctx.retry(_("Please choose one of the items below."))


# --- add a programme --------------------------------------------------------------------------------

async def ask_name(ctx: Context) -> None:
    ctx.require_official("programme.create")
    ctx.say(_("New programme. What is it called? For example: Posyandu Balita Sehat."))


async def handle_name(ctx: Context) -> None:
    ctx.require_official("programme.create")
    name = bounded_text(ctx, *NAME)
    if name:
        ctx.draft["name"] = name
        ctx.goto("programme_admin.description")


async def ask_description(ctx: Context) -> None:
    ctx.require_official("programme.create")
    ctx.say(_("Describe it for citizens in a few sentences: what it does and for whom."), [Option(_("Skip"), "skip")])


async def handle_description(ctx: Context) -> None:
    ctx.require_official("programme.create")
    if ctx.choice == "skip":
        ctx.draft["description"] = ""
    else:
        description = bounded_text(ctx, 1, DESCRIPTION_MAX)
        if description is None:
            return
        ctx.draft["description"] = description
    ctx.goto("programme_admin.topic")


async def ask_topic(ctx: Context) -> None:
    ctx.require_official("programme.create")
    ctx.say(_("Which topic?"), [Option(_(label), f"topic:{key}") for key, label in TOPIC_LABELS.items()])


async def handle_topic(ctx: Context) -> None:
    ctx.require_official("programme.create")
    topic = (ctx.choice or "").removeprefix("topic:")
    if topic not in TOPIC_LABELS:
        ctx.retry(_("Please choose one of the items below."))
        return
    ctx.draft["topic"] = topic
    ctx.goto("programme_admin.area")


def _drafted(ctx: Context) -> Programme:
    d = ctx.draft
    return Programme(0, d["name"], d.get("description", ""), d["topic"], d.get("kecamatan_code"),
                     d.get("desa_code"), True)


async def ask_confirm(ctx: Context) -> None:
    ctx.require_official("programme.create")
    programme = _drafted(ctx)
    ctx.say("\n".join([_("Please check the programme:"), "", programme.name,
                       _("Topic: {topic} · Area: {area}").format(topic=topic_label(programme.topic),
                                                                area=await programme_area(ctx.store, programme)),
                       programme.description]).strip(),
            [Option(_("Save"), "save"), Option(_("Cancel"), "cancel")])


async def handle_confirm(ctx: Context) -> None:
    ctx.require_official("programme.create")
    if ctx.choice == "cancel":
        ctx.finish(_("Cancelled. Nothing was saved."))
        return
    if ctx.choice != "save":
        ctx.retry(_("Please choose one of the items below."))
        return
    draft = _drafted(ctx)
    require_area_official(ctx, "programme.create", draft.kecamatan_code)
    programme_id = await ctx.store.programmes.create(NewProgramme(
        draft.name, draft.description, draft.topic, draft.kecamatan_code, draft.desa_code, ctx.user.id), ctx.now)
    await ctx.audit("programme.create", programme_id=programme_id, kecamatan_code=draft.kecamatan_code)
    ctx.draft.clear()
    ctx.draft["programme_id"] = programme_id
    ctx.say(_("Saved. Citizens of the area can now find and follow it."))
    ctx.goto("programme_admin.detail")


# --- one programme ----------------------------------------------------------------------------------

async def ask_detail(ctx: Context) -> None:
    programme = await _managed(ctx, "programme.view", ctx.draft.get("programme_id"))
    if programme is None:
        _gone(ctx)
        return
    subscribers = await ctx.store.programmes.count_subscribers(programme.id)
    lines = [programme.name,
             _("Topic: {topic} · Area: {area}").format(topic=topic_label(programme.topic),
                                                      area=await programme_area(ctx.store, programme)),
             _("Followers: {count}").format(count=subscribers),
             _("Active: citizens can find and follow it.") if programme.active
             else _("Inactive: citizens no longer see it; followers keep it until they unfollow.")]
    if programme.description:
        lines += ["", programme.description]
    options = []
    if programme.active:
        options.append(Option(_("Publish an update"), f"progadm:publish:{programme.id}"))
    options += [Option(_("Updates and feedback"), f"progadm:updates:{programme.id}"),
                Option(_("Deactivate") if programme.active else _("Activate"), f"progadm:toggle:{programme.id}"),
                Option(_("All programmes"), "go:programme_admin"),
                Option(_("Officials' menu"), "go:menu_official")]
    ctx.say("\n".join(lines), options)


# --- publish an update ------------------------------------------------------------------------------

async def ask_publish_text(ctx: Context) -> None:
    programme = await _managed(ctx, "programme.publish", ctx.draft.get("programme_id"))
    if programme is None:
        _gone(ctx)
        return
    ctx.say(_("Write the update for the followers of {programme}, in Bahasa Indonesia.").format(
        programme=programme.name), [Option(_("Cancel"), f"progadm:open:{programme.id}")])


async def handle_publish_text(ctx: Context) -> None:
    ctx.require_official("programme.publish")
    text = bounded_text(ctx, *TEXT)
    if text:
        ctx.draft["text_id"] = text
        ctx.goto("programme_admin.publish_english")


async def ask_publish_english(ctx: Context) -> None:
    ctx.require_official("programme.publish")
    ctx.say(_("Followers who use English get an English text if you write one. Write it now, or skip."),
            [Option(_("Skip"), "skip")])


async def handle_publish_english(ctx: Context) -> None:
    ctx.require_official("programme.publish")
    if ctx.choice == "skip":
        ctx.draft["text_en"] = None
    else:
        text = bounded_text(ctx, *TEXT)
        if text is None:
            return
        ctx.draft["text_en"] = text
    ctx.goto("programme_admin.publish_photo")


async def ask_publish_photo(ctx: Context) -> None:
    ctx.require_official("programme.publish")
    ctx.say(_("Send a photo to go with it, or skip."), [Option(_("Skip"), "skip")], request="photo")


async def handle_publish_photo(ctx: Context) -> None:
    ctx.require_official("programme.publish")
    photo = next((m for m in ctx.msg.media if m.kind == "photo" and m.path), None)
    if ctx.choice == "skip":
        ctx.draft["photo_path"] = None
    elif photo is not None:
        ctx.draft["photo_path"] = photo.path
    else:
        ctx.retry(_("Please send a photo, or choose Skip."))
        return
    ctx.goto("programme_admin.publish_link")


async def ask_publish_link(ctx: Context) -> None:
    ctx.require_official("programme.publish")
    ctx.say(_("Add a link for more information (https://…), or skip."), [Option(_("Skip"), "skip")])


async def handle_publish_link(ctx: Context) -> None:
    ctx.require_official("programme.publish")
    if ctx.choice == "skip":
        ctx.draft["link"] = None
    elif check_url(ctx.text.strip()):
        ctx.draft["link"] = ctx.text.strip()
    else:
        ctx.retry(_("That does not look like a link. It should start with https://"))
        return
    ctx.goto("programme_admin.publish_confirm")


def _drafted_update(ctx: Context, programme_id: int) -> ProgrammeUpdate:
    d = ctx.draft
    return ProgrammeUpdate(0, programme_id, d["text_id"], d.get("text_en"), d.get("photo_path"), d.get("link"), 0, 0,
                           ctx.now)


async def ask_publish_confirm(ctx: Context) -> None:
    programme = await _managed(ctx, "programme.publish", ctx.draft.get("programme_id"))
    if programme is None or "text_id" not in ctx.draft:
        _gone(ctx)
        return
    update = _drafted_update(ctx, programme.id)
    count = await ctx.store.programmes.count_subscribers(programme.id)
    with use_locale("id"):
        preview = update_replies(programme, update)[0]
    lines = [_("Followers will receive this:"), "", preview.text]
    if update.text_en:
        lines += ["", _("Followers who use English get your English text instead.")]
    lines += ["", _("It goes to {count} followers.").format(count=count)]
    ctx.say("\n".join(lines), [Option(_("Send"), "send"), Option(_("Cancel"), f"progadm:open:{programme.id}")],
            media=preview.media)


async def handle_publish_confirm(ctx: Context) -> None:
    programme = await _managed(ctx, "programme.publish", ctx.draft.get("programme_id"))
    if programme is None or "text_id" not in ctx.draft:
        _gone(ctx)
        return
    if ctx.choice != "send":
        ctx.retry(_("Please choose one of the items below."))
        return
    d = ctx.draft
    update_id = await ctx.store.programmes.add_update(
        NewUpdate(programme.id, d["text_id"], d.get("text_en"), d.get("photo_path"), d.get("link"), ctx.user.id),
        ctx.now)
    update = await ctx.store.programmes.update(update_id)
    assert update is not None
    # Queued as a broadcast is (one statement in SQLite): a programme followed by most of the district would
    # otherwise hold every other chat while its followers passed through Python one by one.
    told = await notify_audience(ctx.store, Audience("programme", str(programme.id)), "programme_update",
                                 lambda: update_replies(programme, update), ctx.now,
                                 group_id=f"programme_update:{update_id}",
                                 template_vars=lambda: {"1": programme.name, "2": update.text_for("id")[:500]},
                                 default_locale=ctx.services.default_locale)
    await ctx.store.programmes.set_recipients(update_id, told)
    await ctx.audit("programme.publish", programme_id=programme.id, update_id=update_id, notified=told)
    for key in ("text_id", "text_en", "photo_path", "link"):
        ctx.draft.pop(key, None)
    ctx.say(_("Sent to {count} followers.").format(count=told))
    ctx.goto("programme_admin.detail")


# --- updates and their feedback ---------------------------------------------------------------------

async def ask_updates(ctx: Context) -> None:
    programme = await _managed(ctx, "programme.feedback", ctx.draft.get("programme_id"))
    if programme is None:
        _gone(ctx)
        return
    updates = await ctx.store.programmes.updates(programme.id)
    back = Option(_("Back to the programme"), f"progadm:open:{programme.id}")
    if not updates:
        ctx.say(_("No updates have been published yet."), [back])
        return
    lines = [_("Latest updates of {programme}:").format(programme=programme.name)]
    for number, u in enumerate(updates, start=1):
        lines.append(_("{number}. {date}: {excerpt} ({recipients} received, {feedback} feedback)").format(
            number=number, date=format_date(u.created_at), excerpt=u.text_id[:60], recipients=u.recipients,
            feedback=u.feedback_count))
    ctx.say("\n".join(lines), [Option(f"{format_date(u.created_at)} · {u.text_id[:30]}", f"progadm:update:{u.id}")
                               for u in updates] + [back])


async def ask_update(ctx: Context) -> None:
    ctx.require_official("programme.feedback")
    update = await ctx.store.programmes.update(ctx.draft.get("update_id", 0))
    programme = await _managed(ctx, "programme.feedback", update.programme_id) if update else None
    if update is None or programme is None:
        _gone(ctx)
        return
    await ctx.audit("programme.feedback", update_id=update.id)
    lines = [_("Update of {date}:").format(date=format_datetime(update.created_at)), update.text_id, "",
             _("Feedback ({count}):").format(count=update.feedback_count)]
    for item in await ctx.store.programmes.feedback(update.id, limit=FEEDBACK_SHOWN):
        desa = await ctx.store.areas.desa(item.desa_code)
        who = f"{item.display_name or '-'}" + (f" ({desa.name})" if desa else "")
        text = item.text if len(item.text) <= FEEDBACK_CHARS else item.text[:FEEDBACK_CHARS] + "…"
        lines.append(f"· {who}, {format_datetime(item.created_at)}: {text}")
    ctx.say("\n".join(lines), [Option(_("Back to updates"), f"progadm:updates:{programme.id}")])


async def official_action(ctx: Context, args: str) -> None:
    """`progadm:<verb>:<id>`: open, publish, toggle, updates (programme ids), update (an update id)."""
    verb, _sep, rest = args.partition(":")
    action = f"programme.{verb}"[:60]
    ctx.require_official(action)
    if verb == "update":
        update = await ctx.store.programmes.update(parse_id(rest) or 0)
        programme = await _managed(ctx, action, update.programme_id) if update else None
        if update is None or programme is None:
            _gone(ctx)
            return
        ctx.draft.update(programme_id=programme.id, update_id=update.id)
        ctx.goto("programme_admin.update")
        return
    programme = await _managed(ctx, action, parse_id(rest))
    if programme is None:
        _gone(ctx)
        return
    ctx.draft.clear()
    ctx.draft["programme_id"] = programme.id
    if verb == "publish" and programme.active:
        ctx.goto("programme_admin.publish_text")
    elif verb == "updates":
        ctx.goto("programme_admin.updates")
    elif verb == "toggle":
        await ctx.store.programmes.set_active(programme.id, not programme.active)
        await ctx.audit("programme.active", programme_id=programme.id, active=not programme.active)
        ctx.goto("programme_admin.detail")
    else:
        ctx.goto("programme_admin.detail")


FLOW = Flow(
    "programme_admin",
    {
        START: Step(ask_main, handle_main),
        "programme_admin.name": Step(ask_name, handle_name),
        "programme_admin.description": Step(ask_description, handle_description),
        "programme_admin.topic": Step(ask_topic, handle_topic),
        **official_area_steps("programme_admin", "programme.create", "programme_admin.confirm", key="area",
                              question=N_("For which area is it?"), labels=AREA_LABELS),
        "programme_admin.confirm": Step(ask_confirm, handle_confirm),
        "programme_admin.detail": Step(ask_detail, handle_choose),
        "programme_admin.publish_text": Step(ask_publish_text, handle_publish_text),
        "programme_admin.publish_english": Step(ask_publish_english, handle_publish_english),
        "programme_admin.publish_photo": Step(ask_publish_photo, handle_publish_photo),
        "programme_admin.publish_link": Step(ask_publish_link, handle_publish_link),
        "programme_admin.publish_confirm": Step(ask_publish_confirm, handle_publish_confirm),
        "programme_admin.updates": Step(ask_updates, handle_choose),
        "programme_admin.update": Step(ask_update, handle_choose),
    },
    start=START,
    official_only=True,
)


def register(registry: Registry) -> None:
    registry.add_flow(FLOW)
    registry.add_action("progadm", official_action)
    registry.add_menu(N_("Programmes"), "go:programme_admin", 30, official=True)
