"""Enumeration by timing, measured over HTTP against the local stack (OWASP Forgot Password Cheat
Sheet; ASVS 6.3.8): self-service and sign-in take the same time whether the address exists, is
unknown or is archived. Rate limits are switched off for this stack so that every request for the
known address really sends a mail; the defence under test is the response floor and the dummy
hash, not the limiter."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest

from support.local_stack import Stack, start_stack, stop_stack

pytestmark = pytest.mark.e2e

ROUNDS = 60
MAX_MEDIAN_GAP_MS = 5.0
ADDRESSES = {
    "existing": "james.miller@example.com",
    "unknown": "nobody-here@example.com",
    "archived": "karl.vogel@example.com",
}


@pytest.fixture(scope="module")
def quiet_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    off = ",".join(
        f"{rule}=0/60" for rule in ("self_service_email", "self_service_ip", "sign_in_account", "sign_in_ip")
    )
    stack = start_stack(tmp_path_factory.mktemp("timing"), parameters={"RateLimits": off})
    yield stack
    assert stop_stack(stack) == 0, stack.output()


def timed(stack: Stack, path: str, body: dict[str, str], expected: int) -> float:
    started = time.perf_counter()
    status = stack.post(path, body).status
    elapsed = (time.perf_counter() - started) * 1000
    assert status == expected
    return elapsed


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in samples.items()}


def report(title: str, found: dict[str, float]) -> str:
    """Printed (visible with -s, and in CI's log of a failure) so the closing note can quote it."""
    text = f"{title}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in found.items())
    print(text)
    return text


def test_self_service_takes_the_same_time_for_existing_unknown_and_archived(
    quiet_stack: Stack,
) -> None:
    samples: dict[str, list[float]] = {name: [] for name in ADDRESSES}
    for address in ADDRESSES.values():  # warm every path first
        timed(quiet_stack, "/v1/password-resets", {"email": address}, 202)
    for _ in range(ROUNDS):  # interleaved, so drift hits every kind alike
        for name, address in ADDRESSES.items():
            samples[name].append(timed(quiet_stack, "/v1/password-resets", {"email": address}, 202))
    found = medians(samples)
    summary = report("self-service medians", found)
    gap = max(found.values()) - min(found.values())
    assert gap < MAX_MEDIAN_GAP_MS, f"timing gap {gap:.1f} ms: {summary}"
    assert min(found.values()) >= 400  # the floor held


def test_sign_in_takes_the_same_time_for_unknown_address_and_wrong_password(
    quiet_stack: Stack,
) -> None:
    attempts = {
        "unknown address": {"email": "nobody-here@example.com", "password": "a wrong password 123"},
        "wrong password": {"email": "james.miller@example.com", "password": "a wrong password 123"},
        "archived account": {"email": "karl.vogel@example.com", "password": "Mandant-Demo-Karl-2026"},
    }
    samples: dict[str, list[float]] = {name: [] for name in attempts}
    for body in attempts.values():
        timed(quiet_stack, "/v1/sessions", body, 401)
    for _ in range(ROUNDS):
        for name, body in attempts.items():
            samples[name].append(timed(quiet_stack, "/v1/sessions", body, 401))
    found = medians(samples)
    summary = report("sign-in medians", found)
    gap = max(found.values()) - min(found.values())
    assert gap < MAX_MEDIAN_GAP_MS, f"timing gap {gap:.1f} ms: {summary}"
