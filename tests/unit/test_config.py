"""Configuration is read once and fails fast: a missing variable is an error at cold start that
names it, never a silent default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pwreset.core.config import ConfigurationError, help_url_beside, load_settings
from support.environment import TEMPLATE

REPO = Path(__file__).resolve().parents[2]


def template_environment() -> dict[str, str]:
    return {**TEMPLATE.function_environment(), "AWS_REGION": "eu-central-1"}


def test_the_templates_environment_is_complete() -> None:
    loaded = load_settings(template_environment())
    assert loaded.accounts_table.startswith("test-")
    assert loaded.reset_page_url is not None
    assert loaded.reset_page_url.startswith("https://")


@pytest.mark.parametrize("missing", ["ACCOUNTS_TABLE", "RESET_PAGE_URL", "PORTAL_URL", "RATE_LIMITS_TABLE"])
def test_a_missing_table_name_or_url_is_an_error_that_names_it(missing: str) -> None:
    env = template_environment()
    del env[missing]
    with pytest.raises(ConfigurationError, match=missing):
        load_settings(env)


def test_every_missing_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({})
    for name in (
        "ACCOUNTS_TABLE",
        "SESSIONS_TABLE",
        "SENDER_ADDRESS",
        "SESSION_LIFETIME_SECONDS",
        "AWS_DEFAULT_REGION",
    ):
        assert name in str(raised.value)


def test_a_number_that_is_not_one_is_named() -> None:
    env = {**template_environment(), "SESSION_LIFETIME_SECONDS": "eight hours"}
    with pytest.raises(ConfigurationError, match="SESSION_LIFETIME_SECONDS"):
        load_settings(env)


def test_knobs_the_template_does_not_set_keep_their_documented_defaults() -> None:
    loaded = load_settings(template_environment())
    assert (loaded.password_max_length, loaded.argon2_time_cost, loaded.argon2_memory_kib) == (128, 2, 19456)


def test_a_handler_without_its_table_fails_at_import_with_the_name() -> None:
    """The cold start itself fails (Lambda reports an init error), before any request is taken."""
    env = {k: v for k, v in {**os.environ, **template_environment()}.items() if k != "SESSIONS_TABLE"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "layers" / "pwreset"), str(REPO / "functions" / "sessions")]
    )
    done = subprocess.run(
        [sys.executable, "-c", "import app"], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode != 0
    assert "ConfigurationError" in done.stderr and "SESSIONS_TABLE" in done.stderr


@pytest.mark.parametrize(
    ("reset_page_url", "help_url"),
    [
        ("https://portal.example.com/reset", "https://portal.example.com/help/reset-email"),
        (
            "https://abc.execute-api.eu-central-1.amazonaws.com/prod/reset",
            "https://abc.execute-api.eu-central-1.amazonaws.com/prod/help/reset-email",
        ),
        ("http://127.0.0.1:3000/reset/", "http://127.0.0.1:3000/help/reset-email"),
        ("https://portal.example.com/reset?from=mail#top", "https://portal.example.com/help/reset-email"),
    ],
)
def test_the_help_article_lives_beside_the_configured_reset_page(reset_page_url: str, help_url: str) -> None:
    assert help_url_beside(reset_page_url) == help_url


def test_a_page_the_stack_publishes_needs_no_url_in_the_environment() -> None:
    """Without ResetPageUrl or a custom domain the functions read the page's address from SSM."""
    env = {
        **template_environment(),
        "RESET_PAGE_URL": "",
        "RESET_PAGE_URL_PARAMETER": "/stack/reset-page-url",
    }
    loaded = load_settings(env)
    assert (loaded.reset_page_url, loaded.reset_page_url_parameter) == (None, "/stack/reset-page-url")
