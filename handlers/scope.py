"""Where people belong: the citizen's kecamatan, and where an official may act (one kecamatan, or the whole
kabupaten)."""

from __future__ import annotations

from handlers.flow import Context, NotAllowed


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
