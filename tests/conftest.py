"""Before any test imports pwreset: the environment every function gets from the template. How
``make test``'s worker processes share the tests (pytest-xdist, ``--dist loadgroup``). And the one
setting only the local stack changes, for the tests that need it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import support.environment  # noqa: F401 - sets the environment as a side effect

# The e2e tests on the session's local stack (the ``stack`` fixture) share its demo accounts' state:
# a bounce one module records is there for the next. They run in one process, in file order, as
# they do without workers.
SHARED_STACK_GROUP = "shared local stack"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each module's tests go to one worker (its module-scoped fixtures, a local stack of its own
    among them, start once), and all tests on the shared local stack to one worker."""
    for item in items:
        shared = "stack" in getattr(item, "fixturenames", ())
        group = SHARED_STACK_GROUP if shared else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


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
