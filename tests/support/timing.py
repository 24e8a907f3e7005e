"""Do two kinds of request take the same time? A paired, statistical comparison of interleaved
samples, for the enumeration tests: a fixed bound on medians flakes on a shared 2-core machine and
misses a slow tail, so the samples themselves set the bound.

Samples are taken in rounds, one of each kind per round in a shuffled order, so drift (another
process, a GC pause) falls on every kind alike. Two checks:

- **Centre**, a sign test on the per-round differences: with no difference, each round is as likely
  to favour either kind, and the count of rounds where ``a`` was slower stays within
  :data:`SIGN_TEST_Z` standard deviations of half. A constant extra cost on one kind, however small
  against the noise, pushes nearly every round one way.
- **Tail**: the kinds' 90th percentiles differ by less than a share of the pooled spread (p90 - p10)
  or an absolute floor, whichever is larger: an occasional slow path (a mail sent inline for known
  addresses one time in five) moves the p90 by its whole cost.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

SIGN_TEST_Z = 4.0  # two-sided p ~ 6e-5: a false alarm in some 16,000 runs
TAIL_SHARE_OF_SPREAD = 0.5
TAIL_FLOOR_MS = 2.0


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


@dataclass(frozen=True)
class Comparison:
    name_a: str
    name_b: str
    rounds: int
    a_slower: int  # rounds in which a took longer than b
    z: float
    median_a: float
    median_b: float
    p90_a: float
    p90_b: float
    tail_bound: float

    @property
    def same_centre(self) -> bool:
        return abs(self.z) <= SIGN_TEST_Z

    @property
    def same_tail(self) -> bool:
        return abs(self.p90_a - self.p90_b) <= self.tail_bound

    @property
    def same(self) -> bool:
        return self.same_centre and self.same_tail

    def __str__(self) -> str:
        return (
            f"{self.name_a} vs {self.name_b}: medians {self.median_a:.2f} / {self.median_b:.2f} ms, "
            f"p90 {self.p90_a:.2f} / {self.p90_b:.2f} ms (bound ±{self.tail_bound:.2f}), "
            f"{self.name_a} slower in {self.a_slower} of {self.rounds} rounds (z = {self.z:+.1f}, "
            f"bound ±{SIGN_TEST_Z})"
        )


def compare(name_a: str, a: list[float], name_b: str, b: list[float]) -> Comparison:
    """``a[i]`` and ``b[i]`` were measured in the same round."""
    assert len(a) == len(b) >= 30, "too few rounds for a comparison"
    differences = [x - y for x, y in zip(a, b, strict=True) if x != y]
    n = len(differences)
    a_slower = sum(1 for d in differences if d > 0)
    z = (a_slower - n / 2) / (math.sqrt(n) / 2) if n else 0.0
    pooled = a + b
    spread = percentile(pooled, 0.9) - percentile(pooled, 0.1)
    return Comparison(
        name_a=name_a,
        name_b=name_b,
        rounds=len(a),
        a_slower=a_slower,
        z=z,
        median_a=statistics.median(a),
        median_b=statistics.median(b),
        p90_a=percentile(a, 0.9),
        p90_b=percentile(b, 0.9),
        tail_bound=max(TAIL_FLOOR_MS, TAIL_SHARE_OF_SPREAD * spread),
    )
