"""Under make test the browser tests fail, never skip, when Chromium is missing (issue #19): the
Makefile exports where it found or installed Chromium and asks for it; only a bare pytest run
without that request may skip."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.outcomes import Failed, Skipped

from support.browser import chromium_executable

NOWHERE = "/nonexistent/chromium"


def no_chromium_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("support.browser.shutil.which", lambda name: None)
    monkeypatch.setattr("support.browser.Path.is_file", lambda self: False)


def test_make_test_fails_without_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    no_chromium_on_path(monkeypatch)
    with pytest.raises(Failed):
        chromium_executable({"PWRESET_CHROMIUM": "", "PWRESET_REQUIRE_BROWSER": "1"})


def test_ci_fails_without_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    no_chromium_on_path(monkeypatch)
    with pytest.raises(Failed):
        chromium_executable({"CI": "true"})


def test_a_bare_pytest_run_skips_without_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    no_chromium_on_path(monkeypatch)
    with pytest.raises(Skipped):
        chromium_executable({"PWRESET_CHROMIUM": NOWHERE})


def test_the_chromium_make_test_names_is_the_one_used(tmp_path: Path) -> None:
    browser = tmp_path / "my-chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    assert chromium_executable({"PWRESET_CHROMIUM": str(browser), "PWRESET_REQUIRE_BROWSER": "1"}) == str(
        browser
    )


def test_make_test_asks_for_the_browser() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "PWRESET_REQUIRE_BROWSER=1" in recipe and "PWRESET_CHROMIUM=" in recipe
