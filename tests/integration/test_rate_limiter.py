"""The DynamoDB counter behind every rate limit."""

from __future__ import annotations

import boto3
import pytest

from pwreset.credentials import ratelimit
from pwreset.credentials.ratelimit import RateLimiter, parse_rules
from support.races import Overlap, all_at_once


class Clock(RateLimiter):
    def __init__(self, now: float) -> None:
        super().__init__(client=boto3.client("dynamodb"))
        self.now = now

    def _now(self) -> float:
        return self.now


@pytest.fixture
def rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "rules", lambda: parse_rules("demo=3/900,off=0/60"))


def test_allows_up_to_the_limit_then_says_when_to_retry(aws: None, rules: None) -> None:
    limiter = Clock(now=9_000.0)  # window [9000, 9900)
    decisions = [limiter.hit("demo", "anna@example.com") for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert decisions[3].retry_after == 900
    limiter.now = 9_899.5
    assert limiter.hit("demo", "anna@example.com").retry_after == 1
    limiter.now = 9_900.0  # next window: the counter starts again
    assert limiter.hit("demo", "anna@example.com").allowed


def test_subjects_and_rules_count_apart_and_case_does_not_matter(aws: None, rules: None) -> None:
    limiter = Clock(now=0.0)
    for _ in range(3):
        limiter.hit("demo", "anna@example.com")
    assert not limiter.hit("demo", "ANNA@example.com").allowed
    assert limiter.hit("demo", "james@example.com").allowed
    assert all(limiter.hit("off", "anna@example.com").allowed for _ in range(10))


def test_counters_expire_and_store_no_address_in_clear(aws: None, rules: None) -> None:
    import os

    limiter = Clock(now=1_800.0)
    limiter.hit("demo", "anna@example.com")
    [item] = boto3.client("dynamodb").scan(TableName=os.environ["RATE_LIMITS_TABLE"])["Items"]
    assert "anna" not in str(item)
    assert int(item["ttl"]["N"]) == 2_700 + 60


def test_concurrent_hits_are_counted_atomically(
    aws: None, rules: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = Clock(now=0.0)
    hits = Overlap()
    hits.install(monkeypatch, limiter, "hit")

    decisions = all_at_once(10, lambda _: limiter.hit("demo", "x"))

    assert hits.peak >= 2, "the hits never ran at the same time: nothing raced"
    assert sorted(d.hits for d in decisions) == list(range(1, 11))
    assert sum(d.allowed for d in decisions) == 3


def test_a_refund_takes_a_hit_back_in_its_own_window(aws: None, rules: None) -> None:
    limiter = Clock(now=0.0)
    for _ in range(3):
        limiter.refund(limiter.hit("demo", "x"))
    assert [limiter.hit("demo", "x").allowed for _ in range(4)] == [True, True, True, False]
    counted = limiter.hit("demo", "y")
    limiter.now = 60.0 * 60  # the next window has begun; the refund still goes to the old one
    limiter.refund(counted)
    assert limiter.hit("demo", "y").hits == 1


def test_malformed_rules_are_skipped() -> None:
    assert set(parse_rules("a=1/60, b=x/60, c, d=2/0")) == {"a", "d"}
