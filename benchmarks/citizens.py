"""Scripted citizens for the benchmarks: onboarding, then a whole report, reacting to what the bot shows.

A script is a generator: it yields what the person does next (`Say`, `Press`, `Pin`) and is sent back
what the bot answered (`Seen`). Buttons are chosen by their Indonesian label, so the same script drives
the engine directly (a press becomes the option's payload) and the Telegram stack (a press becomes a
callback query on the button with that label). Half the people tap buttons, the other half type, as on
WhatsApp: the option's number, or a kecamatan or desa by name.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Generator
from dataclasses import dataclass
from importlib import resources

from handlers.i18n import _, use_locale
from storage.areas import DEFAULT_DATASET

# Sleman lies roughly within this box; pins are spread over it, so some land within 200 m of another
# report and the duplicate question comes up, as it would.
SOUTH, NORTH, WEST, EAST = -7.85, -7.55, 110.23, 110.55

PROBLEMS = (
    "Jalan berlubang besar, bahaya untuk motor terutama malam hari",
    "Sampah menumpuk sudah seminggu belum diangkut, baunya menyengat",
    "Air PDAM tidak mengalir sejak tiga hari, warga harus beli air",
    "Lampu penerangan jalan mati total, gelap dan rawan",
    "Banyak warga demam, mohon ada pemeriksaan dan fogging",
    "Atap ruang kelas bocor, murid belajar di teras",
    "Sering ada balap liar tengah malam, warga resah",
    "Tebing longsor menutup separuh jalan setelah hujan deras",
)
LANDMARKS = ("depan SD Negeri {n}", "dekat masjid {n}", "pertigaan pasar {n}", "samping balai dusun {n}",
             "belakang puskesmas pembantu {n}", "ujung gang {n} dekat sawah")


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Press:
    """Press the button with this label; a typing person sends its number instead."""

    label: str


@dataclass(frozen=True)
class Pin:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Seen:
    """What the bot answered to one message: its texts, and the labels of the latest options shown."""

    text: str
    labels: tuple[str, ...]


Action = Say | Press | Pin
Script = Generator[Action, Seen, None]


class OffScript(AssertionError):
    """The bot did not answer as a citizen following the flow expects (the benchmark then stops)."""


@dataclass(frozen=True)
class Labels:
    """The Indonesian button labels the script presses, taken from the real catalogs."""

    indonesian: str = "Bahasa Indonesia"
    agree: str = ""
    report: str = ""
    skip: str = ""
    normal: str = ""
    send_anyway: str = ""
    send: str = ""
    categories: tuple[str, ...] = ()

    @classmethod
    def load(cls) -> Labels:
        with use_locale("id"):
            return cls(agree=_("I agree"), report=_("Report a problem"), skip=_("Skip"), normal=_("Normal"),
                       send_anyway=_("Send my report anyway"), send=_("Send report"),
                       categories=("Jalan & jembatan", "Sampah & kebersihan", "Air bersih",
                                   "Listrik & penerangan jalan", "Kesehatan", "Pendidikan",
                                   "Keamanan & ketertiban", "Bencana"))


def sleman_areas() -> list[tuple[str, str]]:
    """(kecamatan, desa) names of the shipped area list, one per desa."""
    text = (resources.files("storage.areas") / DEFAULT_DATASET).read_text("utf-8")
    return [(row["kecamatan_name"], row["desa_name"]) for row in csv.DictReader(io.StringIO(text))]


def citizen(number: int, areas: list[tuple[str, str]], labels: Labels) -> Script:
    """Person `number`: onboarding in their desa, then a report in one of eight categories."""
    rng = random.Random(number)
    typing = number % 2 == 1
    kecamatan, desa = areas[number % len(areas)]
    category = number % len(labels.categories)

    seen = yield Say(rng.choice(("halo", "Halo", "selamat pagi", "/start")))
    expect(seen, labels.indonesian)
    seen = yield Press(labels.indonesian)
    expect(seen, labels.agree)
    seen = yield Press(labels.agree)
    expect(seen, kecamatan)
    seen = yield Say(kecamatan.lower()) if typing else Press(kecamatan)
    expect(seen, desa)
    seen = yield Say(desa.lower()) if typing else Press(desa)
    expect(seen, labels.report)
    seen = yield Press(labels.report)
    expect(seen, labels.categories[category])
    seen = yield Press(labels.categories[category])
    seen = yield Say(f"{PROBLEMS[category]}, {rng.choice(LANDMARKS).format(n=number % 9 + 1)}")
    expect(seen, labels.skip)
    seen = yield Press(labels.skip)
    if number % 3:
        seen = yield Pin(round(rng.uniform(SOUTH, NORTH), 6), round(rng.uniform(WEST, EAST), 6))
    else:
        seen = yield Say(rng.choice(LANDMARKS).format(n=number % 7 + 1))
    expect(seen, labels.normal)
    seen = yield Press(labels.normal)
    if labels.send_anyway in seen.labels:
        seen = yield Press(labels.send_anyway)
    expect(seen, labels.send)
    seen = yield Press(labels.send)
    if "LPR-" not in seen.text:
        raise OffScript(f"citizen {number}: no ticket number after sending: {seen.text[:200]!r}")


def expect(seen: Seen, label: str) -> None:
    if label not in seen.labels:
        raise OffScript(f"expected a button {label!r}; the bot said {seen.text[:160]!r} with {list(seen.labels)}")


def typed_choice(seen: Seen, label: str) -> str:
    """What a person who types (WhatsApp style) sends for a button: its number in the list."""
    return str(seen.labels.index(label) + 1)
