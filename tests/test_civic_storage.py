"""Contract tests for the reminders, consultations and programmes repositories (any backend must pass)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.consultations import CODE_ALPHABET, CODE_LENGTH, NewConsultation, NewProposal
from storage.db import Store

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


async def test_a_reminder_is_claimed_once_and_never_rearmed_after_it_ran(store: Store) -> None:
    armed: list[tuple[int, datetime]] = []
    store.reminders.listeners.append(lambda reminder_id, due: armed.append((reminder_id, due)))
    reminder_id = await store.reminders.schedule("consultation_h1", "7", LATER, NOW)
    assert reminder_id is not None and armed == [(reminder_id, LATER)]
    moved = LATER + timedelta(hours=1)
    assert await store.reminders.schedule("consultation_h1", "7", moved, NOW) == reminder_id  # rescheduled
    assert (await store.reminders.get(reminder_id)).due_at == moved
    assert await store.reminders.pending(due_before=LATER) == []
    assert [r.id for r in await store.reminders.pending(due_before=moved)] == [reminder_id]

    claimed = await store.reminders.claim(reminder_id, "sent", moved)
    assert claimed is not None and claimed.state == "sent"
    assert await store.reminders.claim(reminder_id, "sent", moved) is None
    assert await store.reminders.schedule("consultation_h1", "7", moved + timedelta(days=1), NOW) is None
    assert await store.reminders.cancel("consultation_h1", "7", NOW) == 0
    assert (await store.reminders.get(reminder_id)).state == "sent"


async def test_a_cancelled_reminder_can_be_armed_again(store: Store) -> None:
    reminder_id = await store.reminders.schedule("consultation_2h", "9", LATER, NOW)
    assert await store.reminders.cancel("consultation_2h", "9", NOW, note="registration cancelled") == 1
    assert (await store.reminders.find("consultation_2h", "9")).state == "cancelled"
    assert await store.reminders.schedule("consultation_2h", "9", LATER, NOW) == reminder_id
    assert (await store.reminders.counts()) == {"pending": 1}


async def test_registration_codes_are_short_unique_and_survive_a_cancellation(store: Store) -> None:
    users = [await store.users.touch_or_create("console", f"warga{i}", None, NOW) for i in range(30)]
    consultation_id = await store.consultations.create(NewConsultation(
        "Musrenbang", "", "kabupaten", None, None, "Pendopo", None, None, None, LATER, LATER + timedelta(hours=2),
        None, None, None), NOW)
    registrations = [await store.consultations.register(consultation_id, u.id, "registered", NOW) for u in users]
    codes = {r.code for r in registrations}
    assert len(codes) == 30
    assert all(len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) for code in codes)
    first = registrations[0]
    await store.consultations.set_registration_state(first.id, "cancelled", NOW)
    again = await store.consultations.register(consultation_id, users[0].id, "waiting", NOW)
    assert (again.id, again.code, again.state) == (first.id, first.code, "waiting")
    assert (await store.consultations.registration_by_code(first.code.lower())).id == first.id
    assert (await store.consultations.counts(consultation_id))["registered"] == 29


async def test_support_counts_once_per_person(store: Store) -> None:
    proposer, supporter = [await store.users.touch_or_create("console", name, None, NOW) for name in ("a", "b")]
    consultation_id = await store.consultations.create(NewConsultation(
        "Musrenbang", "", "kabupaten", None, None, "Pendopo", None, None, None, LATER, LATER + timedelta(hours=2),
        None, None, None), NOW)
    proposal_id = await store.consultations.add_proposal(NewProposal(
        consultation_id, proposer.id, "Jalan", "Perbaikan jalan desa", "Dusun Kalang", None, None, "infrastruktur"),
        NOW)
    assert await store.consultations.support(proposal_id, supporter.id, NOW)
    assert not await store.consultations.support(proposal_id, supporter.id, NOW)
    assert (await store.consultations.proposal(proposal_id)).supporters == 1
    assert {u.id for u in await store.consultations.proposal_audience(proposal_id)} == {proposer.id, supporter.id}
