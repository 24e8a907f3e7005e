"""The e2e tests' shared local stack, started once per session on the real template."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.stackrunner import START_TIMEOUT_S, Stack, start_stack, stop_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local stack on the real template, shared by the e2e tests (they use distinct accounts)."""
    running = start_stack(tmp_path_factory.mktemp("stack"))
    assert running.started_in_s < START_TIMEOUT_S
    yield running
    assert stop_stack(running) == 0, running.output()
