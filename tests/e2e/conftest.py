"""The e2e tests' shared local stack, started once per session on the real template."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.browser import BROWSER_OUTPUT, CHROMIUM, CHROMIUM_ARGS
from support.local_stack import SEEN, START_TIMEOUT_S, Stack, start_stack, stop_stack

# The service's structured JSON lines and the local stack's own logging lines (timestamped).
_LOG_LINE = re.compile(r"^(\{|\d{4}-\d\d-\d\d[ T])")


@pytest.fixture(scope="session", autouse=True)
def no_secret_reaches_a_log() -> Iterator[None]:
    """After every e2e test (and so after every local stack they started has stopped): no log line
    of any of them holds a raw token, a password or a full e-mail address the tests handled. The
    demo accounts' addresses and passwords count too, whether or not a test used them."""
    yield
    from devstack.seed import load_demo_data

    demo = load_demo_data()
    SEEN.values.add(demo["provisioning"]["secret_access_key"])
    for firm in demo["firms"]:
        for account in firm["accounts"]:
            SEEN.values.update((account["email"], account["password"]))
    assert len(SEEN.values) > 20, "the e2e suite handled no secrets: the check would be empty"
    leaks: list[str] = []
    for log_dir in SEEN.log_dirs:
        for name in ("stdout.log", "stderr.log"):
            path = log_dir / name
            if not path.exists():
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if not _LOG_LINE.match(line):
                    continue  # make dev's start-up banner prints the demo accounts on purpose
                leaks += [f"{path}:{number}: {secret[:4]}..." for secret in SEEN.values if secret in line]
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
    """Debian's Chromium, driven by playwright (its own browser download is not used)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: make test installs Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI the browser tests must run, never skip
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    shutil.rmtree(BROWSER_OUTPUT, ignore_errors=True)
    BROWSER_OUTPUT.mkdir(parents=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()
