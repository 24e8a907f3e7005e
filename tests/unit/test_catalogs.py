"""The message catalogs: the template holds exactly what the code and templates say today, every
language's catalog holds every text of it, every language but English translates each one, German
keeps its typography, and what the layer ships (compiled ``.mo``) says what the ``.po`` says."""

from __future__ import annotations

import gettext
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from buildsteps import catalogs

from pwreset.core import i18n

POT = i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot"
FIX = "run `make catalogs` (docs/i18n.md)"


def keys(catalog: Catalog) -> set[tuple[str, str | None]]:
    """Each text by its msgid (a plural's: the singular) and context."""
    return {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in catalog if m.id}


def messages(lang: str) -> list[Message]:
    return [m for m in catalogs.read(catalogs.po_path(lang)) if m.id]


def forms(message: Message) -> list[str]:
    """A message's translation: one text, or one per plural form ("" where there is none)."""
    string = message.string
    return [string or ""] if isinstance(string, str) or string is None else list(string)


def test_the_template_is_what_the_code_and_templates_say_now() -> None:
    """A text added, changed or dropped in Python or a jinja2 template without ``make catalogs``
    leaves the catalogs behind: caught here rather than shown in English to a German reader."""
    extracted = catalogs.render(catalogs.extract())
    assert catalogs.without_date(POT.read_text(encoding="utf-8")) == catalogs.without_date(extracted), FIX


def test_the_template_has_the_texts_of_every_kind_of_source() -> None:
    found = {location for message in catalogs.extract() for location, _ in message.locations}
    for source in (
        "layers/pwreset/pwreset/core/i18n.py",  # errors
        "layers/pwreset/pwreset/api/pages.py",  # the reset page
        "layers/pwreset/pwreset/api/help_page.py",
        "layers/pwreset/pwreset/delivery/diagnosis.py",
        "layers/pwreset/pwreset/credentials/policy.py",
        "layers/pwreset/pwreset/core/times.py",  # dates and durations, with plurals
        "templates/mail/reset_link.html",
        "templates/mail/reset_link.txt",
        "templates/mail/reset_link.subject.txt",
        "templates/mail/_password_changed.txt",
        "templates/mail/_account_locked.txt",
    ):
        assert source in found, source


def test_every_supported_language_has_a_catalog_and_no_other_does() -> None:
    assert catalogs.languages() == sorted(i18n.SUPPORTED_LOCALES)


@pytest.mark.parametrize("lang", i18n.SUPPORTED_LOCALES)
def test_each_catalog_holds_every_text_of_the_template_and_no_other(lang: str) -> None:
    template = catalogs.read(POT)
    catalog = catalogs.read(catalogs.po_path(lang))
    assert keys(template) - keys(catalog) == set(), f"missing in {lang}: {FIX}"
    assert keys(catalog) - keys(template) == set(), f"no longer used, still in {lang}: {FIX}"


@pytest.mark.parametrize("lang", [lang for lang in i18n.SUPPORTED_LOCALES if lang != i18n.SOURCE_LOCALE])
def test_every_language_but_the_source_translates_every_text(lang: str) -> None:
    untranslated = [m.id for m in messages(lang) if m.fuzzy or not all(forms(m))]
    assert untranslated == [], f"untranslated or fuzzy in {lang}"


@pytest.mark.parametrize("lang", i18n.SUPPORTED_LOCALES)
def test_translations_keep_the_placeholders_of_their_text(lang: str) -> None:
    """Babel's checks: a translation uses only placeholders its text has, of the same kind (a
    typo in one would be a KeyError at render time, in one language only)."""
    problems = [
        (m.id, [str(e) for e in errors]) for m, errors in catalogs.read(catalogs.po_path(lang)).check()
    ]
    assert problems == []


def test_english_is_the_source_and_its_catalog_changes_no_text() -> None:
    """English texts live in the code; an English "translation" would make the code lie."""
    changed = [m.id for m in messages(i18n.SOURCE_LOCALE) if any(forms(m)) and m.string != m.id]
    assert changed == []


def german() -> list[str]:
    return [text for m in messages("de") for text in forms(m)]


def test_german_quotes_are_german() -> None:
    for text in german():
        assert '"' not in text, text
        assert text.count("„") == text.count("“"), text  # „opened and closed“
        assert "”" not in text, text


def test_german_speaks_formally_and_spells_with_umlauts_and_eszett() -> None:
    informal = re.compile(r"\b(du|dich|dir|dein\w*|euch|euer|eure\w*)\b", re.IGNORECASE)
    ascii_spellings = re.compile(r"(gruess|ausser|schliess|heiss|groess|\bfuer\b|moecht|waehl|hoechst)", re.I)
    for text in german():
        assert not informal.search(text), text
        assert not ascii_spellings.search(text), text
    joined = "\n".join(german())
    assert "Mit freundlichen Grüßen" in joined and "außerdem" in joined and "Sie" in joined


def test_a_compiled_catalog_says_what_its_source_says(tmp_path: Path) -> None:
    """The layer's build step: every .po becomes its .mo, readable to Lambda's user whatever the
    source tree held, and the sources stay out of the layer."""
    shutil.copytree(i18n.LOCALE_DIR, tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    stale = catalogs.po_path("de", tmp_path / "locale").with_suffix(".mo")
    stale.write_bytes(b"a private leftover")
    stale.chmod(0o600)
    written = catalogs.compile_all(tmp_path / "locale", ship=True)

    assert sorted(
        p.relative_to(tmp_path / "locale").as_posix() for p in (tmp_path / "locale").rglob("*.*")
    ) == [f"{lang}/LC_MESSAGES/messages.mo" for lang in sorted(i18n.SUPPORTED_LOCALES)]
    assert len(written) == len(i18n.SUPPORTED_LOCALES)
    assert all(mo.stat().st_mode & 0o044 == 0o044 for mo in written)
    with (tmp_path / "locale" / "de" / "LC_MESSAGES" / "messages.mo").open("rb") as file:
        compiled = gettext.GNUTranslations(file)
    for m in messages("de"):
        if isinstance(m.id, str):
            assert (compiled.pgettext(m.context, m.id) if m.context else compiled.gettext(m.id)) == m.string
        else:
            singular, plural = m.id[:2]
            assert [compiled.ngettext(singular, plural, n) for n in (1, 2)] == forms(m)


@pytest.fixture
def locale_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shutil.copytree(i18n.LOCALE_DIR, tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    i18n.reset_catalogs()
    yield tmp_path / "locale"
    i18n.reset_catalogs()


def test_a_fresh_clone_compiles_its_catalog_on_first_use_and_keeps_it(locale_copy: Path) -> None:
    mo = catalogs.po_path("de", locale_copy).with_suffix(".mo")
    assert not mo.exists()

    assert i18n.error_message("not_found", "de") == "Diese Adresse gibt es nicht."
    # Kept for the next process, which reads it instead of compiling again (and a layer built from
    # this tree can read it too); no temporary file left.
    assert sorted(p.name for p in mo.parent.iterdir()) == ["messages.mo", "messages.po"]
    assert mo.stat().st_mode & 0o044 == 0o044


def test_a_catalog_edited_since_it_was_compiled_is_compiled_again(locale_copy: Path) -> None:
    po = catalogs.po_path("de", locale_copy)
    i18n.error_message("not_found", "de")  # compiled and kept
    po.write_text(
        po.read_text(encoding="utf-8").replace(
            '"Diese Adresse gibt es nicht."', '"Diese Seite gibt es nicht."'
        ),
        encoding="utf-8",
    )
    later = po.with_suffix(".mo").stat().st_mtime + 1
    os.utime(po, (later, later))
    i18n.reset_catalogs()  # a new process

    assert i18n.error_message("not_found", "de") == "Diese Seite gibt es nicht."


def test_a_supported_language_without_a_catalog_is_a_clear_error(locale_copy: Path) -> None:
    shutil.rmtree(locale_copy / "de")
    with pytest.raises(FileNotFoundError, match="no catalog for the supported language 'de'"):
        i18n.error_message("not_found", "de")


def test_an_unknown_code_reads_the_internal_error_and_an_unknown_language_english() -> None:
    assert i18n.error_message("no_such_code", "de") == i18n.error_message("internal_error", "de")
    assert i18n.error_message("not_found", "fr") == "No such resource."
