"""Pengaturan: change language or desa; see or delete my data (handlers/privacy.py).

```mermaid
stateDiagram-v2
    [*] --> settings.main
    settings.main --> settings.language: Ganti bahasa
    settings.main --> settings.kecamatan: Ganti desa
    settings.language --> menu.main
    settings.kecamatan --> settings.desa
    settings.desa --> menu.main
```
"""

from __future__ import annotations

from handlers import area_picker
from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import _, set_locale
from handlers.types import Option


async def ask_main(ctx: Context) -> None:
    desa = await ctx.store.areas.desa(ctx.user.desa_code)
    where = f"{desa.name}, {desa.kecamatan_name}" if desa else "-"
    language = "Bahasa Indonesia" if (ctx.user.locale or ctx.services.default_locale) == "id" else "English"
    ctx.say(
        _("Your settings:\nLanguage: {language}\nDesa: {desa}\n\nWhat would you like to change?").format(
            language=language, desa=where),
        [Option(_("Change language"), "settings:language"), Option(_("Change desa"), "settings:desa"),
         Option(_("My data"), "go:privacy"), Option(_("Delete my data"), "privacy:start_delete"),
         Option(_("Back to main menu"), "go:menu")],
    )


async def handle_main(ctx: Context) -> None:
    if ctx.choice == "settings:language":
        ctx.goto("settings.language")
    elif ctx.choice == "settings:desa":
        ctx.goto("settings.kecamatan")
    else:
        ctx.retry(_("Please choose one of the items below."))


async def ask_language(ctx: Context) -> None:
    ctx.say(_("Choose your language."), [Option("Bahasa Indonesia", "lang:id"), Option("English", "lang:en")])


async def handle_language(ctx: Context) -> None:
    if ctx.choice not in ("lang:id", "lang:en"):
        ctx.retry(_("Please choose a language: 1 for Bahasa Indonesia, 2 for English."))
        return
    locale = ctx.choice[5:]
    await ctx.store.users.update(ctx.user.id, locale=locale)
    set_locale(locale)
    ctx.finish(_("Done, I will speak this language from now on."))


async def _save_desa(ctx: Context, desa_code: str) -> None:
    await ctx.store.users.update(ctx.user.id, desa_code=desa_code)
    desa = await ctx.store.areas.desa(desa_code)
    assert desa is not None
    ctx.finish(_("Saved. Your desa is now {desa}, Kecamatan {kecamatan}.").format(
        desa=desa.name, kecamatan=desa.kecamatan_name))


FLOW = Flow(
    "settings",
    {
        "settings.main": Step(ask_main, handle_main),
        "settings.language": Step(ask_language, handle_language),
        **area_picker.home_steps("settings", _save_desa),
    },
    start="settings.main",
)


def register(registry: Registry) -> None:
    registry.add_flow(FLOW)
    registry.add_command("pengaturan", "go:settings")
    registry.add_command("settings", "go:settings")
