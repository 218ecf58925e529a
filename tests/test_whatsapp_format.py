"""Table-driven cases for what a Twilio webhook means and how replies look on WhatsApp."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.media import sniff_image
from bot.channels.whatsapp import Piece, content_variables, parse_inbound, render_pieces
from handlers.i18n import use_locale
from handlers.types import Location, Option, Reply
from tests.fake_twilio import JPEG

BASE = {"MessageSid": "SM" + "1" * 32, "From": "whatsapp:+6281234567890", "Body": "halo", "ProfileName": "Budi"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {"external_id": "+6281234567890", "text": "halo", "display_name": "Budi", "payload": None}),
        ({"From": "+6281234567890"}, None),                          # SMS, not WhatsApp
        ({"From": "whatsapp:+62 812"}, None),
        ({"MessageSid": ""}, None),
        ({"Body": "", "ButtonText": "Lihat laporan", "ButtonPayload": "go:my_reports"},
         {"text": "Lihat laporan", "payload": "go:my_reports"}),
        ({"ProfileName": "\u200bBu\x00di " + "x" * 200}, {"display_name": "Budi " + "x" * 59}),
        ({"Latitude": "-7.7742", "Longitude": "110.3766", "Address": "Jl. Kaliurang", "Label": "SD Negeri 2"},
         {"location": Location(-7.7742, 110.3766, "SD Negeri 2, Jl. Kaliurang")}),
        ({"Latitude": "-7.7742", "Longitude": "110.3766"}, {"location": Location(-7.7742, 110.3766)}),
        ({"Latitude": "999", "Longitude": "110.3766"}, {"location": None}),
        ({"Latitude": "nan", "Longitude": "nan"}, {"location": None}),
        ({"Latitude": "utara", "Longitude": "110"}, {"location": None}),
        ({"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/m", "MediaContentType0": "IMAGE/JPEG"},
         {"media": (("https://api.twilio.com/m", "image/jpeg"),)}),
        ({"NumMedia": "9999", "MediaUrl0": "https://api.twilio.com/m", "MediaContentType0": "image/png"},
         {"media": (("https://api.twilio.com/m", "image/png"),)}),
        ({"NumMedia": "banyak", "MediaUrl0": "https://api.twilio.com/m"}, {"media": ()}),
    ],
)
def test_parse_inbound(fields: dict[str, str], expected: dict[str, Any] | None) -> None:
    message = parse_inbound(BASE | fields)
    if expected is None:
        assert message is None
        return
    assert message is not None
    for name, value in expected.items():
        assert getattr(message, name) == value


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ([Reply("Pilih satu.", (Option("Jalan", "cat:1"), Option("Sampah", "cat:2")))],
         [Piece("Pilih satu.\n\n1. Jalan\n2. Sampah\n\nBalas dengan angka, misalnya *1*.")]),
        ([Reply("Terima kasih."), Reply("Di mana lokasinya?", request="location")],
         [Piece("Terima kasih.\n\nDi mana lokasinya?\n\nUntuk mengirim lokasi di WhatsApp: ketuk 📎 (atau +), pilih "
                "*Lokasi*, lalu *Kirim lokasi Anda saat ini*. Bisa juga ketik saja nama desa Bapak/Ibu.")]),
        ([Reply("Kirim foto.", request="photo")],
         [Piece("Kirim foto.\n\nUntuk mengirim foto: ketuk ikon kamera, atau 📎 (atau +) lalu *Galeri*.")]),
        ([Reply("", media=("https://example.go.id/a.jpg",))], [Piece(media_url="https://example.go.id/a.jpg")]),
        ([Reply("")], []),
    ],
)
def test_render_pieces(replies: list[Reply], expected: list[Piece]) -> None:
    with use_locale("id"):
        assert render_pieces(replies) == expected


@pytest.mark.parametrize(
    ("data", "mime"),
    [(JPEG, "image/jpeg"), (b"\x89PNG\r\n\x1a\n\0\0", "image/png"), (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
     (b"<html>", None), (b"", None), (b"GIF89a", None)],
)
def test_sniff_image(data: bytes, mime: str | None) -> None:
    assert sniff_image(data) == mime


@pytest.mark.parametrize(
    ("template_vars", "expected"),
    [(None, None), ('{"1": "LPR-1", "2": 3}', '{"1": "LPR-1", "2": "3"}'),
     ('{"1": "baris\\nbaru\\t  dan   spasi"}', '{"1": "baris baru dan spasi"}')],
)
def test_content_variables(template_vars: str | None, expected: str | None) -> None:
    assert content_variables(template_vars) == expected


@pytest.mark.parametrize("template_vars", ["[1, 2]", "not json"])
def test_content_variables_refuses_what_is_not_an_object(template_vars: str) -> None:
    with pytest.raises(ValueError):
        content_variables(template_vars)
