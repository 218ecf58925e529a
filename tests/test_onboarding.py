"""Onboarding and the main menu, driven through the real engine on a real SQLite file."""

from __future__ import annotations

from bot.app import App, build_app
from bot.config import Settings
from tests.support import Chat, FakeClock

MAIN_MENU = ["Lapor masalah", "Laporan saya", "Konsultasi publik", "Program & info", "Jajak pendapat",
             "Bantuan", "Pengaturan"]


async def test_first_message_greets_in_indonesian_and_offers_english(chat: Chat) -> None:
    await chat.send("halo")
    assert "Halo! Saya Sinergi" in chat.text
    assert "Kabupaten Sleman" in chat.text
    assert chat.labels == ["Bahasa Indonesia", "English"]


async def test_full_onboarding_by_typing_numbers_and_names(chat: Chat, app: App) -> None:
    await chat.send("halo")
    await chat.send("1")
    assert "UU PDP No. 27/2022" in chat.text
    assert "menghapus data" in chat.text
    await chat.send("1")
    assert "kecamatan mana" in chat.text
    assert "Berbah" in chat.labels and len(chat.labels) == 17
    await chat.send("berbah")
    assert "Desa mana di Kecamatan Berbah" in chat.text
    await chat.send("Jogo Tirto")
    assert "terdaftar di Desa Jogotirto, Kecamatan Berbah" in chat.text
    assert chat.labels == MAIN_MENU
    user = await app.store.users.find("console", "warga")
    assert user is not None and user.onboarded and user.locale == "id"
    assert user.desa_code == "34.04.08.2004"
    assert user.consent_at is not None


async def test_desa_typed_with_a_typo_at_the_kecamatan_question(chat: Chat, app: App) -> None:
    await chat.send("halo")
    await chat.click("Bahasa Indonesia")
    await chat.click("Saya setuju")
    await chat.send("jogotirto")
    assert "terdaftar di Desa Jogotirto" in chat.text
    await chat.send("menu")
    assert chat.labels == MAIN_MENU


async def test_ambiguous_name_offers_the_closest_matches(chat: Chat) -> None:
    await chat.send("halo")
    await chat.click("Bahasa Indonesia")
    await chat.click("Saya setuju")
    await chat.send("Sariharjo")  # Sariharjo lies in Ngaglik; a near name is offered, not a failure
    assert "Sariharjo" in chat.text or any("Sariharjo" in label for label in chat.labels)


async def test_unknown_place_is_refused_kindly_and_asked_again(chat: Chat) -> None:
    await chat.send("halo")
    await chat.click("Bahasa Indonesia")
    await chat.click("Saya setuju")
    await chat.send("qwxzv")
    assert "tidak saya temukan" in chat.text
    assert len(chat.labels) == 17


async def test_english_onboarding_speaks_english(chat: Chat) -> None:
    await chat.send("hello")
    await chat.click("English")
    assert "Do you agree?" in chat.text
    await chat.click("I agree")
    await chat.send("Depok")
    await chat.send("1")
    assert "You are registered in Desa" in chat.text
    assert "Report a problem" in chat.labels


async def test_language_hint_does_not_skip_the_choice(app: App) -> None:
    chat = Chat(app.engine, language_hint="en-US")
    await chat.send("hi")
    assert "Hello! I am Sinergi" in chat.text
    assert chat.labels == ["Bahasa Indonesia", "English"]


async def test_declining_consent_stores_no_desa_and_can_be_reconsidered(chat: Chat, app: App) -> None:
    await chat.send("halo")
    await chat.click("Bahasa Indonesia")
    await chat.click("Saya tidak setuju")
    assert "Tanpa persetujuan" in chat.text
    user = await app.store.users.find("console", "warga")
    assert user is not None and user.consent_at is None and user.desa_code is None
    await chat.send("halo lagi")
    assert "Apakah Bapak/Ibu setuju?" in chat.text


async def test_restart_in_the_middle_of_onboarding_continues_where_it_stopped(
    settings: Settings, clock: FakeClock
) -> None:
    first = await build_app(settings, clock=clock)
    chat = Chat(first.engine)
    await chat.send("halo")
    await chat.click("Bahasa Indonesia")
    await chat.click("Saya setuju")
    await first.close()

    second = await build_app(settings, clock=clock)
    try:
        chat = Chat(second.engine)
        await chat.send("3")  # Depok, from the kecamatan list offered before the restart
        assert "Desa mana di Kecamatan Depok" in chat.text
        await chat.send("1")
        assert "terdaftar di Desa" in chat.text
    finally:
        await second.close()


async def test_unbuilt_menu_items_say_so_politely(chat: Chat) -> None:
    await chat.onboard()
    for label in ("Jajak pendapat",):
        await chat.click(label)
        assert "belum siap" in chat.text or chat.labels
        await chat.send("menu")


async def test_free_text_at_the_menu_gets_help_and_the_menu(chat: Chat) -> None:
    await chat.onboard()
    await chat.send("apa kabar pak?")
    assert "belum paham" in chat.text
    assert chat.labels == MAIN_MENU


async def test_settings_change_language_and_desa(chat: Chat, app: App) -> None:
    await chat.onboard()
    await chat.click("Pengaturan")
    assert "Desa: Jogotirto, Berbah" in chat.text
    await chat.click("Ganti desa")
    await chat.send("Ngaglik")
    await chat.send("sardonoharjo")
    assert "Desa Bapak/Ibu sekarang Sardonoharjo" in chat.text
    await chat.click("Pengaturan")
    await chat.click("Ganti bahasa")
    await chat.click("English")
    assert "What would you like to do?" in chat.text
    user = await app.store.users.find("console", "warga")
    assert user is not None and user.locale == "en" and user.desa_code.startswith("34.04.")
