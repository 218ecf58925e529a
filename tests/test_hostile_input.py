"""Hostile and odd input at every step of every flow, through the real engine (property-based).

Each run sends well over 10,000 generated messages: empty and 100 KB texts, emoji, right-to-left and
zero-width text, control characters and NUL bytes, markup that could break a parse mode, SQL
fragments, absurd coordinates, numbers out of range, option payloads from other steps and from the
keyboards other people were shown about their own reports, registrations and programmes, unknown
commands. Every registered step is visited. The promise: no unhandled exception, an answer every time,
and stored data that stays valid. Hypothesis prints a reproduction blob (`@reproduce_failure`) and the
seed (`--hypothesis-seed`) when something fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App, build_app
from bot.config import Settings
from bot.flood import FloodGate
from handlers.types import Incoming, Location, Media
from storage.consultations import NewConsultation, NewProposal
from storage.conversations import Conversation
from storage.programmes import NewProgramme, NewUpdate
from tests.reports_support import BERBAH, JOGOTIRTO, add_report
from tests.support import FakeClock

HOSTILE_TEXTS = [
    "", " ", "\x00", "a\x00b", "\u200b\u200c\u200d\ufeff", "\u202eabc", "مرحبا بالعالم", "שלום", "🙏" * 50,
    "<b>tebal</b>", "<script>alert(1)</script>", "*tebal* _miring_ `kode` [tautan](http://x)", "&amp; &lt;",
    "'; DROP TABLE users; --", "1 OR 1=1", "%s %d {0} {name}", "0", "-1", "999999999999", "1.5", "00001",
    "/start", "/start poll_999999", "/start ../../etc", "/", "/x" * 40, "menu", "BATAL", "mulai", "status",
    "LPR-2026-000000", "HADIR ZZZZ", "x" * 100_000, "\n\n\n", "\t", "NaN", "lokasi 91 200",
]
PAYLOADS = [
    "lang:xx", "kec:99.99", "desa:../../x", "consent:maybe", "go:nothing", "poll:1:99", "poll:abc",
    "report:rate:999999:9", "settings:language", "privacy:confirm", "x" * 300, ":", "::::", "go:",
]


def texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE_TEXTS),
        st.text(max_size=80),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
        st.integers(-5, 40).map(str),
    )


def locations() -> st.SearchStrategy[Location]:
    return st.builds(
        Location,
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([91.0, -91.0, math.nan])),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([181.0, -7.78])),
    )


@st.composite
def messages(draw: st.DrawFn, known_payloads: list[str]) -> dict[str, object]:
    kind = draw(st.sampled_from(["text", "text", "text", "payload", "location", "media", "mixed"]))
    message: dict[str, object] = {"user": draw(st.integers(0, 3)), "step": draw(st.integers(0, 10_000))}
    if kind in ("text", "mixed"):
        message["text"] = draw(texts())
    if kind in ("payload", "mixed"):
        message["payload"] = draw(st.sampled_from(known_payloads + PAYLOADS))
    if kind == "location":
        message["location"] = draw(locations())
    if kind == "media":
        message["media"] = draw(st.sampled_from(["photo", "voice", "sticker", "document"]))
    return message


class World:
    """One app (real engine, real SQLite file) shared by all examples, on one event loop."""

    def __init__(self, tmp: Path) -> None:
        self.runner = asyncio.Runner()
        self.clock = FakeClock()
        settings_ = Settings.from_mapping({"DATABASE_PATH": str(tmp / "fuzz.sqlite3"), "MEDIA_DIR": str(tmp / "m")})
        self.app: App = self.runner.run(build_app(settings_, clock=self.clock))
        self.app.engine.config.flood = FloodGate(limit=10**9)
        self.app.engine.config.officials = {"console": frozenset({"fuzz3"})}
        self.steps = sorted(self.app.engine.registry.steps)
        self.payloads = sorted({p for p in self.app.engine.registry.actions} | {"go:menu", "help"})
        self.sent = 0
        self.counter = 0
        self.foreign = self.runner.run(self.harvest_foreign_payloads())

    async def harvest_foreign_payloads(self) -> list[str]:
        """Buttons other people were shown about their own things: what a forwarded or forged press carries."""
        store, now = self.app.store, self.clock()
        other = await store.users.touch_or_create("console", "other", "Other", now)
        await store.users.update(other.id, consent_at="2026-01-01T00:00:00.000Z", desa_code=JOGOTIRTO)
        report = await add_report(store, other.id, now)
        consultation = await store.consultations.create(NewConsultation(
            "Musrenbang", "-", "desa", BERBAH, JOGOTIRTO, "Balai", None, None, None, now + timedelta(days=3),
            now + timedelta(days=3, hours=2), 10, None, None), now)
        await store.consultations.register(consultation, other.id, "registered", now)
        proposal = await store.consultations.add_proposal(NewProposal(
            consultation, other.id, "Talud", "Talud longsor di dusun.", "Dusun", None, None, "infrastruktur"), now)
        programme = await store.programmes.create(NewProgramme("Posyandu", "-", "kesehatan", BERBAH, None, None), now)
        await store.programmes.subscribe(programme, other.id, now)
        await store.programmes.add_update(NewUpdate(programme, "Posyandu Sabtu.", None, None, None, None), now)
        self.app.engine.config.officials = {"console": frozenset({"fuzz3", "otherofficial"})}
        presses = {"other": ["go:my_reports", f"mine:{report.id}", f"cons:open:{consultation}", "cons:mine",
                             f"cons:proposals:{consultation}", f"cons:proposal:{proposal}", f"prog:open:{programme}"],
                   "otherofficial": [f"radm:open:{report.id}", f"conadm:open:{consultation}",
                                     f"conadm:proposal:{proposal}", f"progadm:open:{programme}"]}
        harvested: set[str] = set()
        for who, payloads in presses.items():
            for payload in payloads:
                self.counter += 1
                replies = await self.app.engine.handle(Incoming("console", who, payload=payload,
                                                                message_id=f"h{self.counter}"))
                harvested |= {option.payload for reply in replies for option in reply.options}
        assert any(p.startswith("report:reopen") or p.startswith("cons:cancel") for p in harvested)
        return sorted(harvested)

    async def put_at_step(self, user: int, step: str) -> None:
        """Jump a user straight to a step (as a restart with a stale draft would), then onboard-check."""
        found = await self.app.store.users.find("console", f"fuzz{user}")
        if found is None:
            found = await self.app.store.users.touch_or_create("console", f"fuzz{user}", None, self.clock())
        await self.app.store.users.update(found.id, consent_at="2026-01-01T00:00:00.000Z", desa_code="34.04.08.2004",
                                          locale="en" if user == 1 else "id")
        await self.app.store.conversations.save(found.id, Conversation(step, {"draft": {}}), self.clock())

    async def send(self, message: dict[str, object]) -> list[object]:
        self.counter += 1
        media = ()
        if "media" in message:
            media = (Media(message["media"], None),)  # type: ignore[arg-type]
        incoming = Incoming(
            "console", f"fuzz{message['user']}", text=str(message.get("text", "")),
            payload=message.get("payload"),  # type: ignore[arg-type]
            location=message.get("location"),  # type: ignore[arg-type]
            media=media, message_id=f"m{self.counter}",
        )
        self.sent += 1
        return list(await self.app.engine.handle(incoming))

    async def check_store(self) -> None:
        db = self.app.store.db
        assert await db.fetchval("PRAGMA integrity_check") == "ok"
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        for row in await db.fetchall("SELECT state, data FROM conversations"):
            assert row["state"] is None or row["state"] in self.app.engine.registry.steps, row["state"]
            assert isinstance(json.loads(row["data"]), dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    w = World(tmp_path_factory.mktemp("fuzz"))
    yield w
    w.runner.run(w.app.close())
    w.runner.close()


def test_every_step_survives_hostile_input(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """Walk every registered step with every hostile text and payload, as three kinds of user."""

    async def walk() -> None:
        for index, step in enumerate(world.steps):
            # a rotating sample of the registry's payloads, so every payload meets many steps
            sample = [world.payloads[(index * 7 + k) % len(world.payloads)] for k in range(10)]
            sample += [world.foreign[(index * 3 + k) % len(world.foreign)] for k in range(3)]
            for user in (0, 1, 3):  # Indonesian citizen, English citizen, official
                texts_ = HOSTILE_TEXTS if user == 0 else HOSTILE_TEXTS[user::4]
                for text in texts_:
                    await world.put_at_step(user, step)
                    replies = await world.send({"user": user, "text": text})
                    assert replies, f"silence at {step} for {text[:30]!r}"
                for payload in PAYLOADS + sample:
                    await world.put_at_step(user, step)
                    assert await world.send({"user": user, "payload": payload}), f"silence at {step} for {payload}"
                await world.put_at_step(user, step)
                assert await world.send({"user": user, "location": Location(math.nan, 500.0)})

    with caplog.at_level(logging.ERROR):
        world.runner.run(walk())
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors[0].getMessage() + "\n" + str(errors[0].exc_text)
    world.runner.run(world.check_store())


@settings(max_examples=110, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
@given(data=st.data())
def test_random_conversations_never_crash(world: World, data: st.DataObject) -> None:
    batch = data.draw(st.lists(messages(world.payloads + world.foreign), min_size=70, max_size=90))
    handler = _ErrorCounter()
    logging.getLogger().addHandler(handler)
    try:
        for message in batch:
            replies = world.runner.run(world.send(message))
            assert isinstance(replies, list)
    finally:
        logging.getLogger().removeHandler(handler)
    assert not handler.errors, handler.errors[0]
    world.runner.run(world.check_store())


def test_enough_messages_were_sent(world: World) -> None:
    assert world.sent >= 10_000, world.sent


class _ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(record.getMessage() + "\n" + (self.format(record) if record.exc_info else ""))
