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

from handlers.flow import Context, Flow, Registry, Step
from handlers.i18n import N_, _, format_datetime
from handlers.types import Option
from storage.clock import from_db

# How each aggregate's export is called for a citizen; an aggregate not named here is shown by its key.
AGGREGATE_LABELS = {
    "reports": N_("Reports"),
    "consultations": N_("Consultations"),
    "programmes": N_("Programme subscriptions"),
    "polls": N_("Poll answers"),
}


def _count(value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        return sum(_count(v) for v in value.values()) if value and all(
            isinstance(v, list) for v in value.values()) else int(bool(value))
    return int(bool(value))


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
    for name, value in data.items():
        if name in ("users", "conversations", "outbox", "audit"):
            continue
        count = _count(value)
        if count:
            label = _(AGGREGATE_LABELS[name]) if name in AGGREGATE_LABELS else name
            lines.append(_("{what}: {count}").format(what=label, count=count))
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
          "deleted. Your reports stay for the public record, but without your name or number. Your poll "
          "answers stay only as counts. This cannot be undone."),
        [Option(_("Yes, delete my data"), "privacy:confirm"), Option(_("No, keep it"), "go:menu")],
    )


async def handle_delete(ctx: Context) -> None:
    if ctx.choice != "privacy:confirm":
        ctx.retry(_("Please choose one of the items below."))
        return
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
