"""Scripted citizens for the benchmarks: onboarding, then a whole report, reacting to what the bot shows.

A script is a generator: it yields what the person does next (`Say`, `Press`, `Pin`) and is sent back
what the bot answered (`Seen`). Each action names the button that ends the bot's answer to it (`until`;
None: the first message), so a driver that only watches the chat (the fake Bot API) knows when a turn is
over. Buttons are chosen by their Indonesian label, so the same script drives
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


Until = str | tuple[str, ...] | None   # a button label, any of several, or None: the first message


@dataclass(frozen=True)
class Say:
    text: str
    until: Until


@dataclass(frozen=True)
class Press:
    """Press the button with this label; a typing person sends its number instead."""

    label: str
    until: Until


@dataclass(frozen=True)
class Pin:
    latitude: float
    longitude: float
    until: Until


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
    another_desa: str = ""
    categories: tuple[str, ...] = ()

    @classmethod
    def load(cls) -> Labels:
        with use_locale("id"):
            return cls(agree=_("I agree"), report=_("Report a problem"), skip=_("Skip"), normal=_("Normal"),
                       send_anyway=_("Send my report anyway"), send=_("Send report"),
                       another_desa=_("Another desa"),
                       categories=("Jalan & jembatan", "Sampah & kebersihan", "Air bersih",
                                   "Listrik & penerangan jalan", "Kesehatan", "Pendidikan",
                                   "Keamanan & ketertiban", "Bencana"))


def sleman_areas() -> list[tuple[str, str]]:
    """(kecamatan, desa) names of the shipped area list, one per desa."""
    text = (resources.files("storage.areas") / DEFAULT_DATASET).read_text("utf-8")
    return [(row["kecamatan_name"], row["desa_name"]) for row in csv.DictReader(io.StringIO(text))]


def citizen(number: int, areas: list[tuple[str, str]], labels: Labels, reports: int = 1) -> Script:
    """Person `number`: onboarding in their desa, then `reports` reports, each in one of eight categories."""
    rng = random.Random(number)
    typing = number % 2 == 1
    kecamatan, desa = areas[number % len(areas)]

    checked = (labels.send, labels.send_anyway)  # the summary, or first the duplicate question
    seen = yield Say(rng.choice(("halo", "Halo", "selamat pagi", "/start")), labels.indonesian)
    expect(seen, labels.indonesian)
    seen = yield Press(labels.indonesian, labels.agree)
    expect(seen, labels.agree)
    seen = yield Press(labels.agree, kecamatan)
    expect(seen, kecamatan)
    seen = yield Say(kecamatan.lower(), desa) if typing else Press(kecamatan, desa)
    expect(seen, desa)
    seen = yield Say(desa.lower(), labels.report) if typing else Press(desa, labels.report)
    expect(seen, labels.report)
    for round_ in range(reports):
        category = (number + round_) % len(labels.categories)
        seen = yield Press(labels.report, labels.categories[category])
        expect(seen, labels.categories[category])
        seen = yield Press(labels.categories[category], None)
        seen = yield Say(f"{PROBLEMS[category]}, {rng.choice(LANDMARKS).format(n=number % 9 + 1)}", labels.skip)
        expect(seen, labels.skip)
        seen = yield Press(labels.skip, labels.another_desa)
        if number % 3:
            seen = yield Pin(round(rng.uniform(SOUTH, NORTH), 6), round(rng.uniform(WEST, EAST), 6), labels.normal)
        else:
            seen = yield Say(rng.choice(LANDMARKS).format(n=number % 7 + 1), labels.normal)
        expect(seen, labels.normal)
        seen = yield Press(labels.normal, checked)
        if labels.send_anyway in seen.labels:
            seen = yield Press(labels.send_anyway, labels.send)
        expect(seen, labels.send)
        seen = yield Press(labels.send, labels.report)
        if "LPR-" not in seen.text:
            raise OffScript(f"citizen {number}: no ticket number after sending: {seen.text[:200]!r}")


def answered(action: Action, labels: tuple[str, ...] | list[str]) -> bool:
    """Whether a message showing these buttons ends the bot's answer to `action`."""
    until = action.until
    if until is None:
        return True
    return any(label in labels for label in ((until,) if isinstance(until, str) else until))


def expect(seen: Seen, label: str) -> None:
    if label not in seen.labels:
        raise OffScript(f"expected a button {label!r}; the bot said {seen.text[:160]!r} with {list(seen.labels)}")


def typed_choice(seen: Seen, label: str) -> str:
    """What a person who types (WhatsApp style) sends for a button: its number in the list."""
    return str(seen.labels.index(label) + 1)
