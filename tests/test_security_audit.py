"""Security audit: every official command, menu entry, action and step, tried by people who may not use it.

The list is generated from the registry, so a new official feature is audited without touching this file:
official commands and menu entries, every action not on the explicit citizen allow-list below, every step
of a flow marked `official_only` (and any other step that checks the role), and every screen an admin can
reach by pressing buttons from the officials' menu (crawled, with the conversation state each button was
offered in). A citizen must be refused every time, with an audit row. An official limited to another
kecamatan must be refused whenever a button names something in Berbah, must never see anything from
Berbah, and must change nothing there.
"""

from __future__ import annotations

import inspect
import itertools
import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from bot.app import App
from handlers.flow import Registry
from handlers.types import Incoming, Reply
from storage.consultations import NewConsultation, NewProposal
from storage.conversations import Conversation
from storage.programmes import NewProgramme, NewUpdate
from tests.reports_support import BERBAH, JOGOTIRTO, add_report

REFUSED = "hanya petugas Pemkab"
GAMPING = "34.04.01"

# Actions meant for citizens. Every other action in the registry must refuse a citizen; a new action must be
# added here (and justified) or refuse.
CITIZEN_ACTIONS = frozenset({
    "help", "go:menu", "go:onboarding", "go:settings", "go:privacy", "privacy:start_delete",
    "go:report", "go:my_reports", "report:rate", "report:reopen",
    "go:consultation", "cons", "go:programmes", "prog",
    "go:polls", "poll",  # answering polls; creating and closing them is "polladm" and go:poll_new
})

_ids = itertools.count(1)


@dataclass(frozen=True)
class Probe:
    """One message sent by someone whose conversation stands at `state` with `data` (draft, offered options)."""

    state: str | None
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    payload: str | None = None
    text: str = ""

    def __str__(self) -> str:
        return f"{self.payload or self.text!r} at {self.state} draft={self.data.get('draft')}"


@dataclass
class Berbah:
    """What exists in Kecamatan Berbah before the audit, and the texts that would show it leaked."""

    report_id: int
    consultation_id: int
    proposal_id: int
    programme_id: int
    update_id: int
    markers: tuple[str, ...]


async def seed_berbah(app: App) -> Berbah:
    store, now = app.store, app.clock()
    ani = await store.users.touch_or_create("console", "ani", "Ani Lestari", now)
    await store.users.update(ani.id, consent_at="2026-01-01T00:00:00.000Z", desa_code=JOGOTIRTO)
    report = await add_report(store, ani.id, now, description="Talud sungai Kuning longsor dekat makam")
    consultation_id = await store.consultations.create(NewConsultation(
        "Rembug Warga Jogotirto Rahasia", "Membahas talud.", "desa", BERBAH, JOGOTIRTO, "Balai Desa", None, None,
        None, now - timedelta(hours=1), now + timedelta(hours=2), 50, None, None), now)
    await store.consultations.register(consultation_id, ani.id, "registered", now)
    proposal_id = await store.consultations.add_proposal(NewProposal(
        consultation_id, ani.id, "Perbaikan talud Kali Kuning", "Talud longsor, jalan tergerus.", "Dusun Kalang",
        None, None, "infrastruktur"), now)
    programme_id = await store.programmes.create(NewProgramme(
        "Bank Sampah Berbah Lestari", "Tabungan sampah.", "lingkungan", BERBAH, None, None), now)
    await store.programmes.subscribe(programme_id, ani.id, now)
    update_id = await store.programmes.add_update(
        NewUpdate(programme_id, "Penimbangan bank sampah pindah ke Jumat.", None, None, None, None), now)
    await store.programmes.add_feedback(update_id, ani.id, "Mohon ada penjemputan untuk lansia.", now)
    return Berbah(report.id, consultation_id, proposal_id, programme_id, update_id, markers=(
        report.number, "Talud sungai Kuning", "Rembug Warga Jogotirto", "Perbaikan talud Kali Kuning",
        "Bank Sampah Berbah", "Penimbangan bank sampah", "penjemputan untuk lansia", "Ani Lestari"))


async def person(app: App, name: str, role: str, kecamatan: str | None = None) -> int:
    store = app.store
    user = await store.users.touch_or_create("console", name, name.title(), app.clock())
    await store.users.update(user.id, consent_at="2026-01-01T00:00:00.000Z", desa_code=JOGOTIRTO)
    await store.users.set_role(user.id, role, kecamatan)
    return user.id


async def send(app: App, who: str, probe: Probe) -> list[Reply]:
    """Put `who` where the probe stands (as a stale or forged conversation would), then send its message."""
    user = await app.store.users.find("console", who)
    assert user is not None
    await app.store.conversations.save(user.id, Conversation(probe.state, probe.data), app.clock())
    return await app.engine.handle(Incoming("console", who, text=probe.text, payload=probe.payload,
                                            message_id=f"audit-{next(_ids)}"))


def citizen_handlers(registry: Registry) -> set[object]:
    return {registry.actions[name] for name in CITIZEN_ACTIONS}


def is_official_payload(registry: Registry, payload: str) -> bool:
    found = registry.find_action(payload)
    return found is None or found[0] not in citizen_handlers(registry)


def checks_the_role(fn: object) -> bool:
    source = inspect.getsource(fn)  # type: ignore[arg-type]
    return "require_official" in source or "require_area_official" in source or "require_admin" in source


def official_steps(registry: Registry) -> list[str]:
    """Steps of official-only flows, and any other step whose ask or handle checks the role."""
    steps = []
    for name, step in registry.steps.items():
        flow = registry.flow_of(name)
        if (flow is not None and flow.official_only) or checks_the_role(step.ask) or (
                step.handle is not None and checks_the_role(step.handle)):
            steps.append(name)
    return sorted(steps)


def registry_surface(registry: Registry) -> list[Probe]:
    """Commands, menu entries, actions and steps that are for officials, as the registry declares them."""
    probes = [Probe("menu.main", {}, text=f"/{name}") for name in sorted(registry.official_commands)]
    probes += [Probe("menu.main", {}, payload=item.payload) for item in registry.official_menu]
    for prefix in sorted(set(registry.actions) - CITIZEN_ACTIONS):
        probes += [Probe("menu.main", {}, payload=prefix), Probe("menu.main", {}, payload=f"{prefix}:1")]
    probes += [Probe(step, {"draft": {}}, text="1") for step in official_steps(registry)]
    return probes


async def crawl(app: App, admin: str, limit: int = 500) -> list[Probe]:
    """Press every official button an admin is offered, breadth first from the officials' menu and commands."""
    registry = app.engine.registry
    admin_user = await app.store.users.find("console", admin)
    assert admin_user is not None
    queue = deque(registry_surface(registry)[: len(registry.official_commands) + len(registry.official_menu)])
    seen: set[tuple[str | None, str | None, str]] = set()
    pressed: list[Probe] = []
    official_states = set(official_steps(registry))
    while queue and len(pressed) < limit:
        probe = queue.popleft()
        if (probe.state, probe.payload, probe.text) in seen:
            continue
        seen.add((probe.state, probe.payload, probe.text))
        await send(app, admin, probe)
        pressed.append(probe)
        after = await app.store.conversations.load(admin_user.id)
        if after.state not in official_states:
            continue  # back among citizen screens
        for _label, payload in after.data.get("options", []):
            if is_official_payload(registry, payload) and payload != "go:menu":
                queue.append(Probe(after.state, json.loads(json.dumps(after.data)), payload=payload))
    return pressed


async def refusals(app: App, user_id: int) -> int:
    return int(await app.store.db.fetchval(
        "SELECT COUNT(*) FROM audit_log WHERE user_id = ? AND allowed = 0", (user_id,)))


def text_of(replies: list[Reply]) -> str:
    return "\n".join([r.text for r in replies] + [o.label for r in replies for o in r.options]
                     + [m for r in replies for m in r.media])


@pytest.fixture
async def audited(app: App) -> tuple[App, Berbah, list[Probe]]:
    berbah = await seed_berbah(app)
    await person(app, "kepala", "admin")
    pressed = await crawl(app, "kepala")
    reached = {p.payload.split(":")[0] + ":" + p.payload.split(":")[1] for p in pressed
               if p.payload and p.payload.count(":") >= 2}
    assert {"radm:open", "conadm:open", "conadm:registrants", "conadm:proposal", "progadm:open",
            "progadm:update"} <= reached, f"the crawl must reach the officials' screens: {sorted(reached)}"
    assert len(pressed) > 60
    return app, berbah, pressed


async def test_a_citizen_is_refused_every_official_command_action_step_and_screen(
    audited: tuple[App, Berbah, list[Probe]]
) -> None:
    app, berbah, pressed = audited
    citizen_id = await person(app, "warga", "citizen")
    registry = app.engine.registry
    assert set(CITIZEN_ACTIONS) <= set(registry.actions), "the allow-list names actions that no longer exist"
    official_flows = [f for f in registry.flows.values() if f.official_only]
    assert all(f"go:{flow.name}" not in CITIZEN_ACTIONS for flow in official_flows)
    assert "menu.official" in official_steps(registry)

    probes = registry_surface(registry) + [p for p in pressed if is_official_payload(registry, p.payload or "")]
    for probe in probes:
        before = await refusals(app, citizen_id)
        replies = await send(app, "warga", probe)
        shown = text_of(replies)
        assert REFUSED in shown, f"{probe} answered a citizen with: {shown[:300]}"
        assert await refusals(app, citizen_id) == before + 1, f"{probe} left no audit row"
        assert not any(marker in shown for marker in berbah.markers[1:]), f"{probe} showed: {shown[:300]}"
    assert len(probes) > 150


async def test_an_official_of_another_kecamatan_is_refused_and_sees_and_changes_nothing_there(
    audited: tuple[App, Berbah, list[Probe]]
) -> None:
    app, berbah, pressed = audited
    gamping_id = await person(app, "camat_gamping", "official", GAMPING)
    registry = app.engine.registry
    before = await snapshot(app, berbah)

    named = 0
    for probe in pressed:
        replies = await send(app, "camat_gamping", probe)
        shown = text_of(replies)
        refused = REFUSED in shown
        if probe.payload and re.search(r":\d+(:|$)", probe.payload) and registry.find_action(probe.payload):
            named += 1  # the button names a thing by id, and every thing here lies in Berbah
            assert refused, f"{probe} was not refused: {shown[:300]}"
        if not refused:
            assert not any(marker in shown for marker in berbah.markers), f"{probe} showed: {shown[:300]}"
    assert named > 10

    for step in official_steps(registry):  # typing Berbah's names at every official step, fresh or mid-form
        drafts = [{"draft": {}}] + [p.data for p in pressed if p.state == step][:1]
        for data, text in itertools.product(drafts, ("Berbah", "Jogotirto", "1")):
            shown = text_of(await send(app, "camat_gamping", Probe(step, data, text=text)))
            assert REFUSED in shown or not any(marker in shown for marker in berbah.markers), f"{step}: {shown}"

    assert await snapshot(app, berbah) == before, "nothing in Berbah may change"
    allowed = await app.store.db.fetchall(
        "SELECT action, detail FROM audit_log WHERE user_id = ? AND allowed = 1", (gamping_id,))
    for row in allowed:
        detail = json.loads(row["detail"])
        assert not set(detail) & {"report", "consultation_id", "proposal_id", "programme_id", "update_id"}, row
    assert await refusals(app, gamping_id) >= named


async def snapshot(app: App, berbah: Berbah) -> dict[str, object]:
    db = app.store.db
    return {
        "report": dict(await db.fetchone("SELECT * FROM reports WHERE id = ?", (berbah.report_id,)) or {}),
        "history": await db.fetchval("SELECT COUNT(*) FROM report_history WHERE report_id = ?", (berbah.report_id,)),
        "consultations": [dict(r) for r in await db.fetchall("SELECT * FROM consultations ORDER BY id")],
        "proposals": [dict(r) for r in await db.fetchall("SELECT * FROM proposals ORDER BY id")],
        "registrations": [dict(r) for r in await db.fetchall("SELECT * FROM consultation_registrations")],
        "programmes": [dict(r) for r in await db.fetchall("SELECT * FROM programmes ORDER BY id")],
        "updates": await db.fetchval("SELECT COUNT(*) FROM programme_updates"),
        "outbox": await db.fetchval("SELECT COUNT(*) FROM outbox"),
    }
