"""The browser tests' Chromium: where ``make test`` found or installed it, and what happens when it
is missing. Under ``make test`` (which exports ``PWRESET_CHROMIUM`` and ``PWRESET_REQUIRE_BROWSER``)
and in CI a missing browser fails the tests; only a developer's bare ``pytest`` run skips them.

And what a person types: a password typed into a page never passes through the tests' HTTP
clients, so :func:`type_secret` remembers it for the log check (``support.leaks``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from support.leaks import SEEN

# Without the background-networking flags Chromium keeps dialling Google on this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_executable(environ: dict[str, str] | None = None) -> str:
    """The Chromium to drive; fails (``make test``, CI) or skips (a bare pytest run) without one."""
    env = os.environ if environ is None else environ
    candidates = [env.get("PWRESET_CHROMIUM", ""), shutil.which("chromium") or "", "/usr/bin/chromium"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    message = f"no Chromium (looked at {[c for c in candidates if c]}): make test installs Debian's chromium"
    if env.get("PWRESET_REQUIRE_BROWSER") == "1" or env.get("CI"):
        pytest.fail(message)  # under make test and in CI the browser tests must run, never skip
    pytest.skip(message)


def typed(value: str) -> str:
    """What a person types into a page (``locator.fill(typed(password))``): it joins the secrets no
    log may hold."""
    SEEN.add(value)
    return value


def type_secret(page: Any, selector: str, value: str) -> None:
    """``page.fill``, and the value joins the secrets no log may hold."""
    page.fill(selector, typed(value))


# Screenshots of the browser tests (emptied once per test session by the browser fixture).
BROWSER_OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
