"""Choosing whom a broadcast or poll goes to: everyone, a kecamatan, a desa, a programme's subscribers,
the users of one channel, or the people who chose one language.

Shared by the broadcast and poll flows: `AudiencePicker(flow, done).steps()` gives a flow its audience
steps; they leave the choice in `ctx.draft["audience"]` and go to `done`. An official limited to one
kecamatan is offered only that kecamatan and its desa (and the send is checked again server side).
"""

from __future__ import annotations

from handlers.flow import Context, Step
from handlers.i18n import N_, _
from handlers.types import Option
from storage.audience import Audience
from storage.db import Store

KIND_LABELS = {
    "everyone": N_("Everyone"),
    "kecamatan": N_("One kecamatan"),
    "desa": N_("One desa"),
    "programme": N_("Subscribers of a programme"),
    "channel": N_("Users of one channel"),
    "language": N_("People who chose one language"),
}
CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp", "console": "Console"}
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}
_WORK_KEYS = ("aud_want", "aud_kecamatan")


def area_limit(ctx: Context) -> str | None:
    """The kecamatan an official is limited to (admins never are)."""
    return None if ctx.user.is_admin else ctx.user.official_kecamatan_code


def drafted_audience(ctx: Context) -> Audience | None:
    """The audience chosen in this conversation, or None if the draft holds none (or a malformed one)."""
    try:
        return Audience.from_draft(ctx.draft["audience"])
    except (KeyError, TypeError, ValueError):
        return None


async def describe(store: Store, audience: Audience) -> str:
    """The audience in words, for the official's review and progress messages."""
    value = audience.value or ""
    if audience.kind == "kecamatan":
        kecamatan = await store.areas.kecamatan(value)
        return _("everyone in Kecamatan {kecamatan}").format(kecamatan=kecamatan.name if kecamatan else value)
    if audience.kind == "desa":
        desa = await store.areas.desa(value)
        if desa is None:
            return _("everyone in Desa {desa}").format(desa=value)
        return _("everyone in Desa {desa}, Kecamatan {kecamatan}").format(desa=desa.name, kecamatan=desa.kecamatan_name)
    if audience.kind == "programme":
        names = dict(await store.audiences.programmes())
        return _("subscribers of the programme {programme}").format(programme=names.get(value, value))
    if audience.kind == "channel":
        return _("everyone on {channel}").format(channel=CHANNEL_NAMES.get(value, value))
    if audience.kind == "language":
        return _("everyone who chose {language}").format(language=LANGUAGE_NAMES.get(value, value))
    return _("everyone")


class AudiencePicker:
    def __init__(self, flow: str, done: str) -> None:
        self.flow = flow
        self.done = done
        self.start = f"{flow}.audience"

    def steps(self) -> dict[str, Step]:
        return {
            self.start: Step(self.ask_kind, self.handle_kind),
            f"{self.flow}.audience_kecamatan": Step(self.ask_kecamatan, self.handle_kecamatan),
            f"{self.flow}.audience_desa": Step(self.ask_desa, self.handle_desa),
            f"{self.flow}.audience_value": Step(self.ask_value, self.handle_value),
        }

    async def ask_kind(self, ctx: Context) -> None:
        limit = area_limit(ctx)
        if limit:
            kecamatan = await ctx.store.areas.kecamatan(limit)
            name = kecamatan.name if kecamatan else limit
            options = [Option(_("Everyone in Kecamatan {kecamatan}").format(kecamatan=name), "aud:kecamatan"),
                       Option(_("One desa in Kecamatan {kecamatan}").format(kecamatan=name), "aud:desa")]
        else:
            options = [Option(_(KIND_LABELS[kind]), f"aud:{kind}") for kind in await ctx.store.audiences.kinds()]
        ctx.say(_("Who should receive it?"), options)

    async def handle_kind(self, ctx: Context) -> None:
        kind = (ctx.choice or "").removeprefix("aud:")
        limit = area_limit(ctx)
        for key in _WORK_KEYS:
            ctx.draft.pop(key, None)
        if kind == "kecamatan" and limit:
            self._chosen(ctx, Audience("kecamatan", limit))
        elif kind == "desa" and limit:
            ctx.draft.update(aud_want="desa", aud_kecamatan=limit)
            ctx.goto(f"{self.flow}.audience_desa")
        elif limit:
            ctx.retry(_("Please choose one of the items below."))
        elif kind == "everyone":
            self._chosen(ctx, Audience())
        elif kind in ("kecamatan", "desa"):
            ctx.draft["aud_want"] = kind
            ctx.goto(f"{self.flow}.audience_kecamatan")
        elif kind in ("programme", "channel", "language") and kind in await ctx.store.audiences.kinds():
            ctx.draft["aud_want"] = kind
            ctx.goto(f"{self.flow}.audience_value")
        else:
            ctx.retry(_("Please choose one of the items below."))

    async def ask_kecamatan(self, ctx: Context) -> None:
        kecamatan = await ctx.store.areas.kecamatan_list()
        ctx.say(_("Which kecamatan? Choose one or type its name."),
                [Option(k.name, f"audkec:{k.code}") for k in kecamatan])

    async def handle_kecamatan(self, ctx: Context) -> None:
        if ctx.choice and ctx.choice.startswith("audkec:"):
            found = await ctx.store.areas.kecamatan(ctx.choice.removeprefix("audkec:"))
            matches = [found] if found else []
        elif ctx.text:
            matches = await ctx.store.areas.match_kecamatan(ctx.text)
        else:
            matches = []
        if len(matches) != 1:
            self._did_you_mean(ctx, [Option(k.name, f"audkec:{k.code}") for k in matches])
            return
        if ctx.draft.get("aud_want") == "desa":
            ctx.draft["aud_kecamatan"] = matches[0].code
            ctx.goto(f"{self.flow}.audience_desa")
        else:
            self._chosen(ctx, Audience("kecamatan", matches[0].code))

    async def ask_desa(self, ctx: Context) -> None:
        code = str(ctx.draft.get("aud_kecamatan", ""))
        kecamatan = await ctx.store.areas.kecamatan(code)
        desa = await ctx.store.areas.desa_list(code)
        ctx.say(_("Which desa in Kecamatan {kecamatan}? Choose one or type its name.").format(
            kecamatan=kecamatan.name if kecamatan else code), [Option(d.name, f"auddesa:{d.code}") for d in desa])

    async def handle_desa(self, ctx: Context) -> None:
        kecamatan_code = str(ctx.draft.get("aud_kecamatan", ""))
        if ctx.choice and ctx.choice.startswith("auddesa:"):
            found = await ctx.store.areas.desa(ctx.choice.removeprefix("auddesa:"))
            matches = [found] if found and found.kecamatan_code == kecamatan_code else []
        elif ctx.text:
            matches = await ctx.store.areas.match_desa(ctx.text, kecamatan_code)
        else:
            matches = []
        if len(matches) != 1:
            self._did_you_mean(ctx, [Option(d.name, f"auddesa:{d.code}") for d in matches])
            return
        self._chosen(ctx, Audience("desa", matches[0].code))

    async def ask_value(self, ctx: Context) -> None:
        want = ctx.draft.get("aud_want")
        options = await self._values(ctx)
        if not options:
            ctx.say(_("There is nothing to choose here yet."))
            ctx.goto(self.start)
            return
        question = {
            "programme": _("Which programme's subscribers?"),
            "channel": _("Which channel?"),
            "language": _("Which language?"),
        }.get(str(want), _("Please choose one of the items below."))
        ctx.say(question, options)

    async def handle_value(self, ctx: Context) -> None:
        allowed = {option.payload for option in await self._values(ctx)}
        if ctx.choice not in allowed:
            ctx.retry(_("Please choose one of the items below."))
            return
        assert ctx.choice is not None
        self._chosen(ctx, Audience(str(ctx.draft["aud_want"]), ctx.choice.removeprefix("audval:")))

    async def _values(self, ctx: Context) -> list[Option]:
        want = ctx.draft.get("aud_want")
        if want == "programme":
            return [Option(name, f"audval:{key}") for key, name in await ctx.store.audiences.programmes()]
        if want == "channel":
            return [Option(CHANNEL_NAMES.get(c, c), f"audval:{c}") for c in await ctx.store.audiences.channels()]
        if want == "language":
            return [Option(name, f"audval:{code}") for code, name in LANGUAGE_NAMES.items()]
        return []

    def _did_you_mean(self, ctx: Context, options: list[Option]) -> None:
        if options:
            ctx.say(_("Did you mean one of these?"), options[:6])
        else:
            ctx.retry(_("I could not find that place. Please choose from the list."))

    def _chosen(self, ctx: Context, audience: Audience) -> None:
        for key in _WORK_KEYS:
            ctx.draft.pop(key, None)
        ctx.draft["audience"] = audience.to_draft()
        ctx.goto(self.done)
