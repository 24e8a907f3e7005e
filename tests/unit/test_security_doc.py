"""docs/security.md is a contract: every claim names the test that fails when it breaks, and every
number is the one deployed. The checker (``support.security_doc``) is tested here on small
documents with one fault planted in each, then run on the real document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from support.collected import OUTPUT_VARIABLE
from support.environment import TEMPLATE
from support.security_doc import citation_problems, number_problems, uncited_defaults

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
# Collecting the whole suite takes 10-30 s on a loaded 2-core machine; minutes mean something hangs.
COLLECTION_TIMEOUT_S = 600


def collect(paths: list[str], output: Path, root: Path = ROOT) -> dict[str, Any]:
    """Run pytest's collection of ``paths`` under ``root`` in a subprocess with
    ``support.collected``, and return what it wrote. The plugin is loaded before pytest applies
    the ``pythonpath`` setting, so the subprocess gets those directories on PYTHONPATH, as
    pyproject.toml lists them."""
    pytest_settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]
    pythonpath = pytest_settings["ini_options"]["pythonpath"]
    environment = {
        # pytest-cov's variables would make the child measure itself into this run's data.
        **{k: v for k, v in os.environ.items() if not k.startswith("COV_CORE_")},
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in pythonpath),
        OUTPUT_VARIABLE: str(output),
    }
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "support.collected", "--rootdir", str(root), *paths]
    done = subprocess.run(
        command, cwd=root, env=environment, capture_output=True, text=True, timeout=COLLECTION_TIMEOUT_S
    )
    if done.returncode != 0 or not output.exists():
        pytest.fail(
            f"collecting {paths} failed ({done.returncode}):\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
        )
    tests: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))["tests"]
    return tests


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bool]:
    """Every test id of the suite, and whether a skip mark skips it."""
    found = collect(["tests"], tmp_path_factory.mktemp("collected") / "collected.json")
    return {node: entry["skipped"] for node, entry in found.items()}


@pytest.fixture(scope="module")
def defaults() -> dict[str, str]:
    """The template's parameters with their defaults (what a deployment gets unless it says else)."""
    return {name: str(spec.get("Default", "")) for name, spec in TEMPLATE.doc["Parameters"].items()}


# ------------------------------------------------------------------------- the real document


def test_every_row_cites_tests_that_are_collected_and_run(collected: Mapping[str, bool]) -> None:
    problems = citation_problems(DOC.read_text(encoding="utf-8"), collected)
    assert not problems, "docs/security.md:\n" + "\n".join(problems)


def test_every_number_is_the_templates_default_or_the_codes_constant(defaults: dict[str, str]) -> None:
    problems = number_problems(DOC.read_text(encoding="utf-8"), defaults)
    assert not problems, "docs/security.md:\n" + "\n".join(problems)


def test_every_rate_limit_and_lifetime_of_the_template_is_in_the_document(defaults: dict[str, str]) -> None:
    missing = uncited_defaults(DOC.read_text(encoding="utf-8"), defaults)
    assert not missing, f"docs/security.md never cites {missing}"


# ------------------------------------------------------------------------- planted faults

COLLECTED = {
    "tests/unit/test_a.py::test_one": False,
    "tests/unit/test_a.py::test_two": False,
    "tests/unit/test_a.py::test_skipped": True,
    "tests/unit/test_a.py::test_cases[x]": False,
    "tests/unit/test_a.py::test_cases[y]": True,
    "tests/unit/test_a.py::test_all_cases[x]": False,
}
A = "tests/unit/test_a.py"
GOOD_ROW = f"| Tokens are long | 256 bits | `{A}::test_one`, `::test_two`, `::test_all_cases` |"


def table(*rows: str) -> str:
    return "\n".join(["| promise | how | proved by |", "|---|---|---|", *rows, ""])


def test_a_document_whose_rows_cite_running_tests_passes() -> None:
    prose = f"\nAs shown (`{A}::test_one`), and again (`::test_two`).\n"
    assert citation_problems(table(GOOD_ROW) + prose, COLLECTED) == []


@pytest.mark.parametrize(
    ("proof", "problem"),
    [
        ("as above", "line 4: the row cites no test"),
        (f"`{A}::test_gone`", "test_gone is not a collected test"),
        ("`tests/unit/test_b.py::test_one`", "test_b.py::test_one is not a collected test"),
        (f"`{A}::test_skipped`", "test_skipped is skipped"),
        (f"`{A}::test_cases`", "test_cases[y] is skipped"),
        ("`::test_one`", "test_one names no file"),
        (f"`{A}::test_on`", "test_on is not a collected test"),
    ],
    ids=[
        "row without a test",
        "missing test",
        "test in another file",
        "skipped test",
        "one skipped parametrization",
        "row continuing another row's file",
        "prefix of a test's name",
    ],
)
def test_a_planted_fault_in_the_tests_a_row_cites_is_found(proof: str, problem: str) -> None:
    problems = citation_problems(table(GOOD_ROW, f"| Tokens expire | in code | {proof} |"), COLLECTED)
    assert len(problems) == 1 and problem in problems[0], problems


DEFAULTS = {
    "SessionLifetimeSeconds": "28800",
    "InvitationLifetimeSeconds": "604800",
    "PasswordMinLength": "12",
    "RateLimits": "sign_in_ip=50/900,self_service_ip=20/3600",
}
BODY = "pwreset.api.resolver.MAX_BODY_BYTES"
CONSTANTS: dict[str, object] = {BODY: 16 * 1024}
SESSIONS = "`SessionLifetimeSeconds=28800` (8 h)"
SIGN_IN = "`RateLimits: sign_in_ip=50/900` (50 per 15 min)"
BODIES = f"`{BODY}=16384` (16 KiB)"
GOOD_NUMBERS = (
    f"Sessions last {SESSIONS}, links `InvitationLifetimeSeconds=604800` (7 days). At least"
    f" `PasswordMinLength=12` (configurable). Sign-in: {SIGN_IN} per network; self-service"
    f" `RateLimits: self_service_ip=20/3600` (20 per hour). Bodies up to {BODIES}."
)


def numbers(text: str) -> list[str]:
    return number_problems(text, DEFAULTS, CONSTANTS.get)


def test_a_document_whose_numbers_agree_passes() -> None:
    assert numbers(GOOD_NUMBERS) == []
    assert uncited_defaults(GOOD_NUMBERS, DEFAULTS) == []


@pytest.mark.parametrize(
    ("right", "wrong", "problem"),
    [
        (SESSIONS, "`SessionLifetimeSeconds=3600` (1 h)", "says 28800"),
        (SESSIONS, "`SessionLifetimeSeconds=28800` (12 h)", "the words say otherwise"),
        (SESSIONS, "`SessionLifetimeSeconds=28800` (8 hrs)", "not a seconds"),
        (SESSIONS, "`SessionLifetimeSeconds=28800`", "say it in words"),
        (SIGN_IN, "`RateLimits: sign_in_ip=5/900` (5 per 15 min)", "says 50/900"),
        (SIGN_IN, "`RateLimits: sign_in_ip=50/900` (50 per hour)", "the words say otherwise"),
        (SIGN_IN, "`RateLimits: sign_in_ips=50/900` (50 per 15 min)", "no such"),
        ("`PasswordMinLength=12`", "`PasswordMinLength=8`", "says 12"),
        ("`PasswordMinLength=12`", "`PasswordMaxLength=128`", "no such template parameter"),
        (BODIES, f"`{BODY}=16384` (16 kB)", "not a bytes"),
        (BODIES, f"`{BODY}=16384` (64 KiB)", "the words say otherwise"),
        (BODIES, f"`{BODY}=65536` (64 KiB)", "says 16384"),
        (BODIES, "`pwreset.api.resolver.MAX_BODY=16384` (16 KiB)", "no such"),
        (SIGN_IN, "(50 per 15 min)", "a rate with no citation"),
        (SIGN_IN, "fifty per network per 15 minutes", "a rate with no citation"),
        (SESSIONS, "8 h", "a duration with no citation"),
    ],
    ids=[
        "wrong lifetime",
        "words disagree with the lifetime",
        "words in no known unit",
        "lifetime without words",
        "wrong limit",
        "words disagree with the window",
        "unknown rule",
        "wrong count",
        "unknown parameter",
        "words in decimal units",
        "words disagree with the constant",
        "wrong constant",
        "unknown constant",
        "rate without its citation",
        "rate spelled out without a citation",
        "duration without its citation",
    ],
)
def test_a_planted_fault_in_a_number_is_found(right: str, wrong: str, problem: str) -> None:
    problems = numbers(GOOD_NUMBERS.replace(right, wrong, 1))
    assert problems and all(p.startswith("line 1: ") for p in problems), problems
    assert any(problem in p for p in problems), problems


def test_a_rule_or_lifetime_the_document_never_cites_is_found() -> None:
    without = GOOD_NUMBERS.replace("`RateLimits: self_service_ip=20/3600` (20 per hour)", "a limit")
    without = without.replace("`InvitationLifetimeSeconds=604800` (7 days)", "a week")
    assert without != GOOD_NUMBERS and numbers(without) == []
    assert uncited_defaults(without, DEFAULTS) == ["RateLimits: self_service_ip", "InvitationLifetimeSeconds"]


def test_the_collection_plugin_tells_skipped_tests_from_those_that_run(tmp_path: Path) -> None:
    """The plugin as the check runs it, on a small suite of its own: skip and skipif marks are
    evaluated as pytest would before running the test, parametrizations one by one."""
    (tmp_path / "test_sample.py").write_text(
        "import sys\n"
        "import pytest\n\n"
        "def test_runs(): pass\n\n"
        "@pytest.mark.skip(reason='planted')\n"
        "def test_skipped(): pass\n\n"
        "@pytest.mark.skipif(sys.version_info >= (3,), reason='always here')\n"
        "def test_skipped_if(): pass\n\n"
        "@pytest.mark.skipif(sys.version_info < (3,), reason='never here')\n"
        "def test_not_skipped_if(): pass\n\n"
        "@pytest.mark.parametrize('x', [1, pytest.param(2, marks=pytest.mark.skip)])\n"
        "def test_cases(x): pass\n",
        encoding="utf-8",
    )
    found = collect(["test_sample.py"], tmp_path / "out.json", root=tmp_path)
    assert {node: entry["skipped"] for node, entry in found.items()} == {
        "test_sample.py::test_runs": False,
        "test_sample.py::test_skipped": True,
        "test_sample.py::test_skipped_if": True,
        "test_sample.py::test_not_skipped_if": False,
        "test_sample.py::test_cases[1]": False,
        "test_sample.py::test_cases[2]": True,
    }


def test_a_collection_error_fails_the_check_with_its_output(tmp_path: Path) -> None:
    (tmp_path / "test_broken.py").write_text("import no_such_module_here\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match="no_such_module_here"):
        collect(["test_broken.py"], tmp_path / "out.json", root=tmp_path)
