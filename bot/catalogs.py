"""`make i18n-extract`: refresh the gettext catalogs from the source.

Each source file with translatable strings has its own domain (`handlers.reports`,
`bot.channels.telegram`, …), so people working on different flows never edit the same `.po` file.
For every domain this writes `locales/<domain>.pot`, updates `locales/id/LC_MESSAGES/<domain>.po`
(new msgids arrive empty, for a translator) and `locales/en/…` (msgids are English, so en is filled
with the msgid itself). Run it, then translate the empty Indonesian entries, by hand in the `.po`
files or with `python -m bot.catalogs --fill FILE.json` (a JSON object msgid -> Indonesian).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from handlers.i18n import load_catalog

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
SOURCES = ("bot", "handlers", "storage")
KEYWORDS = {"_": None, "gettext": None, "N_": None}


def domain_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def extract(path: Path) -> Catalog:
    catalog = Catalog(project="Sinergi", domain=domain_of(path), charset="utf-8")
    for lineno, message, comments, _context in extract_from_file("python", path, keywords=KEYWORDS):
        if isinstance(message, str) and message:
            catalog.add(message, locations=[(str(path.relative_to(ROOT)), lineno)], auto_comments=comments)
    return catalog


def _load(path: Path, locale: str, domain: str) -> Catalog:
    if path.is_file():
        with path.open("rb") as handle:
            return read_po(handle, locale=locale, domain=domain)
    return Catalog(locale=locale, domain=domain, project="Sinergi", charset="utf-8")


def _write(path: Path, catalog: Catalog) -> None:
    """Write only real changes: a new timestamp alone would make every branch's catalogs conflict."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, ignore_obsolete=True, sort_output=False)
    if path.is_file() and _without_dates(path.read_bytes()) == _without_dates(buffer.getvalue()):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def _without_dates(text: bytes) -> list[bytes]:
    return [line for line in text.splitlines() if not line.startswith((b'"POT-Creation-Date', b'"PO-Revision-Date'))]


def refresh() -> list[str]:
    """Write every domain's template and catalogs; returns the id msgids still untranslated."""
    missing: list[str] = []
    live_domains = set()
    # a msgid moved from one file to another keeps the translation it already had
    known = {locale: load_catalog(locale, LOCALES) for locale in ("id", "en")}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            template = extract(path)
            if not len(template):
                continue
            domain = template.domain
            assert domain is not None
            live_domains.add(domain)
            _write(LOCALES / f"{domain}.pot", template)
            for locale in ("id", "en"):
                po_path = LOCALES / locale / "LC_MESSAGES" / f"{domain}.po"
                catalog = _load(po_path, locale, domain)
                catalog.update(template, no_fuzzy_matching=True)
                for message in catalog:
                    if not message.id:
                        continue
                    if not message.string and message.id in known[locale]:
                        message.string = known[locale][message.id]
                    if locale == "en" and not message.string:
                        message.string = message.id
                    if locale == "id" and not message.string:
                        missing.append(f"{domain}: {message.id!r}")
                _write(po_path, catalog)
    for stale in LOCALES.rglob("*.po*"):
        if stale.stem not in live_domains:
            stale.unlink()
    return missing


def fill(translations: dict[str, str]) -> int:
    """Put Indonesian translations (msgid -> msgstr) into every id catalog that has those msgids."""
    filled = 0
    for po_path in sorted((LOCALES / "id" / "LC_MESSAGES").glob("*.po")):
        catalog = _load(po_path, "id", po_path.stem)
        changed = False
        for message in catalog:
            if message.id in translations and message.string != translations[message.id]:
                message.string = translations[message.id]
                message.flags.discard("fuzzy")
                changed = True
                filled += 1
        if changed:
            _write(po_path, catalog)
    return filled


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fill":
        import json

        refresh()
        print(f"filled {fill(json.loads(Path(sys.argv[2]).read_text('utf-8')))} translations")
    untranslated = refresh()
    for line in untranslated:
        print("untranslated (id):", line)
    print(f"{len(untranslated)} Indonesian translations missing", file=sys.stderr)
