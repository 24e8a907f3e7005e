"""The e2e tests' shared local stack, started once per session on the real template."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from support.browser import BROWSER_OUTPUT, CHROMIUM_ARGS, chromium_executable
from support.leaks import SEEN, leaks_in_files
from support.local_stack import LOG_DIRS, START_TIMEOUT_S, Stack, start_stack, stop_stack


@pytest.fixture(scope="session", autouse=True)
def no_secret_reaches_a_log() -> Iterator[None]:
    """After every e2e test (and so after every local stack they started has stopped): no line of
    any of their logs (the service's JSON lines, tracebacks, the stack's own output, moto's log)
    holds a raw token, a password or a full e-mail address the tests handled or typed. The demo
    accounts' addresses and passwords count too, whether or not a test used them; only make dev's
    banner may print them."""
    yield
    SEEN.remember_demo_data()
    assert len(SEEN.values) > 20, "the e2e suite handled no secrets: the check would be empty"
    logs = [path for log_dir in LOG_DIRS for path in sorted(log_dir.glob("*.log"))]
    assert logs, "no local stack wrote a log"
    leaks = leaks_in_files(logs, SEEN.values)
    assert not leaks, "secrets in logs:\n" + "\n".join(leaks[:20])


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local stack on the real template, shared by the e2e tests (they use distinct accounts)."""
    running = start_stack(tmp_path_factory.mktemp("stack"))
    assert running.started_in_s < START_TIMEOUT_S
    yield running
    assert stop_stack(running) == 0, running.output()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by playwright (its own browser download is not used); under make
    test a missing Chromium fails the browser tests (support.browser)."""
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright

    shutil.rmtree(BROWSER_OUTPUT, ignore_errors=True)
    BROWSER_OUTPUT.mkdir(parents=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()
