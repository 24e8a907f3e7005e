"""The race proofs' instruments (``support.races``): the overlap they report is the overlap that
happened."""

from __future__ import annotations

import threading
import types

import pytest

from support.races import Overlap, all_at_once


def test_calls_released_together_overlap_and_calls_in_turn_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Barrier(4)
    owner = types.SimpleNamespace(work=lambda: gate.wait(timeout=5))
    together = Overlap()
    together.install(monkeypatch, owner, "work")

    all_at_once(4, lambda _: owner.work())  # the gate opens only when all four are inside

    assert together.peak == 4
    in_turn = Overlap()
    in_turn.intervals += [(0.0, 1.0), (1.0, 2.0), (2.5, 3.0)]  # one after another, touching
    assert in_turn.peak == 1
