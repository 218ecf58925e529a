"""Konsultasi publik driven as people use it: an official creates, citizens register, wait, check in,
propose and support; stage changes and the outcome reach the right people; every official step is guarded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App, build_app
from bot.config import Settings
from handlers.types import Location
from storage.programmes import NewProgramme
from tests.helpers_civic import (
    BERBAH,
    ENDS,
    JOGOTIRTO,
    STARTS,
    add_consultation,
    citizen,
    official,
    sent_to,
    user_id,
)
from tests.support import Chat, FakeClock

DATE_WIB = "Kamis, 3 Desember 2026 pukul 09.00 WIB"


async def test_official_creates_a_consultation_step_by_step(app: App) -> None:
    programme_id = await app.store.programmes.create(
        NewProgramme("Jalan Desa Mulus", "", "infrastruktur", BERBAH, None, None), app.clock())
    off = await official(app)
    await off.click("Menu petugas")
    await off.click("Konsultasi publik")
    await off.click("Buat konsultasi")
    await off.send("Mus")
    assert "terlalu pendek" in off.text
    await off.send("Musrenbang Desa Jogotirto 2027")
    await off.send("Membahas usulan pembangunan desa untuk RKP Desa 2027.")
    await off.click("Tingkat desa")
    await off.send("Berbah")
    await off.click("Jogotirto")
    await off.send("Balai Desa Jogotirto, Jl. Berbah No. 1")
    await off.send(location=Location(-7.8021, 110.4323))
    await off.send("bukan tautan")
    assert "bukan tautan" in off.text and "https://" in off.text
    await off.send("https://meet.example.go.id/musrenbang")
    await off.send("31-02-2026 09.00")
    assert "tidak bisa membacanya" in off.text
    await off.send("29-11-2026 09.00")
    assert "harus setelah saat ini" in off.text
    await off.send("03-12-2026 09.00")
    await off.send("08.00")
    assert "harus setelah waktu mulai" in off.text
    await off.send("12.00")
    await off.send("banyak")
    assert "tulis jumlah orang" in off.text
    await off.send("50")
    await off.click("Jalan Desa Mulus")
    assert "Silakan periksa konsultasinya" in off.text
    assert f"Mulai: {DATE_WIB}" in off.text
    assert "Selesai: Kamis, 3 Desember 2026 pukul 12.00 WIB" in off.text
    assert "Topik: Jalan Desa Mulus" in off.text
    assert "openstreetmap.org/?mlat=-7.80210&mlon=110.43230" in off.text
    await off.click("Simpan")
    assert "Tersimpan" in off.text and "Terdaftar: 0/50" in off.text

    [created] = await app.store.consultations.for_officials(None, app.clock())
    assert (created.level, created.kecamatan_code, created.desa_code) == ("desa", BERBAH, JOGOTIRTO)
    assert created.starts_at == STARTS and created.ends_at == ENDS      # typed in WIB, stored in UTC
    assert created.capacity == 50 and created.programme_id == programme_id
    assert created.online_url == "https://meet.example.go.id/musrenbang"
    audit = await app.store.audit.recent()
    assert any(row["action"] == "consultation.create" and row["allowed"] for row in audit)

    budi = await citizen(app, "budi")
    await budi.click("Konsultasi publik")
    assert "Musrenbang Desa Jogotirto 2027" in budi.text and DATE_WIB in budi.text


async def test_citizens_see_their_desa_kecamatan_and_kabupaten_consultations_soonest_first(
    app: App, clock: FakeClock
) -> None:
    day = timedelta(days=1)
    await add_consultation(app, "Musrenbang Desa Jogotirto", starts_at=STARTS + 2 * day)
    await add_consultation(app, "Musrenbang Kecamatan Berbah", "kecamatan", BERBAH, None, STARTS)
    await add_consultation(app, "Forum Konsultasi Publik RPJMD", "kabupaten", None, None, STARTS + day)
    other_desa = await add_consultation(app, "Musrenbang Desa Kalitirto", desa_code="34.04.08.2002")
    await add_consultation(app, "Musrenbang Kecamatan Ngaglik", "kecamatan", "34.04.12", None, STARTS)
    await add_consultation(app, "Musrenbang yang sudah lewat", starts_at=clock.now - 2 * day,
                           ends_at=clock.now - day)
    budi = await citizen(app, "budi")
    await budi.click("Konsultasi publik")
    assert budi.labels[:3] == ["Musrenbang Kecamatan Berbah", "Forum Konsultasi Publik RPJMD",
                               "Musrenbang Desa Jogotirto"]
    assert "Kalitirto" not in budi.text and "Ngaglik" not in budi.text and "sudah lewat" not in budi.text
    await budi.click("Musrenbang Kecamatan Berbah")
    assert "Tingkat kecamatan · Kecamatan Berbah" in budi.text and DATE_WIB in budi.text
    await budi.send(payload=f"cons:open:{other_desa}")   # a forged button for another desa's consultation
    assert "tidak saya temukan" in budi.text


async def test_register_returns_a_short_code_and_arms_two_reminders_cancel_disarms_them(app: App) -> None:
    consultation_id = await add_consultation(app)
    budi = await citizen(app, "budi")
    await budi.click("Konsultasi publik")
    await budi.click("Musrenbang Desa Jogotirto 2027")
    await budi.click("Daftar")
    registration = await app.store.consultations.registration(consultation_id, await user_id(app, "budi"))
    assert registration is not None and registration.state == "registered"
    assert len(registration.code) == 6 and f"HADIR {registration.code}" in budi.text
    assert f"Kode: {registration.code}" in budi.text and "Batalkan pendaftaran" in budi.labels
    day_before = await app.store.reminders.find("consultation_h1", str(registration.id))
    two_hours = await app.store.reminders.find("consultation_2h", str(registration.id))
    assert day_before is not None and day_before.due_at == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 09.00 WIB
    assert two_hours is not None and two_hours.due_at == STARTS - timedelta(hours=2)
    await budi.send(payload=f"cons:register:{consultation_id}")  # an old button pressed again
    assert "sudah terdaftar di konsultasi ini" in budi.text
    assert (await app.store.consultations.counts(consultation_id))["registered"] == 1

    await budi.click("Batalkan pendaftaran")
    assert "sudah dibatalkan" in budi.text and "Daftar" in budi.labels
    assert (await app.store.reminders.find("consultation_h1", str(registration.id))).state == "cancelled"
    assert (await app.store.reminders.find("consultation_2h", str(registration.id))).state == "cancelled"

    await budi.click("Daftar")  # registering again brings the same code and fresh reminders
    again = await app.store.consultations.registration(consultation_id, await user_id(app, "budi"))
    assert again is not None and again.code == registration.code and again.state == "registered"
    assert (await app.store.reminders.find("consultation_h1", str(registration.id))).state == "pending"
    await budi.send(payload="cons:mine")
    assert f"kode {registration.code}" in budi.text


async def test_capacity_waiting_list_and_a_freed_place_goes_to_the_first_in_line(app: App) -> None:
    consultation_id = await add_consultation(app, capacity=1)
    ani, budi, citra = [await citizen(app, name) for name in ("ani", "budi", "citra")]
    await ani.send(payload=f"cons:open:{consultation_id}")
    assert "Kuota: 1 orang, sisa 1 tempat" in ani.text
    await ani.click("Daftar")
    await budi.send(payload=f"cons:open:{consultation_id}")
    assert "sisa 0 tempat" in budi.text and "Daftar" not in budi.labels
    await budi.send(payload=f"cons:register:{consultation_id}")  # an old "Daftar" button
    assert "sudah penuh" in budi.text
    await budi.click("Masuk daftar tunggu")
    assert "daftar tunggu, nomor 1" in budi.text
    await citra.send(payload=f"cons:open:{consultation_id}")
    await citra.click("Masuk daftar tunggu")
    assert "nomor 2" in citra.text

    await ani.click("Batalkan pendaftaran")
    budi_registration = await app.store.consultations.registration(consultation_id, await user_id(app, "budi"))
    assert budi_registration is not None and budi_registration.state == "registered"
    [told] = await sent_to(app, "budi")
    assert "ada tempat kosong" in told and f"HADIR {budi_registration.code}" in told and DATE_WIB in told
    assert await app.store.reminders.find("consultation_2h", str(budi_registration.id)) is not None
    assert await sent_to(app, "citra") == []
    await citra.send(payload=f"cons:open:{consultation_id}")
    assert "daftar tunggu (nomor 1)" in citra.text


async def test_check_in_with_hadir_and_the_button_during_the_event_only(app: App, clock: FakeClock) -> None:
    consultation_id = await add_consultation(app)
    budi, ani, citra = [await citizen(app, name) for name in ("budi", "ani", "citra")]
    for person in (budi, ani):
        await person.send(payload=f"cons:register:{consultation_id}")
    code = (await app.store.consultations.registration(consultation_id, await user_id(app, "budi"))).code

    await budi.send(f"HADIR {code}")
    assert "dibuka satu jam sebelum" in budi.text
    clock.set(STARTS - timedelta(minutes=30))
    await citra.send(f"HADIR {code}")            # somebody else's code does not work for a citizen
    assert "tidak saya temukan" in citra.text
    await budi.send(f"hadir {code.lower()}")
    assert "Selamat datang di Musrenbang Desa Jogotirto 2027" in budi.text
    await budi.send(f"HADIR {code}")
    assert "sudah tercatat sebelumnya" in budi.text
    await ani.send(payload=f"cons:open:{consultation_id}")
    await ani.click("Saya hadir")
    assert "Selamat datang" in ani.text and "Saya hadir" not in ani.labels

    off = await official(app)
    await off.send(payload=f"conadm:registrants:{consultation_id}")
    assert "2 terdaftar, 2 hadir, 0 menunggu" in off.text
    assert f"budi · {code} · hadir" in off.text

    clock.set(ENDS + timedelta(minutes=1))
    await ani.send("HADIR")
    assert "HADIR lalu kode" in ani.text


async def test_an_official_checks_someone_in_at_the_door(app: App, clock: FakeClock) -> None:
    consultation_id = await add_consultation(app)
    budi = await citizen(app, "budi")
    await budi.send(payload=f"cons:register:{consultation_id}")
    code = (await app.store.consultations.registration(consultation_id, await user_id(app, "budi"))).code
    off = await official(app)
    clock.set(STARTS + timedelta(minutes=10))
    await off.send(f"HADIR {code}")
    assert f"kode {code} sudah tercatat" in off.text
    audit = await app.store.audit.recent()
    assert any(row["action"] == "consultation.checkin" and row["allowed"] for row in audit)
    limited = await official(app, "camat_ngaglik", kecamatan="34.04.12")
    await limited.send(f"HADIR {code}")
    assert "hanya petugas" in limited.text.lower()


async def test_proposals_with_support_and_stage_changes_that_tell_proposer_and_supporters(app: App) -> None:
    consultation_id = await add_consultation(app)
    ani = await citizen(app, "ani")
    budi = await citizen(app, "budi", language="English")
    citra = await citizen(app, "citra")
    dodi = await citizen(app, "dodi", desa="Sardonoharjo")

    await ani.send(payload=f"cons:open:{consultation_id}")
    await ani.click("Usulan warga (0)")
    assert "Belum ada usulan" in ani.text
    await ani.click("Kirim usulan")
    await ani.send("Perbaikan jalan usaha tani Dusun Kalang")
    await ani.send("Jalan rusak, truk panen tidak bisa lewat. Manfaat untuk 120 petani.")
    await ani.click("Pertanian")
    await ani.send(location=Location(-7.80, 110.43, "Dusun Kalang RT 03"))
    assert "Silakan periksa usulan" in ani.text and "Bidang: Pertanian" in ani.text
    await ani.click("Kirim")
    assert "Usulan Bapak/Ibu sudah tersimpan" in ani.text and "Dukung" not in ani.labels
    await citra.send(payload=f"cons:propose:{consultation_id}")
    await citra.send("Lampu jalan Dusun Ngentak")
    await citra.send("Jalan gelap di malam hari, rawan kecelakaan.")
    await citra.click("Lingkungan hidup")
    await citra.send("Dusun Ngentak")
    await citra.click("Kirim")
    [first, second] = await app.store.consultations.proposals(consultation_id)
    assert first.title.startswith("Perbaikan jalan")

    await budi.send(payload=f"cons:proposal:{first.id}")
    await budi.click("Support")
    assert "your support is counted" in budi.text
    await budi.send(payload=f"cons:support:{first.id}")
    assert "already support" in budi.text
    await ani.send(payload=f"cons:support:{first.id}")
    assert "usulan Bapak/Ibu sendiri" in ani.text
    await dodi.send(payload=f"cons:support:{first.id}")       # another kecamatan: cannot even see it
    assert "tidak saya temukan" in dodi.text
    await citra.send(payload=f"cons:support:{first.id}")
    ranked = await app.store.consultations.proposals(consultation_id)
    assert [(p.title, p.supporters) for p in ranked] == [(first.title, 2), (second.title, 0)]

    off = await official(app)
    await off.send(payload=f"conadm:proposals:{consultation_id}")
    assert off.text.index("Perbaikan jalan") < off.text.index("Lampu jalan")
    assert "(2 dukungan, diusulkan)" in off.text
    await off.click(f"{first.title[:50]} (2)")
    assert "Diusulkan oleh ani" in off.text
    await off.click("Pindah ke: Dibahas di desa")
    await off.send("Dibahas di Musdes tanggal 3 Desember.")
    assert "3 orang sudah dikabari" in off.text
    [to_ani] = await sent_to(app, "ani")
    assert "sekarang sudah di tahap: Dibahas di desa" in to_ani and "Dibahas di Musdes" in to_ani
    [to_budi] = await sent_to(app, "budi")
    assert "it is now at the stage: Discussed in the desa" in to_budi
    assert len(await sent_to(app, "citra")) == 1 and await sent_to(app, "dodi") == []

    await off.click("Pindah ke: Masuk rencana")
    await off.click("Tanpa catatan")
    assert len(await sent_to(app, "ani")) == 2
    assert "Pindah ke" not in " ".join(off.labels)             # a final stage has no next step
    await off.send(payload=f"conadm:stage:{first.id}:desa")    # an old button cannot move it back
    assert "sudah tidak bisa dilakukan" in off.text
    stages = [change.stage for change in await app.store.consultations.stage_history(first.id)]
    assert stages == ["proposed", "desa", "planned"]
    await dodi.send(payload=f"cons:proposal:{second.id}")
    assert "tidak saya temukan" in dodi.text


async def test_closed_proposals_take_no_new_ones(app: App) -> None:
    consultation_id = await add_consultation(app)
    off = await official(app)
    await off.send(payload=f"conadm:open:{consultation_id}")
    await off.click("Tutup usulan")
    assert "Usulan ditutup" in off.text
    budi = await citizen(app, "budi")
    await budi.send(payload=f"cons:propose:{consultation_id}")
    assert "sudah tidak menerima usulan baru" in budi.text


async def test_outcome_goes_to_every_registrant_and_attendee_and_nobody_else(app: App, clock: FakeClock) -> None:
    consultation_id = await add_consultation(app, capacity=2)
    names = ("ani", "budi", "citra", "dodi")
    people = {name: await citizen(app, name) for name in names}
    for name in ("ani", "budi"):
        await people[name].send(payload=f"cons:register:{consultation_id}")
    await people["citra"].send(payload=f"cons:wait:{consultation_id}")
    off = await official(app)
    await off.send(payload=f"conadm:open:{consultation_id}")
    assert "Kirim hasil" not in off.labels
    await off.send(payload=f"conadm:outcome:{consultation_id}")
    assert "setelah konsultasi dimulai" in off.text

    clock.set(STARTS + timedelta(minutes=5))
    code = (await app.store.consultations.registration(consultation_id, await user_id(app, "ani"))).code
    await people["ani"].send(f"HADIR {code}")
    clock.set(ENDS + timedelta(hours=1))
    await off.send(payload=f"conadm:open:{consultation_id}")
    await off.click("Kirim hasil")
    await off.send("Disepakati 5 usulan prioritas: jalan usaha tani Kalang, lampu jalan Ngentak, ...")
    assert "Akan dikirim ke 2 orang" in off.text
    await off.click("Kirim")
    assert "Hasil sudah dikirim ke 2 orang" in off.text
    for name in ("ani", "budi"):
        [outcome] = await sent_to(app, name)
        assert outcome.startswith("Hasil Musrenbang Desa Jogotirto 2027") and "5 usulan prioritas" in outcome
    assert await sent_to(app, "citra") == [] and await sent_to(app, "dodi") == []
    await people["budi"].send(payload=f"cons:open:{consultation_id}")
    assert "Hasil:" in people["budi"].text


OFFICIAL_PAYLOADS = ["go:consultation_admin", "conadm:open:{c}", "conadm:registrants:{c}", "conadm:proposals:{c}",
                     "conadm:proposal:{p}", "conadm:stage:{p}:desa", "conadm:toggle:{c}", "conadm:outcome:{c}"]


@pytest.mark.parametrize("payload", OFFICIAL_PAYLOADS)
async def test_a_citizen_cannot_do_any_official_consultation_step(app: App, clock: FakeClock, payload: str) -> None:
    consultation_id = await add_consultation(app)
    ani = await citizen(app, "ani")
    await ani.send(payload=f"cons:propose:{consultation_id}")
    await ani.send("Perbaikan jalan")
    await ani.send("Jalan rusak parah sejak musim hujan.")
    await ani.click("Jalan dan infrastruktur")
    await ani.send("Dusun Kalang")
    await ani.click("Kirim")
    [proposal] = await app.store.consultations.proposals(consultation_id)
    clock.set(STARTS + timedelta(minutes=5))
    budi = await citizen(app, "budi")
    await budi.send(payload=payload.format(c=consultation_id, p=proposal.id))
    assert "hanya petugas" in budi.text.lower()
    refused = [row for row in await app.store.audit.recent() if not row["allowed"]]
    assert refused and refused[0]["user_id"] == await user_id(app, "budi")
    assert (await app.store.consultations.proposal(proposal.id)).stage == "proposed"
    assert (await app.store.consultations.get(consultation_id)).proposals_open


async def test_a_citizen_stuck_in_an_official_step_is_refused(app: App) -> None:
    """A role taken away mid-form: the next step refuses, server side."""
    off = await official(app)
    await off.send(payload="go:consultation_admin")
    await off.click("Buat konsultasi")
    await app.store.users.set_role(await user_id(app, "petugas"), "citizen")
    await off.send("Musrenbang Desa Jogotirto 2027")
    assert "hanya petugas" in off.text.lower()
    assert await app.store.consultations.for_officials(None, datetime(2026, 1, 1, tzinfo=UTC)) == []


async def test_an_official_limited_to_one_kecamatan_works_only_there(app: App) -> None:
    berbah_id = await add_consultation(app)
    ngaglik_id = await add_consultation(app, "Musrenbang Kecamatan Ngaglik", "kecamatan", "34.04.12", None)
    kabupaten_id = await add_consultation(app, "Forum RPJMD", "kabupaten", None, None)
    camat = await official(app, "camat_berbah", kecamatan=BERBAH)
    await camat.send(payload="go:consultation_admin")
    assert "Musrenbang Desa Jogotirto 2027" in camat.labels
    assert "Musrenbang Kecamatan Ngaglik" not in camat.labels and "Forum RPJMD" not in camat.labels
    for forbidden in (ngaglik_id, kabupaten_id):
        await camat.send(payload=f"conadm:open:{forbidden}")
        assert "hanya petugas" in camat.text.lower()
    await camat.send(payload=f"conadm:open:{berbah_id}")
    assert "Pendaftar dan kehadiran" in camat.labels

    await camat.send(payload="go:consultation_admin")
    await camat.click("Buat konsultasi")
    await camat.send("Musrenbang Desa Tegaltirto 2027")
    await camat.click("Lewati")
    assert "Tingkat kabupaten" not in camat.labels
    await camat.send(payload="level:kabupaten")            # a forged button is not one that was offered
    assert "pesan lama" in camat.text and "Tingkat kabupaten" not in camat.labels
    await camat.send(payload="go:consultation_admin")
    await camat.click("Buat konsultasi")
    await camat.send("Musrenbang Desa Tegaltirto 2027")
    await camat.click("Lewati")
    await camat.click("Tingkat desa")
    assert "Untuk desa mana di Kecamatan Berbah" in camat.text   # no kecamatan question for a camat
    await camat.click("Tegaltirto")
    await camat.click("Daring saja")
    await camat.send("https://meet.example.go.id/tegaltirto")
    await camat.send("04-12-2026 19.30")
    await camat.send("21.30")
    await camat.click("Tanpa batas")
    await camat.click("Simpan")
    created = [c for c in await app.store.consultations.for_officials(BERBAH, STARTS) if "Tegaltirto" in c.title]
    assert created and created[0].place is None and created[0].starts_at == datetime(2026, 12, 4, 12, 30, tzinfo=UTC)


async def test_a_limit_set_mid_form_is_enforced_by_the_step_itself(app: App) -> None:
    off = await official(app)
    await off.send(payload="go:consultation_admin")
    await off.click("Buat konsultasi")
    await off.send("Forum Konsultasi Publik RPJMD")
    await off.click("Lewati")
    assert "Tingkat kabupaten" in off.labels
    await app.store.users.set_role(await user_id(app, "petugas"), "official", BERBAH)
    await off.click("Tingkat kabupaten")
    assert "hanya petugas" in off.text.lower()


async def test_restart_in_the_middle_of_a_proposal_loses_nothing(app: App, settings: Settings,
                                                                  clock: FakeClock) -> None:
    consultation_id = await add_consultation(app)
    ani = await citizen(app, "ani")
    await ani.send(payload=f"cons:propose:{consultation_id}")
    await ani.send("Perbaikan jalan usaha tani Dusun Kalang")
    second = await build_app(settings, clock=clock)
    try:
        again = Chat(second.engine, user="ani")
        await again.send("Jalan rusak, truk panen tidak bisa lewat.")
        assert "termasuk bidang apa" in again.text
    finally:
        await second.close()


def test_cli_adds_and_lists_a_consultation(tmp_path, monkeypatch, capsys) -> None:
    from zoneinfo import ZoneInfo

    from bot.cli import main

    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "cli.sqlite3"))
    monkeypatch.chdir(tmp_path)
    day = (datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(days=10)).strftime("%d-%m-%Y")
    code = main(["consultations", "add", "--title", "Musrenbang Kecamatan Berbah", "--level", "kecamatan",
                 "--area", "berbah", "--start", f"{day} 09.00", "--end", "12.00", "--place", "Pendopo Kecamatan",
                 "--capacity", "80"])
    assert code == 0
    assert "Created consultation 1: Musrenbang Kecamatan Berbah" in capsys.readouterr().out
    assert main(["consultations", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Musrenbang Kecamatan Berbah" in listed and "pukul 09.00 WIB" in listed and "0 registered" in listed
    assert main(["consultations", "add", "--title", "Musrenbang", "--level", "desa", "--area", "qwxzv",
                 "--start", f"{day} 09.00", "--end", "12.00", "--place", "Balai"]) == 2
    assert "exactly one desa" in capsys.readouterr().err
    assert main(["consultations", "add", "--title", "Musrenbang", "--level", "kabupaten",
                 "--start", "01-01-2020 09.00", "--end", "12.00", "--place", "Balai"]) == 2
    assert "harus setelah saat ini" in capsys.readouterr().err
