"""Operating system and browser as the firm reads them, from real User-Agent strings."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pwreset.mail.useragent import Software, describe

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    # Chrome reduces its UA to major.0.0.0 and Windows 11 still says "Windows NT 10.0".
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36": Software("Windows 10", "Chrome 131.0.0.0"),
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1": Software("iOS 17.6.1", "Mobile Safari 17.6"),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0": Software(
        "Mac OS X 10.15", "Firefox 133.0"
    ),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0": Software("Windows 10", "Edge 131.0.0.0"),
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36": Software(
        "Android 14", "Samsung Internet 26.0"
    ),
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0": Software(
        "Ubuntu", "Firefox 132.0"
    ),
}


@pytest.mark.parametrize(("user_agent", "expected"), list(CASES.items()), ids=lambda v: str(v)[:40])
def test_real_user_agents(user_agent: str, expected: Software) -> None:
    assert describe(user_agent) == expected


@pytest.mark.parametrize("user_agent", ["", "   ", None, "pytest", "x" * 100_000, "\x00\uffff<script>"])
def test_empty_or_unrecognised_is_unknown_not_an_error(user_agent: str | None) -> None:
    assert describe(user_agent) == Software(None, None)


def test_a_tool_is_named_without_an_os() -> None:
    assert describe("curl/8.5.0") == Software(None, "curl 8.5.0")


def test_parser_loads_nothing_until_first_used_then_runs_the_compiled_backend() -> None:
    """In a fresh interpreter: importing the handler imports no parser; the first parse loads
    ua-parser on ua-parser-rs and builds no device rules."""
    script = textwrap.dedent(
        """
        import importlib.util, sys
        import support.environment  # the template's environment
        spec = importlib.util.spec_from_file_location(
            "notify_app", "functions/notify_password_changed/app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        lazy = ("ua_parser", "ua_parser_rs", "ua_parser_builtins", "maxminddb", "jinja2")
        print("after-import", sorted(m for m in lazy if m in sys.modules))

        import ua_parser_rs
        def no_devices(*a, **k):
            raise AssertionError("device rules built")
        ua_parser_rs.DeviceExtractor = no_devices

        from pwreset.mail import useragent
        software = useragent.describe(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36")
        print("parsed", software.os, "|", software.browser)
        print("backend", useragent.backend(), type(useragent._resolver()[0]).__name__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PYTHONPATH": "layers/pwreset:local:tests", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "after-import []" in lines
    assert "parsed Windows 10 | Chrome 131.0.0.0" in lines
    assert "backend ua-parser-rs _BrowserAndOsResolver" in lines
