"""Data saya / Hapus data saya (UU PDP No. 27/2022): see what we hold, get it as a file, delete it.

```mermaid
stateDiagram-v2
    [*] --> privacy.mine: Pengaturan > Data saya
    privacy.mine --> privacy.mine: Kirim sebagai file
    privacy.mine --> privacy.delete: Hapus data saya
    [*] --> privacy.delete: Pengaturan > Hapus data saya
    privacy.delete --> [*]: Ya, hapus (profile gone; reports stay, anonymous)
    privacy.delete --> menu.main: Tidak jadi
```
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from handlers.consultations import cancel_registration
from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_, _, format_datetime
from handlers.types import Option
from storage.clock import from_db

# What each part of the export is called for a citizen; a part not named here is shown by its key.
EXPORT_LABELS = {
    "outbox": N_("Messages we sent you"),
    "reports.own": N_("Reports you sent"),
    "reports.supported": N_("Reports you support"),
    "consultations.registrations": N_("Consultation registrations"),
    "consultations.proposals": N_("Proposals you made"),
    "consultations.supported_proposals": N_("Proposals you support"),
    "programmes.subscriptions": N_("Programme subscriptions"),
    "programmes.feedback": N_("Your feedback on programme updates"),
    "polls": N_("Poll answers"),
}
_NOT_COUNTED = ("users", "conversations", "audit")  # the profile is shown above; drafts and audit are not a list


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list | dict) else int(bool(value))


def _parts(data: dict[str, Any]) -> list[tuple[str, int]]:
    """(label, count) for every part of every aggregate's export, zeros included, so nothing is hidden."""
    parts = []
    for name, value in data.items():
        if name in _NOT_COUNTED:
            continue
        if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
            for key, rows in value.items():
                label = EXPORT_LABELS.get(f"{name}.{key}")
                parts.append((_(label) if label else f"{name}.{key}", len(rows)))
        else:
            label = EXPORT_LABELS.get(name)
            parts.append((_(label) if label else name, _count(value)))
    return parts


def _summary(data: dict[str, Any]) -> list[str]:
    """What we hold, in a few lines: shown on "Data saya" and sent with the file (a channel that cannot
    send files still shows this)."""
    profile = data.get("users", {})
    consent = from_db(profile.get("consent_at"))
    lines = [
        _("This is what Sinergi holds about you:"),
        _("Name: {name}").format(name=profile.get("display_name") or "-"),
        _("Channel: {channel} ({id})").format(channel=profile.get("channel"), id=profile.get("external_id")),
        _("Desa: {desa}").format(desa=profile.get("desa") or "-"),
        _("Agreed to the privacy notice: {when}").format(when=format_datetime(consent) if consent else "-"),
    ]
    lines += [_("{what}: {count}").format(what=label, count=count) for label, count in _parts(data)]
    return lines


async def ask_mine(ctx: Context) -> None:
    data = await ctx.store.personal_data(ctx.user.id)
    ctx.say("\n".join(_summary(data)), [
        Option(_("Send it as a file"), "privacy:file"),
        Option(_("Delete my data"), "privacy:delete"),
        Option(_("Back to main menu"), "go:menu"),
    ])


async def handle_mine(ctx: Context) -> None:
    if ctx.choice == "privacy:file":
        data = await ctx.store.personal_data(ctx.user.id)
        folder = ctx.services.media_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"data-saya-{uuid.uuid4().hex}.json"
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        ctx.say("\n".join([_("Here is all your data as a file."), "", *_summary(data)]), files=(str(path),))
        ctx.finish()
    elif ctx.choice == "privacy:delete":
        ctx.goto("privacy.delete")
    else:
        ctx.retry(_("Please choose one of the items below."))


async def ask_delete(ctx: Context) -> None:
    ctx.say(
        _("Delete your data? Your profile, settings, registrations, subscriptions and chat history will be "
          "deleted. Your reports, proposals and feedback stay for the public record, but without your name or "
          "number. Your poll answers stay only as counts. This cannot be undone."),
        [Option(_("Yes, delete my data"), "privacy:confirm"), Option(_("No, keep it"), "go:menu")],
    )


async def handle_delete(ctx: Context) -> None:
    if ctx.choice != "privacy:confirm":
        ctx.retry(_("Please choose one of the items below."))
        return
    upcoming = await ctx.store.consultations.active_registrations(ctx.user.id, ctx.now, limit=200)
    for registration, consultation in upcoming:
        if ctx.now < consultation.starts_at:  # the freed place goes to the first person waiting
            await cancel_registration(ctx.store, registration, consultation, ctx.now, ctx.services.timezone,
                                      ctx.services.default_locale)
    await ctx.store.forget_user(ctx.user.id)
    ctx.user_deleted = True
    ctx.say(_("Your data has been deleted. Thank you for using Sinergi. If you write to us again, we will start "
              "fresh."))


FLOW = Flow(
    "privacy",
    {"privacy.mine": Step(ask_mine, handle_mine), "privacy.delete": Step(ask_delete, handle_delete)},
    start="privacy.mine",
)


async def start_delete(ctx: Context, _args: str) -> None:
    ctx.goto("privacy.delete")


def register(registry: Registry) -> None:
    registry.add_flow(FLOW)
    registry.add_action("privacy:start_delete", start_delete)
