"""The layer ships the dependency versions the tests run against: its requirements pin every package
it pulls in, pip resolves exactly those for Lambda's platforms, and this virtualenv has them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LAYER = Path(__file__).resolve().parents[2] / "layers" / "pwreset"
REQUIREMENTS = LAYER / "requirements.txt"


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            requirement = Requirement(text)
            (specifier,) = requirement.specifier  # one exact version per package
            assert specifier.operator == "==", line
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def _makefile_platforms() -> list[str]:
    found = re.search(r"^PLATFORMS := (.+)$", (LAYER / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert found, "layers/pwreset/Makefile names no PLATFORMS"
    return found.group(1).split()


def test_pip_resolves_exactly_the_pinned_versions_for_lambda(tmp_path: Path) -> None:
    """What ``sam build`` installs (the layer Makefile's platforms): nothing unpinned comes in,
    every pin is used, and each has a wheel for Lambda (the build fails where one is missing)."""
    report = tmp_path / "report.json"
    platforms = [arg for platform in _makefile_platforms() for arg in ("--platform", platform)]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check",
         "--ignore-installed", "--target", str(tmp_path / "layer"), "--implementation", "cp",
         "--python-version", "3.13", "--only-binary=:all:", *platforms,
         "-r", str(REQUIREMENTS), "--report", str(report)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    resolved = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}
    assert resolved == _pins()


def test_the_tests_run_against_the_pinned_versions() -> None:
    installed = {name: metadata.version(name) for name in _pins()}
    assert installed == _pins()
