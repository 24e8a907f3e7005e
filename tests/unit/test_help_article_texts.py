"""The help article's texts: every key in German and English, and every key the template and the
script use exists."""

from __future__ import annotations

import re
from pathlib import Path

from pwreset.api.help_page import HELP_PAGE_TEXTS as KEYS
from pwreset.api.help_page import SCRIPT_TEXTS
from pwreset.api.pages import page_texts
from support.translations import assert_translated

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "pages" / "help_reset_email.html"
SCRIPT = TEMPLATE.parent / "assets" / "help.js"
# The same in both languages on purpose: none.
SAME_IN_BOTH: set[str] = set()
# The article's texts as each language's catalog gives them.
HELP_PAGE_TEXTS = {locale: page_texts(KEYS, locale) for locale in ("de", "en")}


def test_both_languages_have_every_key_and_say_something_different() -> None:
    assert_translated(HELP_PAGE_TEXTS, SAME_IN_BOTH)


def test_every_text_the_template_and_the_script_use_exists() -> None:
    used_by_template = set(re.findall(r"\bt\.([a-z_]+)", TEMPLATE.read_text(encoding="utf-8")))
    used_by_script = set(re.findall(r'\bt\("([a-z_]+)"\)', SCRIPT.read_text(encoding="utf-8")))
    used_by_script |= set(re.findall(r'"(request_[a-z_]+)"', SCRIPT.read_text(encoding="utf-8")))

    assert used_by_template and used_by_script
    assert used_by_template <= set(HELP_PAGE_TEXTS["en"])
    assert used_by_script <= set(SCRIPT_TEXTS) <= set(HELP_PAGE_TEXTS["en"])
