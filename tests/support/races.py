"""Race proofs that show they raced: the callers start together (a barrier), and the code under
test records when each call of it was running, so a test can assert that calls overlapped instead
of trusting that threads were started at once."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest


def all_at_once[T](count: int, call: Callable[[int], T]) -> list[T]:
    """``call(0) ... call(count - 1)``, each on its own thread, released together by a barrier;
    the results in order."""
    start = threading.Barrier(count)

    def run(index: int) -> T:
        start.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


class Overlap:
    """When each call of a function ran: install it over ``owner.name`` and read :attr:`peak`,
    the most calls that were running at the same moment."""

    def __init__(self) -> None:
        self.intervals: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def install(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                ended = time.monotonic()
                with self._lock:
                    self.intervals.append((started, ended))

        monkeypatch.setattr(owner, name, timed)

    @property
    def peak(self) -> int:
        """The most intervals that contain one moment (a call ending as another starts counts as
        no overlap)."""
        moments = sorted(
            [(start, 1) for start, _ in self.intervals] + [(end, -1) for _, end in self.intervals]
        )
        running = peak = 0
        for _, step in moments:  # an end sorts before a start at the same moment (-1 < 1)
            running += step
            peak = max(peak, running)
        return peak
