"""A citizen's own data: see it, get it as a file, delete it (UU PDP No. 27/2022)."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.app import App
from handlers.types import Location
from storage.audience import Audience
from storage.consultations import NewConsultation
from storage.programmes import NewProgramme, NewUpdate
from tests.helpers_civic import BERBAH, JOGOTIRTO, STARTS, add_consultation, sent_to
from tests.reports_support import send_report
from tests.support import Chat

PHONE = "+6281299990001"
NAME = "Budi Santoso"
# Columns that hold a user id, whatever the table: user_id, reporter_user_id, actor_user_id, created_by, official_id.
USER_COLUMN = re.compile(r"(^|_)user_id$|^created_by$|^official_id$")


class WhatsAppChat(Chat):
    """A WhatsApp user whose message ids look like Twilio's (not derived from the phone number)."""

    def __init__(self, app: App, number: str, name: str) -> None:
        super().__init__(app.engine, user=number, channel="whatsapp", display_name=name)

    async def send(self, text: str = "", **kwargs: object) -> list:  # type: ignore[override]
        kwargs.setdefault("message_id", "SM" + secrets.token_hex(16))
        return await super().send(text, **kwargs)  # type: ignore[arg-type]


async def test_my_data_shows_what_is_held_and_sends_a_file(chat: Chat, app: App) -> None:
    await chat.onboard()
    await chat.click("Pengaturan")
    await chat.click("Data saya")
    assert "Ini data Bapak/Ibu yang disimpan Sinergi" in chat.text
    assert "Desa: Jogotirto" in chat.text and "console (warga)" in chat.text
    await chat.click("Kirim sebagai file")
    files = [f for r in chat.replies for f in r.files]
    assert len(files) == 1
    exported = json.loads(Path(files[0]).read_text("utf-8"))
    assert exported["users"]["desa_code"] == "34.04.08.2004"
    assert Path(files[0]).parent == app.settings.media_dir / "exports"


async def test_delete_my_data_removes_the_profile_after_confirmation(chat: Chat, app: App) -> None:
    await chat.onboard()
    await chat.send(payload="go:menu_official")  # leaves an audit row pointing at the user
    await chat.click("Pengaturan")
    await chat.click("Hapus data saya")
    assert "tidak bisa dibatalkan" in chat.text
    await chat.click("Tidak, simpan saja")
    assert await app.store.users.find("console", "warga") is not None
    await chat.click("Pengaturan")
    await chat.click("Hapus data saya")
    await chat.click("Ya, hapus data saya")
    assert "sudah dihapus" in chat.text
    assert await app.store.users.find("console", "warga") is None
    assert await app.store.db.fetchval("SELECT COUNT(*) FROM conversations") == 0
    assert await app.store.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE user_id IS NOT NULL") == 0
    await chat.send("halo")
    assert "Halo! Saya Sinergi" in chat.text, "writing again starts fresh"


async def leave_a_footprint_everywhere(app: App, budi: WhatsAppChat) -> dict[str, int]:
    """Budi reports, supports, registers, proposes, follows, answers; later, as an official, he acts too."""
    store, now = app.store, app.clock()
    await budi.onboard()
    await send_report(budi, description="Saluran air tersumbat sampah di depan balai desa")
    own = await store.reports.by_number("LPR-2026-000001")
    siti = Chat(app.engine, user="siti")
    await siti.onboard()
    await send_report(siti, category="Kesehatan", description="Posyandu kekurangan timbangan bayi sejak Oktober")
    theirs = await store.reports.by_number("LPR-2026-000002")
    assert own is not None and theirs is not None
    budi_id = own.reporter_user_id
    assert budi_id is not None
    await store.reports.add_supporter(theirs.id, budi_id, now)

    full = await add_consultation(app, title="Musrenbang Dusun Kalang", capacity=1)
    await budi.send(payload=f"cons:open:{full}")
    await budi.click("Daftar")
    wati = Chat(app.engine, user="wati")
    await wati.onboard()
    await wati.send(payload=f"cons:open:{full}")
    await wati.click("Masuk daftar tunggu")
    await budi.send(payload=f"cons:propose:{full}")
    await budi.send("Perbaikan jalan usaha tani Dusun Kalang")
    await budi.send("Jalan rusak, truk panen tidak bisa lewat. Manfaat untuk 120 petani.")
    await budi.click("Pertanian")
    await budi.send(location=Location(-7.80, 110.43, "Dusun Kalang RT 03"))
    await budi.click("Kirim")
    await siti.send(payload=f"cons:propose:{full}")
    await siti.send("Lampu jalan Dusun Ngentak")
    await siti.send("Jalan gelap di malam hari, rawan kecelakaan.")
    await siti.click("Lingkungan hidup")
    await siti.send("Dusun Ngentak")
    await siti.click("Kirim")
    proposals = {p.title: p for p in await store.consultations.proposals(full)}
    await budi.send(payload=f"cons:support:{proposals['Lampu jalan Dusun Ngentak'].id}")

    programme = await store.programmes.create(
        NewProgramme("Posyandu Balita Sehat", "Penimbangan balita.", "kesehatan", BERBAH, None, None), now)
    await budi.send(payload=f"prog:sub:{programme}")
    update = await store.programmes.add_update(NewUpdate(programme, "Posyandu Sabtu ini.", None, None, None, None), now)
    await budi.send(payload=f"prog:feedback:{update}")
    await budi.send("Terima kasih, mohon jadwalnya sore hari karena pagi kami ke sawah.")
    await budi.send("menu")
    poll = await store.polls.create(None, "Setuju jalan desa diaspal?", ["Setuju", "Tidak setuju"], Audience(), True,
                                    None, now)
    await budi.send(payload=f"poll:{poll.id}:2")
    await siti.send(payload=f"poll:{poll.id}:1")
    await budi.send("menu")

    await store.users.set_role(budi_id, "official")  # then he worked for the district for a while
    await store.programmes.create(NewProgramme("Sekolah Lapang Tani", "-", "pertanian", BERBAH, None, budi_id), now)
    await store.programmes.add_update(NewUpdate(programme, "Jadwal berubah.", None, None, None, budi_id), now)
    await store.consultations.create(NewConsultation(
        "Rembug Warga", "-", "desa", BERBAH, JOGOTIRTO, "Balai desa", None, None, None, STARTS,
        STARTS + timedelta(hours=2), None, None, budi_id), now)
    await store.consultations.set_stage(proposals["Lampu jalan Dusun Ngentak"].id, "desa", "Diteruskan", budi_id, now)
    await store.reports.units.set_member(budi_id, "DLH")
    await budi.send(payload=f"radm:open:{theirs.id}")            # an audit row
    await budi.click("Ubah status")
    await budi.click("Diverifikasi")
    await budi.click("Tanpa catatan")                            # history row with him as the actor; siti told
    await siti.send("menu")
    await store.reports.add_history(own.id, now, "status", budi_id, status="diverifikasi")
    await store.reports.update(own.id, now, status="diverifikasi")
    await budi.send("menu")
    await budi.send(payload="report:export")                     # another audit row
    return {"user": budi_id, "own_report": own.id, "consultation": full, "poll": poll.id}


async def test_data_saya_lists_every_aggregate_and_hapus_data_saya_leaves_no_link_anywhere(app: App) -> None:
    budi = WhatsAppChat(app, PHONE, NAME)
    ids = await leave_a_footprint_everywhere(app, budi)
    budi_id = ids["user"]

    await budi.click("Pengaturan")
    await budi.click("Data saya")
    for line in ("Laporan yang Bapak/Ibu kirim: 1", "Laporan yang Bapak/Ibu dukung: 1",
                 "Pendaftaran konsultasi: 1", "Usulan Bapak/Ibu: 1", "Usulan yang Bapak/Ibu dukung: 1",
                 "Langganan program: 1", "Tanggapan Bapak/Ibu atas kabar program: 1", "Jawaban jajak pendapat: 1",
                 "Pesan yang kami kirim:"):
        assert line in budi.text, line
    await budi.click("Kirim sebagai file")
    exported = json.loads(Path(budi.replies[0].files[0]).read_text("utf-8"))
    assert exported["reports"]["own"][0]["description"].startswith("Saluran air tersumbat")
    assert exported["reports"]["supported"][0]["number"] == "LPR-2026-000002"
    assert exported["consultations"]["registrations"][0]["title"] == "Musrenbang Dusun Kalang"
    assert exported["consultations"]["proposals"][0]["title"] == "Perbaikan jalan usaha tani Dusun Kalang"
    assert exported["programmes"]["feedback"][0]["text"].startswith("Terima kasih")
    [vote] = exported["polls"]
    assert (vote["question"], vote["answer"]) == ("Setuju jalan desa diaspal?", "Tidak setuju") and vote["voted_at"]

    await budi.click("Pengaturan")
    await budi.click("Hapus data saya")
    await budi.click("Ya, hapus data saya")
    assert "sudah dihapus" in budi.text

    linked = await rows_linked_to(app, budi_id)
    assert linked == {}, linked
    conn = sqlite3.connect(app.settings.database_path)
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert PHONE not in dump and PHONE.lstrip("+") not in dump and NAME not in dump

    report = await app.store.reports.get(ids["own_report"])
    assert report is not None and report.privacy == "anonim" and report.reporter_user_id is None, \
        "the report stays for the public record, as an anonymous one"
    assert [h.event for h in await app.store.reports.history(report.id)][:1] == ["created"]
    proposals = await app.store.consultations.proposals(ids["consultation"])
    assert len(proposals) == 2 and proposals[0].user_id is None and proposals[1].supporters == 0
    wati = await app.store.users.find("console", "wati")
    assert wati is not None
    registration = await app.store.consultations.registration(ids["consultation"], wati.id)
    assert registration is not None and registration.state == "registered", "his place went to the waiting list"
    assert any("ada tempat kosong" in text for text in await sent_to(app, "wati"))

    poll = await app.store.polls.get(ids["poll"])
    assert poll is not None and (await app.store.polls.tally(poll)).counts == (1, 1), "his vote stays as a count"
    (jogotirto,) = await app.store.polls.tally_by_area(poll, "desa")
    assert jogotirto.tally.total == 2

    await budi.send("halo")
    assert "Halo! Saya Sinergi" in budi.text


async def rows_linked_to(app: App, user_id: int) -> dict[str, int]:
    """Every table's user-id-like columns that still hold `user_id`; the walk must find the known ones."""
    db = app.store.db
    found: dict[str, int] = {}
    columns: set[str] = set()
    for table in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for column in await db.fetchall(f"PRAGMA table_info({table['name']})"):
            if USER_COLUMN.search(column["name"]) or (table["name"] == "users" and column["name"] == "id"):
                columns.add(f"{table['name']}.{column['name']}")
                count = await db.fetchval(
                    f"SELECT COUNT(*) FROM {table['name']} WHERE {column['name']} = ?", (user_id,))
                if count:
                    found[f"{table['name']}.{column['name']}"] = count
    assert {"users.id", "reports.reporter_user_id", "report_history.actor_user_id", "report_supporters.user_id",
            "report_unit_members.user_id", "consultation_registrations.user_id", "proposals.user_id",
            "proposal_supporters.user_id", "proposal_stages.official_id", "consultations.created_by",
            "programme_subscriptions.user_id", "programme_feedback.user_id", "programme_updates.official_id",
            "programmes.created_by", "poll_votes.user_id", "polls.created_by",
            "outbox.user_id", "audit_log.user_id", "conversations.user_id"} <= columns
    return found


async def test_a_confidential_reporters_phone_is_shown_only_to_officials_handling_it(app: App) -> None:
    reporter = WhatsAppChat(app, PHONE, NAME)
    await reporter.onboard()
    await send_report(reporter, privacy="Rahasia")
    await send_report(reporter, category="Kesehatan", description="Posyandu kekurangan timbangan bayi sejak Oktober")
    handler = Chat(app.engine, user="handler")
    bystander = Chat(app.engine, user="bystander")
    for official in (handler, bystander):
        await official.onboard()
        user = await app.store.users.find("console", official.user)
        assert user is not None
        await app.store.users.set_role(user.id, "official")
        await official.send("menu")

    await bystander.send("status LPR-2026-000001")
    assert "Rahasia: nama hanya terlihat oleh petugas" in bystander.text
    assert PHONE not in bystander.text and NAME not in bystander.text
    await handler.send("status LPR-2026-000001")
    assert PHONE not in handler.text, "not yet handling it"
    await handler.click("Ubah status")
    await handler.click("Diverifikasi")
    await handler.click("Tanpa catatan")
    assert f"Telepon: {PHONE}" in handler.text and f"{NAME} (rahasia)" in handler.text
    await bystander.send("status LPR-2026-000001")
    assert PHONE not in bystander.text, "still not for an official who does not handle it"
    await bystander.send("status LPR-2026-000002")
    assert f"Telepon: {PHONE}" in bystander.text, "a normal report shows its reporter's number to officials"
    await handler.send(payload="report:export")
    assert PHONE not in Path(handler.replies[0].files[0]).read_text("utf-8-sig")
