"""What must never reach a log line: every raw token, password and full e-mail address a test
handled, and the dev-only secrets of ``local/demo_data.json``. The tests' HTTP clients (in-process
:class:`support.api.Api` and :class:`support.local_stack.Stack`) remember what passes through them;
mails' links and what a browser test types are remembered where they are read or typed.

:func:`leaks_in` reads every line (a traceback's lines too, where pydantic's ``input_value=...`` or
an exception's message would show a secret), except make dev's start-up banner, which prints the
demo accounts on purpose. The integration tests check each test's captured output with it (see
``tests/integration/conftest.py``); the e2e tests every log of every local stack they started
(``tests/e2e/conftest.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Request and answer fields that carry a secret (or a full address) whatever their value.
SECRET_FIELDS = frozenset({"password", "current_password", "new_password", "token", "email"})
# A raw link token, as mails and pages carry it.
LINK_TOKEN = re.compile(r"#(?:token|lock)=([A-Za-z0-9_-]{43})")
# Shorter values are too likely to occur by chance ("x", "short"); no real secret is this short.
MIN_LENGTH = 8
# make dev's banner: from its first line to its last.
BANNER_FIRST = re.compile(r"^Local stack ready in ")
BANNER_LAST = "Ctrl-C stops everything."


@dataclass
class Secrets:
    values: set[str] = field(default_factory=set)

    def add(self, value: str) -> None:
        if len(value) >= MIN_LENGTH and "***" not in value:  # a masked address is what logs may hold
            self.values.add(value)

    def remember(self, document: Any) -> None:
        """Every secret field's value in a JSON document, and every link token in any string."""
        if isinstance(document, dict):
            for key, value in document.items():
                if key in SECRET_FIELDS and isinstance(value, str):
                    self.add(value)
                else:
                    self.remember(value)
        elif isinstance(document, list):
            for value in document:
                self.remember(value)
        elif isinstance(document, str):
            for token in LINK_TOKEN.findall(document):
                self.add(token)

    def remember_demo_data(self) -> None:
        from devstack.seed import load_demo_data

        demo = load_demo_data()
        self.add(demo["provisioning"]["secret_access_key"])
        self.add(demo["origin_verify_secret"])
        self.add(demo["breached_password_example"])  # a password, if a made-up breached one
        for firm in demo["firms"]:
            for account in firm["accounts"]:
                self.add(account["email"])
                self.add(account["password"])


# What the e2e tests handled over HTTP (support.local_stack) or typed (support.browser), for the
# whole session: their logs are read once, after every local stack has stopped.
SEEN = Secrets()
# What the current in-process test handled (support.api, support.sent_mail); a new set per test
# (tests/integration/conftest.py), so no test's check depends on another's.
THIS_TEST = Secrets()


def leaks_in(lines: Iterable[str], secrets: Iterable[str], *, where: str) -> list[str]:
    """``where:line: abcd...`` for each secret found on a line; only the first four characters of
    the secret are shown, so the report is no leak of its own."""
    wanted = sorted(set(secrets))
    found: list[str] = []
    in_banner = False
    for number, line in enumerate(lines, 1):
        if BANNER_FIRST.match(line):
            in_banner = True
        if in_banner:
            in_banner = line.strip() != BANNER_LAST
            continue
        found += [f"{where}:{number}: {secret[:4]}..." for secret in wanted if secret in line]
    return found


def leaks_in_files(paths: Iterable[Path], secrets: Iterable[str]) -> list[str]:
    wanted = set(secrets)
    found: list[str] = []
    for path in paths:
        found += leaks_in(path.read_text(errors="replace").splitlines(), wanted, where=str(path))
    return found
