"""The message catalogs: extract the texts into ``messages.pot``, merge it into every language's
``.po``, start a new language's catalog, compile ``.mo`` files (Babel; never run by the service).

``make catalogs`` runs ``python -m buildsteps.catalogs update``: extract from the sources Babel's
mapping (``babel.cfg``) names, write ``pwreset/locale/messages.pot`` (only when a message changed,
so its date does not churn), and merge it into each ``<lang>/LC_MESSAGES/messages.po``: new texts
arrive untranslated (or fuzzy, with a guess from a similar old text), removed ones go. The layer's
Makefile runs ``compile <locale dir> --ship``: every ``.po`` to its ``.mo``, and the sources out of
the layer. ``init <lang>`` starts a language (``docs/i18n.md``).

The catalogs sort their messages by text and name the files, not the lines, they come from: moving
code about changes nothing, changing a text does (``tests/unit/test_catalogs.py`` holds the
``.pot`` to what extraction gives now).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from pwreset.core.i18n import DOMAIN, LOCALE_DIR, SOURCE_LOCALE, compile_catalog

REPO_ROOT = Path(__file__).resolve().parents[3]
MAPPING = REPO_ROOT / "babel.cfg"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
# A comment right above a text starting with this reaches the translators (in the .pot).
COMMENT_TAGS = ("Translators:",)
_CREATION_DATE = "POT-Creation-Date:"
_HEADERS = {
    "domain": DOMAIN,
    "project": "pwreset",
    "version": "1",
    "charset": "utf-8",
    "copyright_holder": "the pwreset developers",
    "msgid_bugs_address": "the pwreset developers",
    "last_translator": "the pwreset developers",
    "language_team": "the pwreset developers",
}
TEMPLATE_HEADER = """\
# The texts of pwreset, the password-reset service, in English as its code and templates write them.
# Written by `make catalogs` (Babel, babel.cfg): change a text in the code or template, not here.
#"""
CATALOG_HEADER = """\
# The texts of pwreset in one language. `make catalogs` merges new texts in (untranslated, or fuzzy
# with a guess); translate each and drop its fuzzy flag (docs/i18n.md).
#"""
_WIDTH = 100


def po_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """The languages with a catalog under ``locale_dir``."""
    return sorted(path.parents[1].name for path in locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def extract(root: Path = REPO_ROOT, mapping: Path = MAPPING) -> Catalog:
    """Every text of the sources ``mapping`` names (paths relative to ``root``), as a template."""
    with mapping.open(encoding="utf-8") as file:
        method_map, options_map = parse_mapping_cfg(file, str(mapping))
    # Walk only the folders a pattern can match: not .venv, tests or the bench.
    prefixes = [pattern.split("*", 1)[0].rstrip("/") for pattern, _ in method_map]

    def wanted(directory: str) -> bool:
        relative = Path(directory).resolve().relative_to(root.resolve()).as_posix()
        return relative == "." or any(
            prefix.startswith(relative + "/") or (relative + "/").startswith(prefix + "/")
            for prefix in prefixes
        )

    template = Catalog(fuzzy=False, header_comment=TEMPLATE_HEADER, **_HEADERS)
    for filename, lineno, message, comments, context in extract_from_dir(
        root,
        method_map,
        options_map,
        keywords=DEFAULT_KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
        directory_filter=wanted,
    ):
        where = [(Path(filename).as_posix(), lineno)]
        template.add(message, None, where, auto_comments=comments, context=context)
    return template


def render(catalog: Catalog, *, omit_header: bool = False) -> str:
    """A catalog as the files hold it: sorted by text, files named without line numbers."""
    out = io.BytesIO()
    write_po(
        out,
        catalog,
        width=_WIDTH,
        omit_header=omit_header,
        sort_output=True,
        ignore_obsolete=True,
        include_lineno=False,
    )
    return out.getvalue().decode("utf-8")


def without_date(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if _CREATION_DATE not in line)


def write_template(template: Catalog, path: Path = TEMPLATE) -> bool:
    """Write the ``.pot`` unless only its creation date would change; whether it was written."""
    text = render(template)
    if path.is_file() and without_date(path.read_text(encoding="utf-8")) == without_date(text):
        return False
    path.write_text(text, encoding="utf-8")
    return True


def read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=path.parents[1].name, domain=DOMAIN)


def merge(lang: str, template: Catalog, locale_dir: Path = LOCALE_DIR) -> None:
    """Bring ``lang``'s catalog up to ``template``: new texts untranslated or fuzzy, old ones gone."""
    path = po_path(lang, locale_dir)
    catalog = read(path)
    # The source language leaves texts as written: no guesses from similar old texts to flag.
    catalog.update(template, no_fuzzy_matching=lang == SOURCE_LOCALE, update_creation_date=False)
    path.write_text(render(catalog), encoding="utf-8")


def init(lang: str, template: Catalog, locale_dir: Path = LOCALE_DIR) -> Path:
    """Start ``lang``'s catalog from ``template``, every text untranslated."""
    path = po_path(lang, locale_dir)
    if path.exists():
        raise FileExistsError(f"{path} exists: `make catalogs` keeps it up to date")
    catalog = Catalog(locale=lang, fuzzy=False, header_comment=CATALOG_HEADER, **_HEADERS)
    catalog.update(template)
    path.parent.mkdir(parents=True)
    path.write_text(render(catalog), encoding="utf-8")
    return path


def compile_all(locale_dir: Path, *, ship: bool = False) -> list[Path]:
    """Compile every ``<lang>/LC_MESSAGES/messages.po`` under ``locale_dir`` to its ``.mo``; with
    ``ship``, remove the ``.po`` files and the ``.pot`` after (a layer needs neither)."""
    written = []
    for lang in languages(locale_dir):
        po = po_path(lang, locale_dir)
        mo = po.with_suffix(".mo")
        # A new file, not one a source tree compiled and `cp -r` copied (keeping its mode).
        mo.unlink(missing_ok=True)
        mo.write_bytes(compile_catalog(po))
        written.append(mo)
        if ship:
            po.unlink()
    if ship:
        (locale_dir / f"{DOMAIN}.pot").unlink(missing_ok=True)
    if not written:
        raise FileNotFoundError(f"no catalogs under {locale_dir}")
    return written


def main(argv: Iterable[str]) -> None:
    command, *args = list(argv) or ["update"]
    if command == "update":
        template = extract()
        state = "written" if write_template(template) else "unchanged"
        print(f"{TEMPLATE.relative_to(REPO_ROOT)}: {len(template)} texts, {state}")
        for lang in languages():
            merge(lang, template)
            print(f"{po_path(lang).relative_to(REPO_ROOT)}: merged")
    elif command == "init" and len(args) == 1:
        print(init(args[0], extract()))
    elif command == "compile" and args:
        for mo in compile_all(Path(args[0]), ship="--ship" in args[1:]):
            print(f"compiled {mo}")
    else:
        raise SystemExit(
            "usage: python -m buildsteps.catalogs [update | init <lang> | compile <locale dir> [--ship]]"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
