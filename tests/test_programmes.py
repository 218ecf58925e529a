"""Program & info driven as people use it: officials add programmes and publish updates, citizens follow,
receive the update in their language, answer it, and unfollow; every official step is guarded."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from handlers.types import Media, replies_from_json
from storage.outbox import PRIORITY_BULK
from storage.programmes import NewProgramme
from tests.helpers_civic import BERBAH, JOGOTIRTO, citizen, official, options_sent_to, sent_to, user_id
from tests.support import FakeClock


async def add_programme(app: App, name: str = "Posyandu Balita Sehat", kecamatan: str | None = BERBAH,
                        desa: str | None = None, topic: str = "kesehatan") -> int:
    return await app.store.programmes.create(NewProgramme(name, "Penimbangan dan imunisasi balita.", topic,
                                                          kecamatan, desa, None), app.clock())


async def test_official_adds_a_programme_and_citizens_of_the_area_follow_it_with_one_tap(app: App) -> None:
    off = await official(app)
    await off.click("Menu petugas")
    await off.click("Program")
    await off.click("Tambah program")
    await off.send("Posyandu Balita Sehat")
    await off.send("Penimbangan, imunisasi dan makanan tambahan untuk balita setiap bulan.")
    await off.click("Kesehatan")
    await off.click("Satu kecamatan")
    await off.send("Berbah")
    assert "Topik: Kesehatan · Wilayah: Kecamatan Berbah" in off.text
    await off.click("Simpan")
    assert "Tersimpan" in off.text and "Pengikut: 0" in off.text
    await add_programme(app, "Sekolah Lapang Tani", None, topic="pertanian")
    await add_programme(app, "Bank Sampah Sardonoharjo", "34.04.12", "34.04.12.2003", topic="lingkungan")

    budi = await citizen(app, "budi")
    await budi.click("Program & info")
    assert "Bapak/Ibu belum mengikuti program apa pun" in budi.text
    assert budi.labels[:2] == ["Posyandu Balita Sehat", "Sekolah Lapang Tani"]
    assert "Bank Sampah" not in budi.text                       # another kecamatan's programme
    await budi.click("Posyandu Balita Sehat")
    assert "Penimbangan, imunisasi" in budi.text and "belum mengikuti program ini" in budi.text
    await budi.click("Ikuti")
    assert "sekarang mengikuti Posyandu Balita Sehat" in budi.text
    assert "Program yang Bapak/Ibu ikuti: Posyandu Balita Sehat." in budi.text
    assert "✓ Posyandu Balita Sehat" in budi.labels
    await budi.click("✓ Posyandu Balita Sehat")
    await budi.click("Berhenti mengikuti")
    assert "sudah berhenti mengikuti Posyandu Balita Sehat" in budi.text
    assert "Posyandu Balita Sehat" in budi.labels
    assert await app.store.programmes.subscriptions(await user_id(app, "budi")) == []


async def test_an_update_reaches_each_follower_in_their_language(app: App, tmp_path: Path) -> None:
    programme_id = await add_programme(app)
    ani = await citizen(app, "ani")
    ben = await citizen(app, "ben", language="English")
    await citizen(app, "citra")                                   # in the area, but not following
    dodi = await citizen(app, "dodi")
    erna = await citizen(app, "erna")
    for person in (ani, ben, dodi, erna):
        await person.send(payload=f"prog:sub:{programme_id}")
    await dodi.send("BERHENTI")                                   # opted out of everything the bot starts
    await app.store.users.mark_unreachable("console", "erna")     # blocked the bot since
    photo = tmp_path / "posyandu.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 a tiny jpeg")

    off = await official(app)
    await off.send(payload=f"progadm:open:{programme_id}")
    assert "Pengikut: 4" in off.text
    await off.click("Kirim kabar")
    await off.send("Posyandu bulan Desember diadakan Sabtu, 5 Desember 2026, di Balai Dusun Kalang.")
    await off.send("The December Posyandu is on Saturday 5 December 2026 at the Kalang hamlet hall.")
    await off.send(media=(Media("photo", str(photo), "image/jpeg", photo.stat().st_size),))
    await off.send("https://dinkes.slemankab.go.id/posyandu")
    assert "Pengikut akan menerima ini" in off.text and "Kabar dari Posyandu Balita Sehat" in off.text
    assert "Akan dikirim ke 4 pengikut" in off.text
    await off.click("Kirim")
    assert "Sudah dikirim ke 2 pengikut" in off.text

    [to_ani] = await sent_to(app, "ani")
    assert "Posyandu bulan Desember diadakan Sabtu" in to_ani and "dinkes.slemankab.go.id" in to_ani
    [to_ben] = await sent_to(app, "ben")
    assert to_ben.startswith("News from Posyandu Balita Sehat") and "The December Posyandu" in to_ben
    assert await sent_to(app, "citra") == [] and await sent_to(app, "dodi") == [] and await sent_to(app, "erna") == []
    [message] = await app.store.outbox.for_user(await user_id(app, "ani"))
    assert replies_from_json(message.body)[0].media == (str(photo),)
    assert (message.kind, message.priority) == ("programme_update", PRIORITY_BULK)   # behind replies, like a broadcast
    [update] = await app.store.programmes.updates(programme_id)
    assert update.recipients == 2

    await off.send(payload=f"progadm:open:{programme_id}")
    await off.click("Kirim kabar")
    await off.send("Jadwal imunisasi campak sudah keluar, cek di kader Posyandu.")
    await off.click("Lewati")
    await off.click("Lewati")
    await off.click("Lewati")
    await off.click("Kirim")
    assert "Jadwal imunisasi campak" in (await sent_to(app, "ben"))[-1]   # only Indonesian given: that one


async def test_followers_answer_an_update_and_officials_read_it_per_update(app: App, clock: FakeClock) -> None:
    programme_id = await add_programme(app)
    ani = await citizen(app, "ani")
    await ani.send(payload=f"prog:sub:{programme_id}")
    off = await official(app)
    await off.send(payload=f"progadm:publish:{programme_id}")
    await off.send("Posyandu bulan Desember diadakan Sabtu, 5 Desember 2026.")
    for _skip in range(3):
        await off.click("Lewati")
    await off.click("Kirim")
    [update_payloads] = await options_sent_to(app, "ani")
    assert update_payloads == [f"prog:feedback:{(await app.store.programmes.updates(programme_id))[0].id}",
                               f"prog:unsub:{programme_id}"]

    clock.advance(hours=5)                                        # the button is pressed hours later
    await ani.send(payload=update_payloads[0])
    assert "Tulis tanggapan" in ani.text
    await ani.send("Terima kasih, mohon jadwalnya sore hari karena pagi kami ke sawah.")
    assert "sudah diteruskan" in ani.text

    await off.send(payload=f"progadm:open:{programme_id}")
    await off.click("Kabar dan tanggapan")
    assert "(1 penerima, 1 tanggapan)" in off.text
    await off.click(off.labels[0])
    assert "ani (Jogotirto)" in off.text and "mohon jadwalnya sore hari" in off.text

    await ani.send(payload=update_payloads[1])                    # "Berhenti mengikuti" on the update
    assert "sudah berhenti mengikuti" in ani.text
    assert await app.store.programmes.count_subscribers(programme_id) == 0


async def test_a_deactivated_programme_is_hidden_but_followers_can_still_leave(app: App) -> None:
    programme_id = await add_programme(app, desa=JOGOTIRTO)
    ani = await citizen(app, "ani")
    await ani.send(payload=f"prog:sub:{programme_id}")
    off = await official(app)
    await off.send(payload=f"progadm:open:{programme_id}")
    await off.click("Nonaktifkan")
    assert "Tidak aktif" in off.text and "Kirim kabar" not in off.labels
    budi = await citizen(app, "budi")
    await budi.click("Program & info")
    assert "Posyandu" not in budi.text
    await budi.send(payload=f"prog:sub:{programme_id}")
    assert "tidak saya temukan" in budi.text
    await ani.send(payload=f"prog:unsub:{programme_id}")
    assert "sudah berhenti mengikuti" in ani.text


OFFICIAL_PAYLOADS = ["go:programme_admin", "progadm:open:{p}", "progadm:publish:{p}", "progadm:toggle:{p}",
                     "progadm:updates:{p}", "progadm:update:{u}"]


@pytest.mark.parametrize("payload", OFFICIAL_PAYLOADS)
async def test_a_citizen_cannot_do_any_official_programme_step(app: App, payload: str) -> None:
    programme_id = await add_programme(app)
    off = await official(app)
    await off.send(payload=f"progadm:publish:{programme_id}")
    await off.send("Posyandu bulan Desember diadakan Sabtu.")
    for _skip in range(3):
        await off.click("Lewati")
    await off.click("Kirim")
    [update] = await app.store.programmes.updates(programme_id)
    budi = await citizen(app, "budi")
    await budi.send(payload=payload.format(p=programme_id, u=update.id))
    assert "hanya petugas" in budi.text.lower()
    refused = [row for row in await app.store.audit.recent() if not row["allowed"]]
    assert refused and refused[0]["user_id"] == await user_id(app, "budi")
    assert (await app.store.programmes.get(programme_id)).active
    assert len(await app.store.programmes.updates(programme_id)) == 1


async def test_an_update_is_not_sent_by_someone_who_lost_the_role_mid_form(app: App) -> None:
    programme_id = await add_programme(app)
    ani = await citizen(app, "ani")
    await ani.send(payload=f"prog:sub:{programme_id}")
    off = await official(app)
    await off.send(payload=f"progadm:publish:{programme_id}")
    await off.send("Posyandu bulan Desember diadakan Sabtu.")
    for _skip in range(3):
        await off.click("Lewati")
    await app.store.users.set_role(await user_id(app, "petugas"), "citizen")
    await off.click("Kirim")
    assert "hanya petugas" in off.text.lower()
    assert await app.store.programmes.updates(programme_id) == [] and await sent_to(app, "ani") == []


async def test_an_official_limited_to_one_kecamatan_manages_only_its_programmes(app: App) -> None:
    berbah = await add_programme(app)
    district_wide = await add_programme(app, "Sekolah Lapang Tani", None, topic="pertanian")
    ngaglik = await add_programme(app, "Bank Sampah", "34.04.12", topic="lingkungan")
    camat = await official(app, "camat_berbah", kecamatan=BERBAH)
    await camat.send(payload="go:programme_admin")
    assert "Posyandu Balita Sehat" in camat.labels and "Bank Sampah" not in camat.labels
    for forbidden in (district_wide, ngaglik):
        for verb in ("open", "publish", "toggle"):
            await camat.send(payload=f"progadm:{verb}:{forbidden}")
            assert "hanya petugas" in camat.text.lower()
    await camat.send(payload=f"progadm:open:{berbah}")
    assert "Kirim kabar" in camat.labels
    await camat.send(payload="go:programme_admin")
    await camat.click("Tambah program")
    await camat.send("Kelompok Tani Muda")
    await camat.click("Lewati")
    await camat.click("Pertanian")
    assert "Seluruh kabupaten" not in camat.labels
    await camat.click("Satu desa")
    assert "Untuk desa mana di Kecamatan Berbah" in camat.text
    await camat.click("Tegaltirto")
    await camat.click("Simpan")
    created = [p for p in await app.store.programmes.for_officials(BERBAH) if p.name == "Kelompok Tani Muda"]
    assert created and created[0].desa_code.startswith(BERBAH)
