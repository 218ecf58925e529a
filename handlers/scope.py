"""Where people belong: the citizen's kecamatan, and where an official may act (one kecamatan, or the whole
kabupaten)."""

from __future__ import annotations

from handlers import area_picker
from handlers.flow import Context, NotAllowed, Step
from handlers.i18n import _
from handlers.types import Option


async def user_kecamatan(ctx: Context) -> str | None:
    desa = await ctx.store.areas.desa(ctx.user.desa_code)
    return desa.kecamatan_code if desa else None


def official_limit(ctx: Context) -> str | None:
    """The one kecamatan this official is limited to; None for admins and unlimited officials."""
    return None if ctx.user.is_admin else ctx.user.official_kecamatan_code


def require_area_official(ctx: Context, action: str, kecamatan_code: str | None) -> None:
    """`require_official` for a thing in `kecamatan_code`; None means kabupaten-wide, which an official
    limited to one kecamatan may not manage (admins may)."""
    ctx.require_official(action, kecamatan_code=kecamatan_code)
    if kecamatan_code is None and official_limit(ctx):
        raise NotAllowed(action)


def official_area_steps(flow: str, action: str, after: str, *, key: str, question: str,
                        labels: dict[str, str]) -> dict[str, Step]:
    """The steps `<flow>.<key>`, `<flow>.kecamatan`, `<flow>.desa` by which an official says where a new
    thing applies; then `after`. They leave `draft[key]` ('kabupaten' | 'kecamatan' | 'desa'),
    `draft["kecamatan_code"]` and `draft["desa_code"]`. `question` and `labels` (scope -> label, in the
    order offered) are N_ msgids. An official limited to one kecamatan is neither offered the kabupaten
    nor asked which kecamatan."""
    scope_step, kecamatan_step, desa_step = f"{flow}.{key}", f"{flow}.kecamatan", f"{flow}.desa"

    async def ask_scope(ctx: Context) -> None:
        ctx.require_official(action)
        scopes = [s for s in labels if not (s == "kabupaten" and official_limit(ctx))]
        ctx.say(_(question), [Option(_(labels[s]), f"{key}:{s}") for s in scopes])

    async def handle_scope(ctx: Context) -> None:
        ctx.require_official(action)
        scope = (ctx.choice or "").removeprefix(f"{key}:")
        if scope not in labels:
            ctx.retry(_("Please choose one of the items below."))
            return
        ctx.draft.update({key: scope, "kecamatan_code": None, "desa_code": None})
        if scope == "kabupaten":
            require_area_official(ctx, action, None)
            ctx.goto(after)
        elif official_limit(ctx):
            ctx.draft["kecamatan_code"] = official_limit(ctx)
            ctx.goto(desa_step if scope == "desa" else after)
        else:
            ctx.goto(kecamatan_step)

    async def ask_kecamatan(ctx: Context) -> None:
        ctx.require_official(action)
        await area_picker.ask_kecamatan(ctx, _("Which kecamatan is it for? Choose one or type its name."))

    async def handle_kecamatan(ctx: Context) -> None:
        ctx.require_official(action)
        desa_code = await area_picker.handle_kecamatan(ctx, desa_step if ctx.draft.get(key) == "desa" else after)
        if desa_code:
            await take_desa(ctx, desa_code)
        elif ctx.draft.get("kecamatan_code"):
            require_area_official(ctx, action, ctx.draft["kecamatan_code"])

    async def ask_desa(ctx: Context) -> None:
        ctx.require_official(action)
        await area_picker.ask_desa(ctx, _("Which desa in {kecamatan} is it for?"))

    async def handle_desa(ctx: Context) -> None:
        ctx.require_official(action)
        desa_code = await area_picker.handle_desa(ctx, kecamatan_step)
        if desa_code:
            await take_desa(ctx, desa_code)

    async def take_desa(ctx: Context, desa_code: str) -> None:
        desa = await ctx.store.areas.desa(desa_code)
        assert desa is not None
        require_area_official(ctx, action, desa.kecamatan_code)
        ctx.draft["kecamatan_code"] = desa.kecamatan_code
        ctx.draft["desa_code"] = desa.code if ctx.draft.get(key) == "desa" else None
        ctx.goto(after)

    return {scope_step: Step(ask_scope, handle_scope), kecamatan_step: Step(ask_kecamatan, handle_kecamatan),
            desa_step: Step(ask_desa, handle_desa)}
