"""i18n against the real catalogs: every msgid translated, dates the Indonesian way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bot.catalogs import KEYWORDS, ROOT, SOURCES, domain_of
from handlers import i18n

LOCALES = ROOT / "locales"


def source_msgids() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            extracted = extract_from_file("python", path, keywords=KEYWORDS)
            ids = {m for _l, m, _c, _x in extracted if isinstance(m, str) and m}
            if ids:
                found[domain_of(path)] = ids
    return found


@pytest.mark.parametrize("locale", ["id", "en"])
def test_every_msgid_in_the_source_has_a_translation(locale: str) -> None:
    missing = []
    for domain, ids in source_msgids().items():
        po = LOCALES / locale / "LC_MESSAGES" / f"{domain}.po"
        assert po.is_file(), f"{po} missing: run make i18n-extract"
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        for msgid in ids:
            message = catalog.get(msgid)
            if message is None or not message.string or message.fuzzy:
                missing.append(f"{domain}: {msgid!r}")
    assert not missing, f"{len(missing)} untranslated ({locale}):\n" + "\n".join(missing[:20])


def test_one_msgid_has_one_translation_across_domains() -> None:
    """All domains merge into one catalog per language, so a msgid must mean the same everywhere."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for po in sorted((LOCALES / "id" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            for message in read_po(handle, locale="id"):
                if not (message.id and message.string):
                    continue
                first = seen.setdefault(message.id, (po.stem, message.string))
                if first[1] != message.string:
                    clashes.append(f"{message.id!r}: {first} vs {(po.stem, message.string)}")
    assert not clashes, "\n".join(clashes)


def test_placeholders_survive_translation() -> None:
    import string

    catalog = i18n.load_catalog("id")
    for msgid, msgstr in catalog.items():
        names = {f for _t, f, _s, _c in string.Formatter().parse(msgid) if f}
        translated = {f for _t, f, _s, _c in string.Formatter().parse(msgstr) if f}
        assert names == translated, f"{msgid!r} -> {msgstr!r}"


def test_indonesian_date_format_in_the_district_time_zone() -> None:
    i18n.set_timezone(ZoneInfo("Asia/Jakarta"))
    monday_nine = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    with i18n.use_locale("id"):
        assert i18n.format_datetime(monday_nine) == "Senin, 30 November 2026 pukul 09.00 WIB"
        assert i18n.format_number(1234567) == "1.234.567"
        thursday = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)
        assert i18n.format_datetime(thursday) == "Kamis, 3 Desember 2026 pukul 08.30 WIB"
    with i18n.use_locale("en"):
        assert i18n.format_datetime(monday_nine) == "Monday, November 30, 2026 at 09:00 WIB"


@pytest.mark.parametrize(("tz", "expected"), [("Asia/Makassar", "10.00 WITA"), ("Asia/Jayapura", "11.00 WIT")])
def test_other_indonesian_time_zones(tz: str, expected: str) -> None:
    i18n.set_timezone(ZoneInfo(tz))
    try:
        with i18n.use_locale("id"):
            assert i18n.format_datetime(datetime(2026, 11, 30, 2, 0, tzinfo=UTC)).endswith(expected)
    finally:
        i18n.set_timezone(ZoneInfo("Asia/Jakarta"))


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [(("en",), "en"), (("en-US",), "en"), (("id_ID",), "id"), (("fr", "en"), "en"), (("zz",), "id"), ((None,), "id")],
)
def test_locale_is_picked_by_language_with_a_fallback(candidates: tuple[str | None, ...], expected: str) -> None:
    assert i18n.pick_locale(*candidates) == expected


def test_po_files_are_loaded_without_a_compile_step() -> None:
    assert not list(Path(LOCALES).rglob("*.mo"))
    with i18n.use_locale("id"):
        assert i18n._("Report a problem") == "Lapor masalah"
