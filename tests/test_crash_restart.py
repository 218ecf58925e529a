"""kill -9 at random moments: a real Sinergi process (tests/crash_driver.py) serves many people at once, is
killed with SIGKILL several times mid-session and started again on the same SQLite file.

Citizens onboard and send reports; an official verifies every report they were told about, which queues a
notification to the reporter in the outbox. Messages whose answer was lost in a crash are delivered again
with the same id, as Telegram and Twilio redeliver. Afterwards:
- no confirmed report is lost: every "LPR-…" a citizen was told exists;
- no message is processed twice: each message id is answered at most once, and there are no more reports or
  status changes than distinct messages that could have made them;
- no outbox message is lost: every queued notification was delivered, one per status change;
- every conversation resumes or restarts gently (never an error), and each person's next message is answered;
- `PRAGMA integrity_check` and `foreign_key_check` pass.
The seed is fixed and printed; change SEED to explore, put a failing one back to replay it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.registry import build_registry

SEED = 20261129
CITIZENS = 10
REPORTS_EACH = 3
KILLS = 8
MAX_MESSAGES_EACH = 400  # only to stop a person going round in circles
ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"LPR-\d{4}-\d{6}")
FAILURE_WORDS = ("ada gangguan di sistem kami", "kehilangan jejak")
_ids = itertools.count(1)


@dataclass
class Answer:
    texts: list[str]
    options: list[list[str]]

    @property
    def payloads(self) -> list[str]:
        return [payload for _label, payload in self.options]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


class Driver:
    """One run of the process: send a message, wait for its answer (None when the process died first)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.waiting: dict[str, asyncio.Future[Answer | None]] = {}
        self.ready = asyncio.get_running_loop().create_future()
        self.answers = 0
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, tmp: Path) -> Driver:
        with (tmp / "driver.log").open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.crash_driver", str(tmp / "sinergi.sqlite3"), str(tmp / "delivered.log"),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log, cwd=ROOT)
        driver = cls(proc)
        try:
            await asyncio.wait_for(driver.ready, 30)
        except BaseException:
            proc.kill()
            await proc.wait()
            raise
        return driver

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            if line.strip() == b"READY":
                self.ready.set_result(True)
                continue
            try:
                answer = json.loads(line)
            except ValueError:
                continue  # a line cut short by the kill
            self.answers += 1
            future = self.waiting.pop(answer["id"], None)
            if future is not None and not future.done():
                future.set_result(Answer(answer["texts"], answer["options"]))
        for future in self.waiting.values():
            if not future.done():
                future.set_result(None)
        self.waiting.clear()

    async def ask(self, message: dict[str, Any]) -> Answer | None:
        if self.reader.done():
            return None
        future = self.waiting[message["id"]] = asyncio.get_running_loop().create_future()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(message) + "\n").encode())
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the reader resolves the future with None at EOF
        return await future

    async def finish(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        await self.reader
        return await self.proc.wait()


@dataclass
class Ledger:
    """What the people saw, across every run of the process."""

    confirmed: dict[str, str] = field(default_factory=dict)          # report number -> citizen
    answered: dict[str, int] = field(default_factory=dict)           # message id -> non-empty answers
    sent_by_payload: dict[str, set[str]] = field(default_factory=dict)  # payload -> message ids sent with it
    failures: list[str] = field(default_factory=list)
    redelivered: int = 0                                              # answered messages delivered again


class Person:
    def __init__(self, name: str, ledger: Ledger, rng: random.Random) -> None:
        self.name = name
        self.ledger = ledger
        self.rng = rng
        self.last: Answer | None = None
        self.unanswered: dict[str, Any] | None = None  # sent when the process died: deliver it again
        self.handled: dict[str, Any] | None = None     # the last message that was answered
        self.sent = 0

    def message(self, text: str = "", payload: str | None = None) -> dict[str, Any]:
        return {"id": f"m{next(_ids)}", "user": self.name, "text": text, "payload": payload}

    def onboarding(self) -> dict[str, Any] | None:
        payloads = self.last.payloads if self.last else []
        if "lang:id" in payloads:
            return self.message(payload="lang:id")
        if "consent:yes" in payloads:
            return self.message(payload="consent:yes")
        if any(p.startswith("kec:") for p in payloads):
            return self.message("Jogotirto")
        return None

    def done(self) -> bool:
        raise NotImplementedError

    def next_message(self) -> dict[str, Any] | None:
        raise NotImplementedError

    async def talk(self, driver: Driver, redeliver: bool = False) -> None:
        """Talk until done or until the process dies; first, maybe, the platform redelivers what was answered."""
        if redeliver and self.handled:
            answer = await driver.ask(self.handled)
            if answer is not None:
                self.ledger.redelivered += 1
                self.record(self.handled, answer)
        while not self.done() and not driver.reader.done():
            message = self.unanswered or self.next_message()
            if message is None:  # nothing to do yet
                await asyncio.sleep(0.02)
                continue
            self.unanswered = None
            self.sent += 1
            assert self.sent < MAX_MESSAGES_EACH, f"{self.name} is going round in circles (seed {SEED})"
            if message["payload"]:
                self.ledger.sent_by_payload.setdefault(message["payload"], set()).add(message["id"])
            await asyncio.sleep(self.rng.uniform(0, 0.002))
            answer = await driver.ask(message)
            if answer is None:
                self.unanswered = message
                return
            self.record(message, answer)
            self.heard(message, answer)
            if answer.texts:
                self.handled = message

    def record(self, message: dict[str, Any], answer: Answer) -> None:
        if answer.texts:
            self.ledger.answered[message["id"]] = self.ledger.answered.get(message["id"], 0) + 1
        if any(word in answer.text for word in FAILURE_WORDS):
            self.ledger.failures.append(f"{self.name} {message}: {answer.text[:200]}")

    def heard(self, message: dict[str, Any], answer: Answer) -> None:
        self.last = answer if answer.texts else None  # an empty answer: a redelivery already handled


class Citizen(Person):
    def __init__(self, name: str, ledger: Ledger, rng: random.Random) -> None:
        super().__init__(name, ledger, rng)
        self.reports: list[str] = []

    def done(self) -> bool:
        return len(self.reports) >= REPORTS_EACH

    def next_message(self) -> dict[str, Any]:
        step = self.onboarding()
        if step:
            return step
        payloads = self.last.payloads if self.last else []
        for wanted in ("photos:skip", "privacy:biasa", "dup:new", "sum:send", "cat:jalan", "go:report"):
            if wanted in payloads:
                return self.message(payload=wanted)
        if "loc:desa" in payloads:
            return self.message("depan SD Negeri 2")
        if self.last is not None and "ceritakan masalahnya" in self.last.text:
            return self.message(f"Jalan berlubang besar milik {self.name} nomor {len(self.reports) + 1}, "
                                "sudah dua minggu dan membahayakan pengendara motor")
        return self.message("menu")  # lost the thread (a crash ate the answer): start again from the menu

    def heard(self, message: dict[str, Any], answer: Answer) -> None:
        super().heard(message, answer)
        if message["payload"] == "sum:send":
            found = NUMBER.search(answer.text)
            if found:
                self.reports.append(found.group())
                self.ledger.confirmed[found.group()] = self.name


class Official(Person):
    """Verifies each report a citizen was told about, with the official's real buttons."""

    def __init__(self, name: str, ledger: Ledger, rng: random.Random, citizens: list[Citizen]) -> None:
        super().__init__(name, ledger, rng)
        self.citizens = citizens
        self.verified: set[str] = set()
        self.current: str | None = None
        self.phase = "open"

    def done(self) -> bool:
        return all(c.done() for c in self.citizens) and set(self.ledger.confirmed) <= self.verified

    def next_message(self) -> dict[str, Any] | None:
        step = self.onboarding()
        if step:
            return step
        payloads = self.last.payloads if self.last else []
        if self.current is None:
            todo = sorted(set(self.ledger.confirmed) - self.verified)
            if not todo:
                return None
            self.current, self.phase = todo[0], "open"
            return self.message(payload=f"radm:open:{int(self.current[-6:])}")
        for wanted in ("note:none", "to:diverifikasi"):
            if wanted in payloads:
                return self.message(payload=wanted)
        if self.phase == "open" and "radm:status" in payloads:
            self.phase = "status"
            return self.message(payload="radm:status")
        if self.phase == "status" and any(p.startswith("to:") for p in payloads):
            self.verified.add(self.current)  # it is past "baru" already: verified before a crash ate the answer
        self.current = None  # done, or lost the thread: open the next (or the same) report afresh
        return self.message("menu")

    def heard(self, message: dict[str, Any], answer: Answer) -> None:
        super().heard(message, answer)
        if self.current and message["payload"] == "note:none" and "Tersimpan" in answer.text:
            self.verified.add(self.current)
            self.current = None


async def test_kill_9_at_random_moments_loses_nothing_and_does_nothing_twice(tmp_path: Path) -> None:
    print(f"kill -9 test seed={SEED}: {CITIZENS} citizens and an official, {KILLS} kills")
    rng = random.Random(SEED)
    ledger = Ledger()
    citizens = [Citizen(f"warga{i}", ledger, random.Random(rng.random())) for i in range(CITIZENS)]
    official = Official("petugas", ledger, random.Random(rng.random()), citizens)
    people: list[Person] = [*citizens, official]

    for run in range(KILLS + 1):
        driver = await Driver.start(tmp_path)
        try:
            talking = asyncio.gather(*(p.talk(driver, redeliver=run > 0 and rng.random() < 0.5) for p in people))
            if run < KILLS:
                kill_after = rng.randint(20, 70)  # answers into this run, then a moment more: mid-work, at random
                while driver.answers < kill_after and not talking.done():
                    await asyncio.sleep(0.001)
                await asyncio.sleep(rng.uniform(0, 0.005))
                driver.proc.kill()  # SIGKILL: no cleanup, no flush, mid-transaction for all it knows
                await talking
                continue
            await asyncio.wait_for(talking, 60)
            for person in people:  # everyone's next message gets a sensible answer
                answer = await driver.ask(person.message("menu"))
                assert answer is not None and "go:report" in answer.payloads, (person.name, answer, SEED)
            assert await asyncio.wait_for(driver.finish(), 30) == 0
        finally:
            if driver.proc.returncode is None:
                driver.proc.kill()
            await driver.proc.wait()

    assert not ledger.failures, f"seed {SEED}: {ledger.failures[:3]}"
    twice = {mid: n for mid, n in ledger.answered.items() if n > 1}
    assert not twice, f"seed {SEED}: answered twice: {twice}"
    assert ledger.redelivered > 5, "the platform's redeliveries were exercised"
    assert len(ledger.confirmed) == CITIZENS * REPORTS_EACH

    db = sqlite3.connect(tmp_path / "sinergi.sqlite3")
    db.row_factory = sqlite3.Row
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        numbers = {row["number"] for row in db.execute("SELECT number FROM reports")}
        assert set(ledger.confirmed) <= numbers, f"seed {SEED}: lost {set(ledger.confirmed) - numbers}"
        assert len(numbers) <= len(ledger.sent_by_payload["sum:send"]), f"seed {SEED}: a send made two reports"
        handled = {row["message_id"] for row in db.execute("SELECT message_id FROM inbound_messages")}
        assert set(ledger.answered) <= handled
        statuses = {row["number"]: row["status"] for row in db.execute("SELECT number, status FROM reports")}
        assert all(statuses[number] == "diverifikasi" for number in ledger.confirmed)
        verified = db.execute("SELECT COUNT(*) FROM report_history WHERE event = 'status'").fetchone()[0]
        assert verified == list(statuses.values()).count("diverifikasi"), f"seed {SEED}: a report verified twice"
        assert verified <= len(ledger.sent_by_payload["note:none"]), f"seed {SEED}: a note was saved twice"
        outbox = {row["id"]: row for row in db.execute("SELECT id, state, kind FROM outbox")}
        assert len(outbox) == verified, "one notification per status change, committed with it"
        assert all(row["state"] == "sent" and row["kind"] == "report_status" for row in outbox.values()), \
            f"seed {SEED}: {[dict(row) for row in outbox.values() if row['state'] != 'sent']}"
        delivered = {int(line) for line in (tmp_path / "delivered.log").read_text().split()}
        assert set(outbox) <= delivered, f"seed {SEED}: never delivered {set(outbox) - delivered}"
        steps = set(build_registry().steps)
        for row in db.execute("SELECT state, data FROM conversations"):
            assert row["state"] is None or row["state"] in steps
            assert isinstance(json.loads(row["data"]), dict)
    finally:
        db.close()
