"""First contact: greet, choose language, agree to the privacy notice, give kecamatan and desa.

```mermaid
stateDiagram-v2
    [*] --> onboarding.language: any first message
    onboarding.language --> onboarding.consent: Bahasa Indonesia / English
    onboarding.consent --> onboarding.kecamatan: Setuju
    onboarding.consent --> onboarding.consent: Tidak setuju (nothing stored but the chat id)
    onboarding.kecamatan --> onboarding.desa: kecamatan chosen
    onboarding.kecamatan --> menu.main: desa typed directly
    onboarding.desa --> menu.main: desa chosen
```
"""

from __future__ import annotations

from handlers import area_picker
from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import _, set_locale
from handlers.types import Option
from storage.clock import to_db

START = "onboarding.language"


def privacy_notice(draft_retention_days: int) -> str:
    return _(
        "Before we start, about your data (UU PDP No. 27/2022):\n"
        "- We store your name as shown in this chat, your chat number or id, your desa, "
        "and what you send us (reports, opinions, poll answers).\n"
        "- We use it only to handle your reports and to send you news you asked for.\n"
        "- Only the district officials who handle your matter can see it.\n"
        "- We keep your data while you use Sinergi; chat drafts are deleted after {days} days.\n"
        "- You can see or delete your data any time in Settings.\n\n"
        "Do you agree?"
    ).format(days=draft_retention_days)


async def ask_language(ctx: Context) -> None:
    ctx.say(
        _("Hello! I am Sinergi, the chat service of {district}. I help you work together with the district "
          "government: report problems, join consultations and follow programmes.").format(
            district=await ctx.store.areas.district_name() or _("the district government")),
        [Option("Bahasa Indonesia", "lang:id"), Option("English", "lang:en")],
    )


async def handle_language(ctx: Context) -> None:
    if ctx.choice not in ("lang:id", "lang:en"):
        ctx.retry(_("Please choose a language: 1 for Bahasa Indonesia, 2 for English."))
        return
    locale = ctx.choice[5:]
    await ctx.store.users.update(ctx.user.id, locale=locale)
    set_locale(locale)
    ctx.goto("onboarding.consent")


async def ask_consent(ctx: Context) -> None:
    ctx.say(privacy_notice(ctx.services.draft_retention_days),
            [Option(_("I agree"), "consent:yes"), Option(_("I do not agree"), "consent:no")])


async def handle_consent(ctx: Context) -> None:
    if ctx.choice == "consent:yes":
        await ctx.store.users.update(ctx.user.id, consent_at=to_db(ctx.now))
        ctx.say(_("Thank you."))
        ctx.goto("onboarding.kecamatan")
    elif ctx.choice == "consent:no":
        ctx.say(_("That is fine. Without your agreement we cannot keep your reports, so we cannot help you here. "
                  "If you change your mind, just send any message."))
    else:
        ctx.retry(_("Please answer with 1 (I agree) or 2 (I do not agree)."))


async def _done(ctx: Context, desa_code: str) -> None:
    await ctx.store.users.update(ctx.user.id, desa_code=desa_code)
    desa = await ctx.store.areas.desa(desa_code)
    assert desa is not None
    ctx.finish(_("Done! You are registered in Desa {desa}, Kecamatan {kecamatan}. You can change this in Settings.")
               .format(desa=desa.name, kecamatan=desa.kecamatan_name))


FLOW = Flow(
    "onboarding",
    {
        "onboarding.language": Step(ask_language, handle_language),
        "onboarding.consent": Step(ask_consent, handle_consent),
        **area_picker.home_steps("onboarding", _done),
    },
    start=START,
)


def register(registry: Registry) -> None:
    registry.add_flow(FLOW)
