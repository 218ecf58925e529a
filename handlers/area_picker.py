"""Choosing a kecamatan then a desa, shared by onboarding, settings and any flow that asks for a place.

Typed names are matched forgivingly ("jogotirto", "Jogo Tirto"): one close match is taken, several are
offered to choose from. A desa name typed at the kecamatan question is understood too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.flow import Context, Step
from handlers.i18n import _
from handlers.types import Option

DesaChosen = Callable[[Context, str], Awaitable[None]]


def home_steps(flow: str, on_chosen: DesaChosen) -> dict[str, Step]:
    """The `<flow>.kecamatan` and `<flow>.desa` steps for where someone lives; `on_chosen(ctx, desa_code)`."""
    kecamatan_step, desa_step = f"{flow}.kecamatan", f"{flow}.desa"

    async def ask_home_kecamatan(ctx: Context) -> None:
        await ask_kecamatan(ctx)

    async def handle_home_kecamatan(ctx: Context) -> None:
        desa_code = await handle_kecamatan(ctx, desa_step)
        if desa_code:
            await on_chosen(ctx, desa_code)

    async def ask_home_desa(ctx: Context) -> None:
        await ask_desa(ctx)

    async def handle_home_desa(ctx: Context) -> None:
        desa_code = await handle_desa(ctx, kecamatan_step)
        if desa_code:
            await on_chosen(ctx, desa_code)

    return {kecamatan_step: Step(ask_home_kecamatan, handle_home_kecamatan),
            desa_step: Step(ask_home_desa, handle_home_desa)}


async def ask_kecamatan(ctx: Context, question: str | None = None) -> None:
    """`question` replaces the citizen's "which kecamatan do you live in" (e.g. for an official's form)."""
    kecamatan = await ctx.store.areas.kecamatan_list()
    ctx.say(
        question or _("Which kecamatan do you live in? Choose one, or type its name (or your desa's name)."),
        [Option(k.name, f"kec:{k.code}") for k in kecamatan],
    )


async def handle_kecamatan(ctx: Context, desa_step: str) -> str | None:
    """Returns a chosen desa code when the user named their desa directly; otherwise moves to `desa_step`."""
    if ctx.choice and ctx.choice.startswith("kec:"):
        code = ctx.choice[4:]
        if await ctx.store.areas.kecamatan(code):
            ctx.draft["kecamatan_code"] = code
            ctx.goto(desa_step)
            return None
    if ctx.choice and ctx.choice.startswith("desa:"):
        return await _chosen_desa(ctx, ctx.choice[5:])
    text = ctx.text
    if not text:
        ctx.retry(_("Please choose your kecamatan from the list."))
        return None
    kecamatan = await ctx.store.areas.match_kecamatan(text)
    if len(kecamatan) == 1:
        ctx.draft["kecamatan_code"] = kecamatan[0].code
        ctx.goto(desa_step)
        return None
    desa = await ctx.store.areas.match_desa(text)
    if len(desa) == 1 and not kecamatan:
        return desa[0].code
    options = [Option(k.name, f"kec:{k.code}") for k in kecamatan]
    options += [Option(f"{d.name} ({d.kecamatan_name})", f"desa:{d.code}") for d in desa]
    if options:
        ctx.say(_("Did you mean one of these?"), options[:6])
        return None
    ctx.retry(_("I could not find \"{name}\". Please choose from the list.").format(name=text[:40]))
    return None


async def ask_desa(ctx: Context, question: str | None = None) -> None:
    """`question` may name the kecamatan with {kecamatan}."""
    code = ctx.draft.get("kecamatan_code")
    kecamatan = await ctx.store.areas.kecamatan(code) if code else None
    desa = await ctx.store.areas.desa_list(code)
    if kecamatan is None:
        desa = []
    ctx.say(
        (question or _("Which desa in {kecamatan}? Choose one or type its name.")).format(
            kecamatan=kecamatan.name if kecamatan else "-"),
        [Option(d.name, f"desa:{d.code}") for d in desa] + [Option(_("Another kecamatan"), "area:back")],
    )


async def handle_desa(ctx: Context, kecamatan_step: str) -> str | None:
    """The chosen desa code, or None after saying what to do next."""
    if ctx.choice == "area:back":
        ctx.goto(kecamatan_step)
        return None
    if ctx.choice and ctx.choice.startswith("desa:"):
        return await _chosen_desa(ctx, ctx.choice[5:])
    text = ctx.text
    if not text:
        ctx.retry(_("Please choose your desa from the list."))
        return None
    desa = await ctx.store.areas.match_desa(text, ctx.draft.get("kecamatan_code"))
    if not desa:
        desa = await ctx.store.areas.match_desa(text)
    if len(desa) == 1:
        return desa[0].code
    if desa:
        options = [Option(f"{d.name} ({d.kecamatan_name})", f"desa:{d.code}") for d in desa]
        ctx.say(_("Did you mean one of these?"), options)
        return None
    ctx.retry(_("I could not find \"{name}\". Please choose from the list.").format(name=text[:40]))
    return None


async def _chosen_desa(ctx: Context, code: str) -> str | None:
    if await ctx.store.areas.desa(code):
        return code
    ctx.retry(_("Please choose your desa from the list."))
    return None
