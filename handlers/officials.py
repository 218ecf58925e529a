"""Officials: an admin grants or revokes the official role, optionally limited to one kecamatan.

Admins are the people named in `OFFICIAL_TELEGRAM_IDS` / `OFFICIAL_WHATSAPP_NUMBERS`; only they manage
officials, and an admin's role is not revoked here (remove them from the settings instead).

```mermaid
stateDiagram-v2
    [*] --> officials.main: Kelola petugas (admins only)
    officials.main --> officials.channel: Tambah petugas
    officials.main --> officials.remove: Hapus petugas
    officials.channel --> officials.external_id
    officials.external_id --> officials.kecamatan
    officials.kecamatan --> officials.main: granted (audited; the person is told)
    officials.remove --> officials.main: revoked (audited; the person is told)
```

The same in one line: `/pejabat tambah <channel> <id> [kecamatan]`, `/pejabat hapus <channel> <id>`,
`/pejabat daftar`. Scripts use `sinergi officials add|remove|list` (bot/cli_officials.py), which calls
`grant` and `revoke` below.
"""

from __future__ import annotations

from datetime import datetime

from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_, _
from handlers.notify import notify
from handlers.types import Option, Reply
from storage.areas import Kecamatan
from storage.db import Store
from storage.users import User, normalise_external_id

CHANNELS = {"telegram": "Telegram", "whatsapp": "WhatsApp", "console": "Console"}
CHANNEL_WORDS = {"telegram": "telegram", "tg": "telegram", "whatsapp": "whatsapp", "wa": "whatsapp",
                 "console": "console"}
ADD_WORDS = ("tambah", "add")
REMOVE_WORDS = ("hapus", "remove")
LIST_WORDS = ("daftar", "list")
MAX_LISTED = 30


def parse_external_id(channel: str, raw: str) -> str | None:
    """The id as the channel stores it (WhatsApp `+62…`), or None if it cannot be one."""
    external_id = normalise_external_id(raw, channel)
    if channel == "telegram":
        return external_id if external_id.isdigit() and len(external_id) <= 20 else None
    if channel == "whatsapp":
        digits = external_id.removeprefix("+")
        return external_id if external_id.startswith("+") and digits.isdigit() and 8 <= len(digits) <= 15 else None
    if channel == "console":
        return external_id if 0 < len(external_id) <= 64 and external_id.isprintable() else None
    return None


async def resolve_kecamatan(store: Store, text: str) -> Kecamatan | None:
    """A kecamatan by code (34.04.08) or by its exact name (any case or spacing): a role is not granted
    on a guess, so no fuzzy matching here."""
    text = text.strip()[:40]
    by_code = await store.areas.kecamatan(text)
    if by_code:
        return by_code
    wanted = "".join(text.split()).casefold()
    return next((k for k in await store.areas.kecamatan_list() if "".join(k.name.split()).casefold() == wanted), None)


async def grant(store: Store, channel: str, external_id: str, kecamatan_code: str | None, now: datetime,
                default_locale: str = "id") -> User:
    """Make someone an official (limited to one kecamatan if given); they are told if they already chat."""
    existing = await store.users.find(channel, external_id)
    if existing is not None and existing.is_admin:
        return existing
    async with store.transaction():
        user = await store.users.grant_role(channel, external_id, "official", kecamatan_code, now)
        kecamatan = await store.areas.kecamatan(kecamatan_code) if kecamatan_code else None
        district = await store.areas.district_name()
        if user.consent_at:
            await notify(store, [user], "role_changed", lambda: [Reply(
                _("You are now a district official in Sinergi for Kecamatan {kecamatan}. Type MENU and choose "
                  "Officials' menu.").format(kecamatan=kecamatan.name) if kecamatan else
                _("You are now a district official in Sinergi. Type MENU and choose Officials' menu."))],
                now, template_vars=lambda: {"1": kecamatan.name if kecamatan else district},
                default_locale=default_locale)
    return user


async def revoke(store: Store, channel: str, external_id: str, now: datetime,
                 default_locale: str = "id") -> User | None:
    """Take the official role back; None if they were not an official (admins stay admins)."""
    user = await store.users.find(channel, external_id)
    if user is None or user.role != "official":
        return None
    async with store.transaction():
        await store.users.set_role(user.id, "citizen")
        district = await store.areas.district_name()
        if user.consent_at:
            await notify(store, [user], "role_changed", lambda: [Reply(
                _("You are no longer a district official in Sinergi. Thank you for your work."))],
                now, template_vars=lambda: {"1": district}, default_locale=default_locale)
    return user


async def officials_text(store: Store) -> str:
    officials = await store.users.officials()
    lines = [_("Officials and admins ({count}):").format(count=len(officials))]
    for user in officials[:MAX_LISTED]:
        lines.append("• " + await describe_official(store, user))
    if len(officials) > MAX_LISTED:
        lines.append(_("… and {more} more.").format(more=len(officials) - MAX_LISTED))
    return "\n".join(lines)


async def describe_official(store: Store, user: User) -> str:
    who = f"{user.display_name or '-'} ({CHANNELS.get(user.channel, user.channel)} {user.external_id})"
    if user.is_admin:
        return _("{who}: admin").format(who=who)
    kecamatan = await store.areas.kecamatan(user.official_kecamatan_code) if user.official_kecamatan_code else None
    if kecamatan:
        return _("{who}: official for Kecamatan {kecamatan}").format(who=who, kecamatan=kecamatan.name)
    return _("{who}: official for the whole district").format(who=who)


# --- /pejabat in one line -----------------------------------------------------------------------------------

def _usage() -> str:
    return _("Use:\n/pejabat tambah telegram 123456789 [kecamatan]\n/pejabat tambah whatsapp +6281234567890 "
             "[kecamatan]\n/pejabat hapus telegram 123456789\n/pejabat daftar\nOr type /pejabat for step by step.")


async def officials_action(ctx: Context, args: str) -> None:
    """`officials:command` (the /pejabat line); `officials` alone opens the step-by-step flow."""
    ctx.require_admin("officials.manage")
    words = ctx.text.split()[1:] if args == "command" else []
    if not words:
        ctx.goto("officials.main")
        return
    verb = words[0].casefold()
    if verb in LIST_WORDS:
        ctx.say(await officials_text(ctx.store))
        return
    channel = CHANNEL_WORDS.get(words[1].casefold()) if len(words) >= 3 else None
    external_id = parse_external_id(channel, words[2]) if channel else None
    if verb not in ADD_WORDS + REMOVE_WORDS or external_id is None:
        ctx.say(_usage())
        return
    assert channel is not None
    if verb in REMOVE_WORDS:
        await _revoke(ctx, channel, external_id)
        return
    kecamatan = None
    if len(words) > 3:
        kecamatan = await resolve_kecamatan(ctx.store, " ".join(words[3:]))
        if kecamatan is None:
            ctx.say(_("I could not find the kecamatan \"{name}\".").format(name=" ".join(words[3:])[:40]))
            return
    await _grant(ctx, channel, external_id, kecamatan)


async def _grant(ctx: Context, channel: str, external_id: str, kecamatan: Kecamatan | None) -> None:
    user = await grant(ctx.store, channel, external_id, kecamatan.code if kecamatan else None, ctx.now,
                       ctx.services.default_locale)
    await ctx.audit("officials.grant", target_user=user.id, channel=channel,
                    kecamatan=kecamatan.code if kecamatan else None)
    ctx.say(_("Done. {official}").format(official=await describe_official(ctx.store, user)))


async def _revoke(ctx: Context, channel: str, external_id: str) -> None:
    user = await revoke(ctx.store, channel, external_id, ctx.now, ctx.services.default_locale)
    if user is None:
        ctx.say(_("{channel} {id} is not an official (admins are set in the settings).").format(
            channel=CHANNELS[channel], id=external_id))
        return
    await ctx.audit("officials.revoke", target_user=user.id, channel=channel)
    ctx.say(_("Done. {channel} {id} is no longer an official.").format(channel=CHANNELS[channel], id=external_id))


# --- step by step -------------------------------------------------------------------------------------------

async def ask_main(ctx: Context) -> None:
    ctx.require_admin("officials.manage")
    ctx.say(await officials_text(ctx.store), [
        Option(_("Add an official"), "off:add"), Option(_("Remove an official"), "off:remove"),
        Option(_("Officials' menu"), "go:menu_official"),
    ])


async def handle_main(ctx: Context) -> None:
    ctx.require_admin("officials.manage")
    if ctx.choice == "off:add":
        ctx.goto("officials.channel")
    elif ctx.choice == "off:remove":
        ctx.goto("officials.remove")
    else:
        ctx.retry(_("Please choose one of the items below."))


async def ask_channel(ctx: Context) -> None:
    ctx.require_admin("officials.manage")
    ctx.say(_("Which channel does the new official use?"),
            [Option(name, f"offch:{channel}") for channel, name in CHANNELS.items()])


async def handle_channel(ctx: Context) -> None:
    ctx.require_admin("officials.manage")
    channel = (ctx.choice or "").removeprefix("offch:")
    if channel not in CHANNELS:
        ctx.retry(_("Please choose one of the items below."))
        return
    ctx.draft["channel"] = channel
    ctx.goto("officials.external_id")


async def ask_external_id(ctx: Context) -> None:
    ctx.require_admin("officials.manage")
    channel = ctx.draft.get("channel")
    if channel == "telegram":
        ctx.say(_("Type their Telegram user id (a number; they can find it by writing to @userinfobot)."))
    elif channel == "whatsapp":
        ctx.say(_("Type their WhatsApp number, for example +6281234567890."))
    else:
        ctx.say(_("Type the console persona name."))


async def handle_external_id(ctx: Context) -> None:
    ctx.require_admin("officials.manage")
    external_id = parse_external_id(str(ctx.draft.get("channel")), ctx.text)
    if external_id is None:
        ctx.retry(_("That does not look like a valid id for this channel. Please check it and type it again."))
        return
    ctx.draft["external_id"] = external_id
    ctx.goto("officials.kecamatan")


async def ask_kecamatan(ctx: Context) -> None:
    ctx.require_admin("officials.manage")
    kecamatan = await ctx.store.areas.kecamatan_list()
    ctx.say(_("Limit them to one kecamatan? Choose one, or the whole district."),
            [Option(_("Whole district"), "offkec:all")] + [Option(k.name, f"offkec:{k.code}") for k in kecamatan])


async def handle_kecamatan(ctx: Context) -> None:
    ctx.require_admin("officials.manage")
    kecamatan = None
    if ctx.choice != "offkec:all":
        typed = (ctx.choice or "").removeprefix("offkec:") if ctx.choice else ctx.text
        kecamatan = await resolve_kecamatan(ctx.store, typed) if typed else None
        if kecamatan is None:
            ctx.retry(_("Please choose a kecamatan from the list, or the whole district."))
            return
    channel, external_id = ctx.draft.get("channel"), ctx.draft.get("external_id")
    if channel not in CHANNELS or not isinstance(external_id, str):
        ctx.goto("officials.main")  # a conversation saved without them: start again
        return
    await _grant(ctx, channel, external_id, kecamatan)
    ctx.draft.clear()
    ctx.goto("officials.main")


async def ask_remove(ctx: Context) -> None:
    ctx.require_admin("officials.manage")
    removable = [user for user in await ctx.store.users.officials() if user.role == "official"][:MAX_LISTED]
    if not removable:
        ctx.say(_("There are no officials to remove (admins are set in the settings)."))
        ctx.goto("officials.main")
        return
    ctx.say(_("Whose official role should end?"),
            [Option(f"{u.display_name or '-'} ({CHANNELS.get(u.channel, u.channel)} {u.external_id})",
                    f"offrm:{u.id}") for u in removable] + [Option(_("Back"), "off:back")])


async def handle_remove(ctx: Context) -> None:
    ctx.require_admin("officials.manage")
    raw = (ctx.choice or "").removeprefix("offrm:")
    user = await ctx.store.users.get(int(raw)) if raw.isdigit() and len(raw) < 12 else None
    if ctx.choice == "off:back":
        ctx.goto("officials.main")
        return
    if user is None:
        ctx.retry(_("Please choose one of the items below."))
        return
    await _revoke(ctx, user.channel, user.external_id)
    ctx.goto("officials.main")


FLOW = Flow(
    "officials",
    {
        "officials.main": Step(ask_main, handle_main),
        "officials.channel": Step(ask_channel, handle_channel),
        "officials.external_id": Step(ask_external_id, handle_external_id),
        "officials.kecamatan": Step(ask_kecamatan, handle_kecamatan),
        "officials.remove": Step(ask_remove, handle_remove),
    },
    start="officials.main",
    official_only=True,
)


def register(registry: Registry) -> None:
    registry.add_flow(FLOW)
    registry.add_action("officials", officials_action)
    registry.add_menu(N_("Manage officials (admins)"), "go:officials", order=90, official=True)
    registry.add_command("pejabat", "officials:command", official=True,
                         description=N_("Add or remove officials (admins)"))
    registry.add_command("officials", "officials:command", official=True)
