"""The other side of the Telegram benchmark, in its own process: the fake Bot API and the people using it.

It serves `tests/fake_telegram.FakeTelegram` (optionally with a round-trip delay), waits for the bot to
poll, then plays N people in private chats: scripted citizens (onboarding and a report, `citizens.py`)
for Sinergi, or people who send short texts for the echo bot. A turn is over when the message that
ends the bot's answer arrives (a citizen's action names its button; an echo is one message).

Closed loop: every person sends their next update as soon as the previous one was answered (the
throughput figure). Open loop: updates are released at a fixed rate, each from a person whose previous
update was answered, and the latency is measured from release to the answer.

Prints `PORT <n>`, `START` when the load begins, and one `RESULT <json>` line at the end; the
orchestrator (telegram_bench.py) samples the bot's CPU between START and RESULT.

    python -m benchmarks.telegram_load --mode sinergi --users 2000 --loop closed [--delay 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.citizens import (
    Action,
    Labels,
    OffScript,
    Pin,
    Press,
    Say,
    Script,
    Seen,
    answered,
    citizen,
    sleman_areas,
)
from benchmarks.common import percentile, run_pinned
from tests.fake_telegram import Call, FakeTelegram

SHOWN = ("sendMessage", "sendPhoto", "editMessageText")
ECHO_MESSAGES = 13  # as many as a citizen's script sends


def echo_script(number: int) -> Script:
    """Someone who sends short texts to an echo bot; each is answered by one message."""
    for k in range(ECHO_MESSAGES):
        seen = yield Say(f"pesan {k + 1} dari warga {number}", None)
        if seen.text != f"pesan {k + 1} dari warga {number}":
            raise OffScript(f"echo expected, got {seen.text[:80]!r}")


@dataclass
class Person:
    chat_id: int
    number: int
    script: Script
    action: Action
    typing: bool
    released: float = 0.0                     # when the pending update became available to getUpdates
    update_id: int = 0                        # the pending update's id
    texts: list[str] = field(default_factory=list)
    buttons: dict[str, str | None] = field(default_factory=dict)  # label -> callback_data of the last keyboard
    message: dict[str, Any] | None = None     # the message carrying that keyboard (pressing edits it)


class Load:
    def __init__(self, fake: FakeTelegram, people: list[Person], seed: int = 11) -> None:
        self.fake = fake
        self.people = {p.chat_id: p for p in people}
        self.ready: list[Person] = []
        self.waiting: dict[int, Person] = {}
        self.latencies: list[float] = []
        self.released_at: list[float] = []       # when each answered update was released, beside its latency
        self.fetch_waits: list[float] = []       # and how long it waited for the bot's getUpdates (ms)
        self.completed = 0
        self.finished = 0
        self.failure: str | None = None
        self.rng = random.Random(seed)
        self.ids = itertools.count(10_000_000)
        self.all_done = asyncio.Event()
        self.someone_ready = asyncio.Event()
        self.first_release = 0.0
        self.last_answer = 0.0

    # --- people write ---------------------------------------------------------------------------

    def release(self, person: Person) -> None:
        """Make the person's next action an update the bot's next getUpdates sees."""
        person.texts, person.released = [], time.perf_counter()
        self.first_release = self.first_release or person.released
        self.waiting[person.chat_id] = person
        person.update_id = self.fake.queue_update(self.update_for(person))["update_id"]

    def update_for(self, person: Person) -> dict[str, Any]:
        user = {"id": person.chat_id, "is_bot": False, "first_name": f"Warga{person.number}", "language_code": "id"}
        chat = {"id": person.chat_id, "type": "private", "first_name": user["first_name"]}
        action = person.action
        if isinstance(action, Press) and not person.typing and person.buttons.get(action.label):
            assert person.message is not None
            query = {"id": f"cq{next(self.ids)}", "from": user, "chat_instance": str(person.chat_id),
                     "data": person.buttons[action.label], "message": person.message}
            return {"callback_query": query}
        content: dict[str, Any]
        if isinstance(action, Pin):
            content = {"location": {"latitude": action.latitude, "longitude": action.longitude}}
        elif isinstance(action, Press):  # typed: the option's number, or a plain keyboard button's label
            labels = list(person.buttons)
            content = {"text": str(labels.index(action.label) + 1) if person.typing else action.label}
        else:
            assert isinstance(action, Say)
            content = {"text": action.text}
            if action.text.startswith("/"):
                content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(action.text)}]
        message = {"message_id": self.fake.next_message_id(), "date": int(time.time()), "chat": chat,
                   "from": user, **content}
        return {"message": message}

    # --- the bot answers ------------------------------------------------------------------------

    def on_call(self, call: Call) -> None:
        if call.method not in SHOWN:
            return
        person = self.waiting.get(call.chat_id or 0)
        if person is None:
            return
        person.texts.append(call.text)
        buttons = call.buttons
        if buttons:
            person.buttons = {b["text"]: b.get("callback_data") for b in buttons}
            person.message = call.result if isinstance(call.result, dict) else None
        if answered(person.action, [b["text"] for b in buttons]):
            self.turn_over(person)

    def turn_over(self, person: Person) -> None:
        now = time.perf_counter()
        del self.waiting[person.chat_id]
        self.latencies.append((now - person.released) * 1000)
        self.released_at.append(person.released)
        fetched = self.fake.fetched.get(person.update_id, now) if isinstance(self.fake, PolledFake) else now
        self.fetch_waits.append((fetched - person.released) * 1000)
        self.completed += 1
        self.last_answer = now
        try:
            person.action = person.script.send(Seen("\n".join(person.texts), tuple(person.buttons)))
        except StopIteration:
            self.finished += 1
            if self.finished == len(self.people):
                self.all_done.set()
            return
        except OffScript as error:
            self.failure = f"chat {person.chat_id}: {error}"
            self.all_done.set()
            return
        self.person_ready(person)

    def person_ready(self, person: Person) -> None:
        self.ready.append(person)
        self.someone_ready.set()

    def take_ready(self) -> Person | None:
        if not self.ready:
            return None
        index = self.rng.randrange(len(self.ready))
        self.ready[index], self.ready[-1] = self.ready[-1], self.ready[index]
        return self.ready.pop()


class ClosedLoop(Load):
    """Everyone writes again as soon as they are answered."""

    def person_ready(self, person: Person) -> None:
        self.release(person)

    async def run(self, max_seconds: float) -> None:
        people = list(self.people.values())
        self.rng.shuffle(people)
        for person in people:
            self.release(person)
        await _until(self.all_done, max_seconds)


class OpenLoop(Load):
    """`rate` updates per second, each from someone whose previous update was answered."""

    def __init__(self, fake: FakeTelegram, people: list[Person], rate: float, total: int) -> None:
        super().__init__(fake, people)
        self.rate = rate
        self.total = total
        self.ready = list(people)
        self.late = 0  # releases that found nobody ready on time (the load then lags its schedule)
        self.stopping = False

    async def run(self, max_seconds: float) -> None:
        started, released = time.perf_counter(), 0
        while released < self.total and not self.all_done.is_set() and not self.stopping:
            due = min(self.total, int((time.perf_counter() - started) * self.rate) + 1)
            while released < due:
                person = self.take_ready()
                if person is None:
                    self.late += 1
                    self.someone_ready.clear()
                    await _until(self.someone_ready, max_seconds)
                    continue
                self.release(person)
                released += 1
            if time.perf_counter() - started > max_seconds:
                break
            await asyncio.sleep(0.001)
        deadline = time.perf_counter() + max_seconds
        while self.waiting and time.perf_counter() < deadline and not self.failure:
            await asyncio.sleep(0.01)


async def _until(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout=seconds)
    except TimeoutError:
        pass


class PolledFake(FakeTelegram):
    """Knows when the bot first polls, so the load starts when the bot is ready, and when each update was
    first handed to the bot (`fetched`, by update id)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.polling = asyncio.Event()
        self.fetched: dict[int, float] = {}

    async def _getUpdates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.polling.set()
        updates = await super()._getUpdates(params, files)
        now = time.perf_counter()
        for update in updates:
            self.fetched.setdefault(update["update_id"], now)
        return updates


def make_people(mode: str, users: int, reports: int = 1) -> list[Person]:
    areas, labels = sleman_areas(), Labels.load()
    people = []
    for number in range(users):
        script = citizen(number, areas, labels, reports) if mode == "sinergi" else echo_script(number)
        people.append(Person(chat_id=710_000 + number, number=number, script=script, action=next(script),
                             typing=mode == "sinergi" and number % 2 == 1))
    return people


async def main_async(args: argparse.Namespace) -> None:
    fake = PolledFake(delay=args.delay, record=False)
    await fake.start()
    print(f"PORT {fake.port}", flush=True)
    people = make_people(args.mode, args.users)
    if args.loop == "closed":
        load: ClosedLoop | OpenLoop = ClosedLoop(fake, people)
    else:
        load = OpenLoop(fake, people, args.rate, args.updates or args.users * 6)
    fake.on_call = load.on_call
    await fake.polling.wait()
    await asyncio.sleep(0.5)  # let the bot settle (its first long poll, command menu)
    print("START", flush=True)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await load.run(args.max_seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    span = (load.last_answer - load.first_release) if load.completed else wall
    result = {
        "mode": args.mode, "loop": args.loop, "delay_ms": args.delay * 1000, "users": args.users,
        "completed": load.completed, "unanswered": len(load.waiting), "finished_people": load.finished,
        "rate": load.completed / span if span > 0 else 0.0, "offered_rate": args.rate if args.loop == "open" else None,
        "p50_ms": percentile(load.latencies, 50), "p95_ms": percentile(load.latencies, 95),
        "p99_ms": percentile(load.latencies, 99), "max_ms": max(load.latencies, default=float("nan")),
        "fake_cpu_share": cpu / wall if wall else 0.0, "late_releases": getattr(load, "late", 0),
        "failure": load.failure, "seconds": wall,
    }
    print("RESULT " + json.dumps(result), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the orchestrator is done
    await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("sinergi", "echo"), required=True)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--loop", choices=("closed", "open"), default="closed")
    parser.add_argument("--rate", type=float, default=1_000.0, help="open loop: updates released per second")
    parser.add_argument("--updates", type=int, default=0, help="open loop: how many (default 6 per person)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to every Bot API answer")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop the load after this long")
    run_pinned(parser, main_async)


if __name__ == "__main__":
    main()
