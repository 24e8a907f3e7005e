"""The enumeration tests' comparison (``support.timing``) on synthetic samples with the noise of a
shared machine: it passes equal kinds and catches a small constant cost and a rare slow path."""

from __future__ import annotations

import random

from support.timing import compare

ROUNDS = 150


def noisy(rng: random.Random, base: float) -> float:
    """A local HTTP round trip: a few ms, jitter, now and then a long stall."""
    stall = rng.expovariate(1 / 15) if rng.random() < 0.03 else 0.0
    return base + rng.gammavariate(2.0, 0.8) + stall


def rounds(seed: int, extra_b: float = 0.0, rare_b: float = 0.0) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    a, b = [], []
    for _ in range(ROUNDS):
        drift = rng.uniform(0, 3)  # the machine is busier in some rounds: both kinds pay it
        a.append(noisy(rng, 12 + drift))
        slow = rare_b if rng.random() < 0.2 else 0.0
        b.append(noisy(rng, 12 + drift + extra_b) + slow)
    return a, b


def test_equal_kinds_compare_equal_over_many_seeds() -> None:
    results = []
    for seed in range(200):
        a, b = rounds(seed)
        results.append(compare("a", a, "b", b))
    assert sum(not r.same for r in results) <= 1, [str(r) for r in results if not r.same][:3]


def test_a_constant_extra_millisecond_is_caught() -> None:
    """One more DynamoDB call on localhost costs about this much."""
    for seed in range(20):
        a, b = rounds(seed, extra_b=1.0)
        found = compare("a", a, "b", b)
        assert not found.same_centre, found


def test_a_rare_slow_path_is_caught_in_the_tail() -> None:
    """A mail sent inline for one known address in five (SES ~ 30 ms)."""
    for seed in range(20):
        a, b = rounds(seed, rare_b=30.0)
        found = compare("a", a, "b", b)
        assert not found.same_tail, found
