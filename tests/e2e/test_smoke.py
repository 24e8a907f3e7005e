"""`make smoke URL=...` against the local stack, so that the operator's check cannot rot (issue #28):
every check passes on a working stack, fails on a wrong address, and changes no account."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.template import SamTemplate
from scripts.smoke import run
from support.local_stack import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def local_topic() -> str:
    template = SamTemplate()
    return template.function_environment()["SES_EVENTS_TOPIC_ARN"]


def test_make_smoke_passes_on_the_local_stack_and_changes_no_account(stack: Stack) -> None:
    stack.drain()
    mail_before = len(stack.mail())
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "smoke.py"), stack.base_url, "--topic-arn", local_topic()],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": ""},  # only the standard library, as an operator runs it
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 5 and all(line.startswith("ok") for line in lines), done.stdout
    assert "403 signature_invalid" in done.stdout  # the stack's own topic: refused for its signature
    stack.drain()
    assert len(stack.mail()) == mail_before  # the self-service request mailed nobody


def test_the_smoke_check_fails_where_the_service_is_not(stack: Stack) -> None:
    lines: list[str] = []
    assert not run(f"{stack.base_url}/_dev/nowhere", out=lines.append)
    assert len(lines) == 5 and all(line.startswith("FAIL") for line in lines), lines
