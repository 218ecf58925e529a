"""The router's promises: once per message id, global words at every step, kind answers, no silence."""

from __future__ import annotations

import pytest

from bot.app import App
from handlers.types import Incoming, Reply
from tests.support import Chat, FakeClock

ONBOARDING_STEPS = ["onboarding.language", "onboarding.consent", "onboarding.kecamatan", "onboarding.desa"]


async def state_of(app: App, external_id: str = "warga") -> str | None:
    user = await app.store.users.find("console", external_id)
    assert user is not None
    return (await app.store.conversations.load(user.id)).state


async def walk_onboarding_to(chat: Chat, step: str) -> None:
    await chat.send("halo")
    if step == "onboarding.language":
        return
    await chat.click("Bahasa Indonesia")
    if step == "onboarding.consent":
        return
    await chat.click("Saya setuju")
    if step == "onboarding.kecamatan":
        return
    await chat.send("Berbah")


async def test_redelivered_message_id_is_handled_once(chat: Chat, app: App) -> None:
    await chat.send("halo", message_id="tg-1")
    first = chat.replies
    assert first
    again = await chat.send("1", message_id="tg-1")
    assert again == []
    assert await state_of(app) == "onboarding.language"
    await chat.send("1", message_id="tg-2")
    assert await state_of(app) == "onboarding.consent"


async def test_same_message_id_on_two_channels_is_two_messages(app: App) -> None:
    a = Chat(app.engine, user="a", channel="console")
    b = Chat(app.engine, user="b", channel="telegram")
    assert await a.send("halo", message_id="42")
    assert await b.send("halo", message_id="42")


@pytest.mark.parametrize("step", ONBOARDING_STEPS)
@pytest.mark.parametrize("word", ["bantuan", "HELP", "menu", "batal"])
async def test_global_words_during_onboarding_keep_the_step(chat: Chat, app: App, step: str, word: str) -> None:
    await walk_onboarding_to(chat, step)
    assert await state_of(app) == step
    await chat.send(word)
    assert chat.replies, "never silence"
    assert await state_of(app) == step
    assert chat.labels, "the step is asked again with its options"


@pytest.mark.parametrize("word", ["menu", "MENU", "Menu!", "batal", "cancel", "/menu", "/batal"])
@pytest.mark.parametrize("step", ["settings.main", "settings.language", "settings.kecamatan", "settings.desa"])
async def test_menu_and_cancel_leave_any_step_for_the_main_menu(chat: Chat, app: App, word: str, step: str) -> None:
    await chat.onboard()
    await chat.click("Pengaturan")
    if step == "settings.language":
        await chat.click("Ganti bahasa")
    elif step in ("settings.kecamatan", "settings.desa"):
        await chat.click("Ganti desa")
        if step == "settings.desa":
            await chat.send("Depok")
    assert await state_of(app) == step
    await chat.send(word)
    assert await state_of(app) == "menu.main"
    assert "Lapor masalah" in chat.labels


@pytest.mark.parametrize("word", ["bantuan", "help", "/bantuan"])
async def test_help_mid_flow_answers_then_asks_the_same_step(chat: Chat, app: App, word: str) -> None:
    await chat.onboard()
    await chat.click("Pengaturan")
    await chat.click("Ganti desa")
    await chat.send(word)
    assert "BERHENTI" in chat.text
    assert await state_of(app) == "settings.kecamatan"
    assert len(chat.labels) == 17


@pytest.mark.parametrize("stop_word", ["berhenti", "STOP", "unsubscribe", "/berhenti"])
async def test_stop_and_start_opt_out_and_back_in_at_any_step(chat: Chat, app: App, stop_word: str) -> None:
    await chat.onboard()
    await chat.click("Pengaturan")
    await chat.send(stop_word)
    assert "MULAI" in chat.text
    user = await app.store.users.find("console", "warga")
    assert user is not None and user.opted_out
    assert await state_of(app) == "settings.main", "opting out does not throw away the step"
    await chat.send("mulai")
    assert "Selamat datang kembali" in chat.text
    user = await app.store.users.find("console", "warga")
    assert user is not None and not user.opted_out


async def test_stop_before_onboarding_still_opts_out(chat: Chat, app: App) -> None:
    await chat.send("halo")
    await chat.send("berhenti")
    user = await app.store.users.find("console", "warga")
    assert user is not None and user.opted_out
    assert chat.labels == ["Bahasa Indonesia", "English"]


async def test_idle_conversation_restarts_gently_at_the_menu(chat: Chat, app: App, clock: FakeClock) -> None:
    await chat.onboard()
    await chat.click("Pengaturan")
    await chat.click("Ganti desa")
    clock.advance(minutes=31)
    await chat.send("Depok")
    assert "kita mulai lagi dari menu" in chat.text
    assert await state_of(app) == "menu.main"
    assert "Lapor masalah" in chat.labels


async def test_short_pause_keeps_the_conversation(chat: Chat, app: App, clock: FakeClock) -> None:
    await chat.onboard()
    await chat.click("Pengaturan")
    await chat.click("Ganti desa")
    clock.advance(minutes=29)
    await chat.send("Depok")
    assert "Desa mana di Kecamatan Depok" in chat.text


async def test_button_from_an_older_message_is_answered_gracefully(chat: Chat, app: App) -> None:
    await chat.onboard()
    await chat.click("Pengaturan")
    await chat.send(payload="kec:34.04.01")  # a kecamatan button from the onboarding keyboard
    assert "pesan lama" in chat.text
    assert await state_of(app) == "settings.main"
    assert "Ganti bahasa" in chat.labels


async def test_unknown_command_and_unknown_number_get_an_answer(chat: Chat, app: App) -> None:
    await chat.onboard()
    await chat.send("/entahlah")
    assert "/entahlah" in chat.text and "Lapor masalah" in chat.labels
    await chat.send("99")
    assert "belum paham" in chat.text and "Lapor masalah" in chat.labels


async def test_empty_and_odd_messages_never_get_silence(chat: Chat) -> None:
    await chat.onboard()
    for text in ["", "\x00\x00", "\u200b", "🙏🙏🙏", "' OR 1=1 --", "<b>x</b>", "x" * 100_000]:
        replies = await chat.send(text)
        assert replies, f"no answer to {text[:20]!r}"


async def test_a_failing_step_rolls_back_and_answers_kindly(chat: Chat, app: App) -> None:
    await chat.onboard()

    async def broken(ctx, _args):  # type: ignore[no-untyped-def]
        await ctx.store.users.update(ctx.user.id, display_name="half-written")
        raise RuntimeError("bug")

    app.engine.registry.add_action("broken", broken)
    replies = await chat.send(payload="broken")
    assert replies and "gangguan" in replies[0].text
    user = await app.store.users.find("console", "warga")
    assert user is not None and user.display_name == "warga", "the half-done write was rolled back"
    assert await state_of(app) == "menu.main", "one passing fault keeps the conversation where it was"
    replies = await chat.send(payload="broken")
    assert replies and "gangguan" in replies[0].text
    assert await state_of(app) is None, "a second failure in a row puts the user back at the menu"
    await chat.send("menu")
    assert "Lapor masalah" in chat.labels


async def test_a_stale_draft_restarts_gently_at_the_menu(chat: Chat, app: App) -> None:
    await chat.onboard()

    async def needs_draft(ctx):  # type: ignore[no-untyped-def]
        ctx.say(ctx.draft["never_stored"])

    from handlers.flow import Flow, Step

    app.engine.registry.add_flow(Flow("stale", {"stale.step": Step(needs_draft)}, start="stale.step"))
    await chat.send(payload="go:stale")
    assert "kehilangan jejak" in chat.text and "Lapor masalah" in chat.labels
    assert await state_of(app) == "menu.main"


async def test_official_menu_is_refused_to_citizens_and_audited(chat: Chat, app: App) -> None:
    await chat.onboard()
    assert "Menu petugas" not in chat.labels
    await chat.send(payload="go:menu_official")
    assert "hanya petugas" in chat.text
    audit = await app.store.audit.recent()
    assert audit[0]["action"] == "menu_official" and audit[0]["allowed"] == 0


async def test_bootstrap_official_sees_the_official_menu(app: App) -> None:
    app.engine.config.officials = {"console": frozenset({"bu_camat"})}
    chat = Chat(app.engine, user="bu_camat")
    await chat.onboard()
    assert "Menu petugas" in chat.labels
    user = await app.store.users.find("console", "bu_camat")
    assert user is not None and user.role == "admin"
    await chat.click("Menu petugas")
    assert "Menu petugas" in chat.text


async def test_deep_link_start_payload_runs_a_registered_action(chat: Chat, app: App) -> None:
    seen: list[str] = []

    async def open_thing(ctx, args):  # type: ignore[no-untyped-def]
        seen.append(args)
        ctx.finish("ok")

    app.engine.registry.add_action("thing", open_thing)
    await chat.onboard()
    await chat.send("/start thing_12")
    assert seen == ["12"]


async def test_concurrent_users_do_not_share_transactions(app: App) -> None:
    import asyncio

    chats = [Chat(app.engine, user=f"u{i}") for i in range(20)]
    await asyncio.gather(*(c.onboard() for c in chats))
    for c in chats:
        assert "Lapor masalah" in c.labels
    assert await app.store.users.count() == 20


async def test_incoming_is_cleaned_and_bounded() -> None:
    msg = Incoming("console", "x", text="  a\x00b\u200bc\x07 " + "y" * 10_000)
    assert msg.text.startswith("abc ")
    assert len(msg.text) == 4000
    assert Reply.from_dict(Reply("t").to_dict()) == Reply("t")
