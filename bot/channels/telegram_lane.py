"""The fast lane for button presses a flow also takes in bulk (`Registry.add_bulk_action`: poll votes).

After a poll goes out, thousands of people tap an answer within seconds. As usual turns, each tap costs PTB
parsing the update with its message, a whole engine turn with its own COMMIT, and three Bot API calls (about
2.3 ms of CPU here, benchmarks/RESULTS.md): a burst would queue everyone else behind it for seconds. In this
lane a press is taken as Telegram sent it (plain JSON, never parsed into PTB objects), many presses are stored
in ONE transaction (`Engine.handle_many`), and each is answered after the COMMIT with a toast on the button
(answerCallbackQuery with a short text); the pushed message and its buttons stay, so tapping another answer
changes the vote.

What it keeps:
- per-chat order: a press is taken only when its chat has nothing else in line, and the chat's line is held
  until the press is stored (`PerChatUpdateProcessor.hold`), so a later message of that person waits for it;
- nothing is acknowledged before it is committed; a redelivered press is answered without counting twice;
- a press the engine leaves (an unknown or not yet registered person, a closed poll, ...) gets its usual turn
  while the chat is still held, so it is answered exactly as before;
- the others first: a batch starts only when no other update is waiting to be handled (or after `MAX_DEFER`),
  holds the event loop for one transaction of at most `MAX_BATCH` presses, and at most `TOASTERS` toasts are in
  flight, each started under the same rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.error import TelegramError

from bot.channels.telegram_inbound import CHANNEL, MAX_DISPLAY_NAME
from bot.channels.telegram_outbound import KEY_PREFIX
from handlers.types import Incoming, Reply

if TYPE_CHECKING:
    from bot.channels.telegram import PerChatUpdateProcessor
    from bot.engine import Engine

log = logging.getLogger("sinergi.telegram")

MAX_BATCH = 50         # presses per transaction: about 3 ms of the event loop here
MAX_DEFER = 0.05       # seconds a batch or a toast waits for the other updates before it goes anyway
TOASTERS = 4           # toasts in flight
MAX_WAITING = 50_000   # presses queued in memory; past it they take the usual way
TOAST_LIMIT = 200      # characters Telegram shows in a callback answer
STOP_WITHIN = 10.0     # seconds `stop` waits for taken presses to be stored and answered


@dataclass(frozen=True)
class _Press:
    raw: dict[str, Any]        # the update as Telegram sent it (for a usual turn)
    chat_id: int
    query_id: str
    incoming: Incoming


class PressLane:
    def __init__(self, engine: Engine, processor: PerChatUpdateProcessor,
                 answer: Callable[[str, str | None], Awaitable[object]],
                 usual_turn: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self.engine = engine
        self.processor = processor
        self.answer = answer            # answerCallbackQuery(query id, toast text)
        self.usual_turn = usual_turn    # the update handled as any other (parsed by PTB, the engine's `handle`)
        self.waiting: deque[_Press] = deque()
        self.toasts: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()  # (callback query id, text)
        self.unfinished = 0             # presses taken and not yet answered
        self._arrived = asyncio.Event()
        self._all_answered = asyncio.Event()
        self._all_answered.set()
        self._workers: list[asyncio.Task[None]] = []
        self._turns: set[asyncio.Task[None]] = set()
        self._stopping = False

    def take(self, raw: dict[str, Any]) -> bool:
        """Take this update if it is a bulk press in a private chat with nothing else in line; else False."""
        query = raw.get("callback_query")
        if not isinstance(query, dict) or len(self.waiting) >= MAX_WAITING or self._stopping or not self._workers:
            return False
        data, message, sender = query.get("data"), query.get("message"), query.get("from")
        chat = message.get("chat") if isinstance(message, dict) else None
        if not (isinstance(data, str) and isinstance(chat, dict) and isinstance(sender, dict)
                and chat.get("type") == "private" and isinstance(chat.get("id"), int)
                and not data.startswith(KEY_PREFIX) and self.engine.registry.find_bulk_action(data)):
            return False
        chat_id = chat["id"]
        if not self.processor.hold(chat_id):
            return False
        name = " ".join(str(part) for part in (sender.get("first_name"), sender.get("last_name")) if part)
        self.waiting.append(_Press(raw, chat_id, str(query.get("id")), Incoming(
            CHANNEL, str(chat_id), payload=data, message_id=str(raw.get("update_id")),
            display_name=name[:MAX_DISPLAY_NAME] or None, language_hint=sender.get("language_code"))))
        self.unfinished += 1
        self._all_answered.clear()
        self._arrived.set()
        return True

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._store(), name="press-lane-store")]
        self._workers += [asyncio.create_task(self._toast(), name=f"press-lane-toast-{n}") for n in range(TOASTERS)]

    async def stop(self) -> None:
        """Take nothing more; store and answer what was taken (for at most STOP_WITHIN seconds), then stop."""
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_WITHIN):
                await self._all_answered.wait()
        if self.unfinished:
            log.warning("stopping with %d taken presses not answered", self.unfinished)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _store(self) -> None:
        while True:
            await self._arrived.wait()
            await self._after_others()
            batch = [self.waiting.popleft() for _ in range(min(MAX_BATCH, len(self.waiting)))]
            if not self.waiting:
                self._arrived.clear()
            try:
                results = await self.engine.handle_many([press.incoming for press in batch])
            except Exception:  # a bug; the presses still get their usual turns
                log.exception("press lane batch failed")
                results = [None] * len(batch)
            for press, replies in zip(batch, results, strict=True):
                if replies is None:
                    turn = asyncio.create_task(self._usual(press))
                    self._turns.add(turn)
                    turn.add_done_callback(self._turns.discard)
                    continue
                self.processor.release(press.chat_id)  # stored: the person's next update may go
                self.toasts.put_nowait((press.query_id, _toast_text(replies)))

    async def _toast(self) -> None:
        while True:
            query_id, text = await self.toasts.get()
            await self._after_others()
            try:
                await self.answer(query_id, text)
            except TelegramError as error:  # too old to answer, or the network: the vote is stored anyway
                log.info("press answered without its toast: %s", error)
            except Exception:  # a bug must not stop the toasts of everyone else
                log.exception("press toast failed")
            finally:
                self._finished()

    async def _usual(self, press: _Press) -> None:
        try:
            await self.usual_turn(press.raw)
        finally:
            self.processor.release(press.chat_id)
            self._finished()

    async def _after_others(self) -> None:
        """Lower priority: let the updates waiting to be handled go first (at most MAX_DEFER), and the event loop
        serve what arrived meanwhile."""
        if self.processor.quiet.is_set():
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(MAX_DEFER):
                await self.processor.quiet.wait()

    def _finished(self) -> None:
        self.unfinished -= 1
        if not self.unfinished:
            self._all_answered.set()
        self.processor.count_processed()


def _toast_text(replies: list[Reply]) -> str | None:
    """A bulk action answers in a line; a redelivered press ([]) just stops the button's spinner."""
    text = "\n".join(reply.text for reply in replies if reply.text)
    return text[:TOAST_LIMIT] or None
