"""The breached-password check's own logic, without a network (its ``_fetch`` seam), and its
configuration. Over HTTP against the fake range API: tests/integration/test_breached_passwords.py."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pwreset.core.config import ConfigurationError, load_password_settings
from pwreset.credentials import breached
from pwreset.credentials.breached import CheckSkipped, RangeCheck, times_in_range
from support.breached import forget_range_check
from support.environment import TEMPLATE

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Blaue-Tulpe-Regenschirm"
DIGEST = hashlib.sha1(PASSWORD.encode(), usedforsecurity=False).hexdigest().upper()
PREFIX, SUFFIX = DIGEST[:5], DIGEST[5:]
PADDING = [f"{n:035X}:0" for n in range(900)]


def answer(*lines: str) -> str:
    return "\r\n".join(lines)


class Answering(RangeCheck):
    """A check whose API answers ``text`` (or raises ``error``), recording the prefixes asked."""

    def __init__(self, text: str = "", error: BaseException | None = None) -> None:
        super().__init__("https://range.invalid")
        self.text, self.error = text, error
        self.asked: list[str] = []

    def _fetch(self, prefix: str) -> str:
        self.asked.append(prefix)
        if self.error is not None:
            raise self.error
        return self.text


def test_the_count_of_our_suffix_is_read_among_the_padding() -> None:
    text = answer(*PADDING[:400], f"{SUFFIX}:1842", *PADDING[400:])
    assert times_in_range(text, SUFFIX) == 1842
    assert times_in_range(text, "0" * 35) == 0  # a padding suffix is never a hit
    assert times_in_range(answer(*PADDING), SUFFIX) == 0


def test_a_suffix_listed_with_count_zero_is_padding_not_a_hit() -> None:
    assert times_in_range(answer(f"{SUFFIX}:0", *PADDING), SUFFIX) == 0


def test_the_suffix_is_compared_case_insensitively() -> None:
    assert times_in_range(answer(f"{SUFFIX.lower()}:7"), SUFFIX) == 7


def test_every_line_is_compared_in_constant_time_even_after_a_match(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[bool] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(real(a, b))
        return compared[-1]

    monkeypatch.setattr(breached.hmac, "compare_digest", counting)
    lines = [f"{SUFFIX}:3", *PADDING]  # the match comes first
    assert times_in_range(answer(*lines), SUFFIX) == 3
    assert len(compared) == len(lines)
    assert compared[0] and not any(compared[1:])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\r\n",
        "<html>Service Unavailable</html>",
        f"{SUFFIX}:3\r\nnot a line",
        f"{SUFFIX[:-1]}:3",
        f"{SUFFIX}:x",
    ],
)
def test_an_answer_that_is_not_a_range_is_a_skip_not_a_miss(text: str) -> None:
    with pytest.raises(CheckSkipped) as skipped:
        times_in_range(text, SUFFIX)
    assert skipped.value.reason == "malformed_answer"


def test_only_the_first_five_hex_characters_of_the_sha1_are_asked_for() -> None:
    check = Answering(answer(f"{SUFFIX}:1842", *PADDING))
    assert check.times_seen(PASSWORD) == 1842
    assert check.asked == [PREFIX]


def test_a_password_in_no_breach_is_seen_zero_times() -> None:
    assert Answering(answer(*PADDING)).times_seen(PASSWORD) == 0


@pytest.mark.parametrize(
    ("error", "reason"),
    [(CheckSkipped("timeout"), "timeout"), (RuntimeError("a bug"), "failed")],
)
def test_a_check_that_cannot_answer_is_skipped_and_never_raises(
    error: BaseException, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert Answering(error=error).times_seen(PASSWORD) is None
    [skipped] = [r for r in caplog.records if r.getMessage().startswith("breached-password check skipped")]
    assert skipped.__dict__["reason"] == reason
    # What went wrong by its kind only: an exception's message may hold the URL, and so the prefix.
    assert skipped.__dict__.get("error") == (
        None if isinstance(error, CheckSkipped) else type(error).__name__
    )
    assert "a bug" not in skipped.getMessage()


def test_a_lone_surrogate_is_looked_up_without_an_error() -> None:
    check = Answering(answer(*PADDING))
    assert check.times_seen("Blaue-Tulpe-\ud800-Regenschirm") == 0
    assert len(check.asked[0]) == 5


# ------------------------------------------------------------------ configuration


@pytest.fixture
def check_setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    forget_range_check()


def test_an_empty_url_makes_no_check_at_all(check_setting: pytest.MonkeyPatch) -> None:
    check_setting.setenv("BREACHED_PASSWORD_RANGE_URL", "")
    forget_range_check()
    assert breached.range_check() is None
    assert breached.violations(PASSWORD) == []


def test_the_template_asks_the_public_api_by_default_and_only_for_functions_that_set_passwords() -> None:
    parameter = TEMPLATE.doc["Parameters"]["BreachedPasswordRangeUrl"]
    assert parameter["Default"] == "https://api.pwnedpasswords.com"
    setters = {"ConfirmResetFunction", "SessionsFunction"}
    for function in TEMPLATE.functions():
        variables = (
            TEMPLATE.doc["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
        )
        given = variables.get("BREACHED_PASSWORD_RANGE_URL")
        assert given == ({"Ref": "BreachedPasswordRangeUrl"} if function in setters else None), function
    assert "BREACHED_PASSWORD_RANGE_URL" not in TEMPLATE.function_environment()  # not a Global


def test_a_set_url_is_read_an_empty_one_is_off_and_a_missing_one_is_an_error() -> None:
    url = "https://api.pwnedpasswords.com"
    assert load_password_settings({"BREACHED_PASSWORD_RANGE_URL": url}).breached_password_range_url == url
    assert load_password_settings({"BREACHED_PASSWORD_RANGE_URL": ""}).breached_password_range_url is None
    with pytest.raises(ConfigurationError, match="BREACHED_PASSWORD_RANGE_URL"):
        load_password_settings({})


@pytest.mark.parametrize("function", ["confirm_reset", "sessions"])
def test_a_function_that_sets_passwords_fails_its_cold_start_without_the_variable(function: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BREACHED_PASSWORD_RANGE_URL"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "layers" / "pwreset"), str(REPO / "functions" / function)]
    )
    done = subprocess.run(
        [sys.executable, "-c", "import app"], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode != 0
    assert "ConfigurationError" in done.stderr and "BREACHED_PASSWORD_RANGE_URL" in done.stderr
