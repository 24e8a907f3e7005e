"""Before any test imports pwreset: the environment every function gets from the template; and
the one setting only the local stack changes, for the tests that need it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import support.environment  # noqa: F401 - sets the environment as a side effect


@pytest.fixture
def loopback_http_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ALLOW_LOOPBACK_HTTP_URLS as the local stack sets it (the template never does): a firm's
    addresses may be http://127.0.0.1 or http://localhost."""
    from pwreset.core.config import settings

    monkeypatch.setenv("ALLOW_LOOPBACK_HTTP_URLS", "true")
    settings.cache_clear()
    yield
    monkeypatch.delenv("ALLOW_LOOPBACK_HTTP_URLS")
    settings.cache_clear()
