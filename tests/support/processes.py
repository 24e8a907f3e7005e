"""A fresh Python process, for what a test must see from outside the test run: a cold start's
imports, a snapshot and its restored copies, ``python -m bench`` or ``python -m load`` run as a
person runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What a handler module sees on Lambda (the layer), the local stack, and these tests' support.
HANDLER_PATH = ("layers/pwreset", "local", "tests")


def run_python(
    args: Iterable[str],
    *,
    path: Iterable[str | Path],
    drop: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``python <args>`` with ``path`` (relative to the repository, or absolute) as its
    ``PYTHONPATH``, in this process's environment less the variables whose names start with one
    of ``drop`` and with ``env`` on top; its output captured as text."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
    environment.update(env or {})
    environment["PYTHONPATH"] = os.pathsep.join(str(REPO / part) for part in path)
    return subprocess.run(
        [sys.executable, *args],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def run_harness(
    module: str, options: Iterable[str], *, path: Iterable[str | Path], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m bench`` or ``python -m load`` (``module``) with ``options``, from the
    repository's root as a person runs it: none of this test run's AWS or Powertools variables
    reach it, and its exit code is the caller's to judge."""
    return run_python(
        ["-m", module, *options],
        path=path,
        drop=("AWS_", "POWERTOOLS_"),
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
