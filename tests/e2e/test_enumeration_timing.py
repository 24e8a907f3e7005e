"""Enumeration by timing, measured over HTTP against the local stack (OWASP Forgot Password Cheat
Sheet; ASVS 6.3.8): self-service and sign-in take the same time whether the address exists, is
unknown or is archived, and whether the firm named has an account of it. Rate limits are switched
off for this stack so that every request for the known address really takes the known path; the
defences under test are the queue (self-service answers before anyone looks the address up) and the
dummy hash (sign-in), not the limiter.

Each kind is compared with each other by ``support.timing.compare``: interleaved rounds in a
shuffled order, a sign test on the paired differences and a bound on the p90 relative to the spread.

Sign-in must look the address's login up, and the local DynamoDB (moto) answers a query that finds
items about 2 ms slower than one that finds none (the item's parsing and serialisation in Python; in
DynamoDB it is the item's few hundred bytes). That is the store's difference, not the service's:
as many rounds of the bare query for a known and an unknown address are timed against the same
moto right after, and each round's difference is added to an unknown address's sign-in before the
comparison. What remains must be nothing.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator

import pytest

from support.local_stack import Stack, start_stack, stop_stack
from support.timing import compare

pytestmark = pytest.mark.e2e

ROUNDS = 150
ADDRESSES = {
    "existing": "james.miller@example.com",
    "unknown": "nobody-here@example.com",
    "archived": "karl.vogel@example.com",
}
LIMITED_RULES = (
    "self_service_email",
    "self_service_ip",
    "sign_in_account",
    "sign_in_account_ip",
    "sign_in_ip",
)


@pytest.fixture(scope="module")
def quiet_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    off = ",".join(f"{rule}=0/60" for rule in LIMITED_RULES)
    stack = start_stack(tmp_path_factory.mktemp("timing"), parameters={"RateLimits": off})
    yield stack
    assert stop_stack(stack) == 0, stack.output()


def timed(stack: Stack, path: str, body: dict[str, str], expected: int) -> float:
    started = time.perf_counter()
    status = stack.post(path, body).status
    elapsed = (time.perf_counter() - started) * 1000
    assert status == expected
    return elapsed


def sample(
    stack: Stack, path: str, bodies: dict[str, dict[str, str]], expected: int
) -> dict[str, list[float]]:
    """ROUNDS rounds, each kind once per round in a shuffled order, after one warm-up of each."""
    order = random.Random(20261130)
    for body in bodies.values():
        timed(stack, path, body, expected)
    samples: dict[str, list[float]] = {name: [] for name in bodies}
    for _ in range(ROUNDS):
        names = list(bodies)
        order.shuffle(names)
        for name in names:
            samples[name].append(timed(stack, path, bodies[name], expected))
    return samples


def assert_indistinguishable(title: str, samples: dict[str, list[float]]) -> None:
    comparisons = [compare(a, samples[a], b, samples[b]) for a, b in itertools.combinations(samples, 2)]
    summary = f"{title}:\n" + "\n".join(f"  {c}" for c in comparisons)
    print(summary)  # visible with -s, and in CI's log of a failure, so the closing note can quote it
    assert all(c.same for c in comparisons), summary


def test_self_service_takes_the_same_time_for_existing_unknown_and_archived(quiet_stack: Stack) -> None:
    bodies = {name: {"email": address} for name, address in ADDRESSES.items()}
    # A firm's own portal names its firm: one where the address has no account looks the same.
    bodies["existing, another firm"] = {"email": ADDRESSES["existing"], "firm_id": "firm-hartmann"}
    assert_indistinguishable("self-service", sample(quiet_stack, "/v1/password-resets", bodies, 202))


def store_lookup_difference(stack: Stack, rounds: int) -> list[float]:
    """Per round, how much longer the local DynamoDB takes to answer the sign-in's query of the
    address's login when it finds the login and its membership than when it finds none (bare
    queries, no service code)."""
    dynamodb, table = stack.aws("dynamodb"), stack.table("LoginsTable")

    def query(address: str) -> float:
        started = time.perf_counter()
        dynamodb.query(
            TableName=table,
            KeyConditionExpression="email = :email",
            ExpressionAttributeValues={":email": {"S": address}},
            ConsistentRead=True,
        )
        return (time.perf_counter() - started) * 1000

    for address in (ADDRESSES["existing"], ADDRESSES["unknown"]) * 10:
        query(address)
    return [query(ADDRESSES["existing"]) - query(ADDRESSES["unknown"]) for _ in range(rounds)]


def test_sign_in_takes_the_same_time_for_unknown_address_and_wrong_password(quiet_stack: Stack) -> None:
    bodies = {
        "unknown address": {"email": "nobody-here@example.com", "password": "a wrong password 123"},
        "wrong password": {"email": "james.miller@example.com", "password": "a wrong password 123"},
        "archived account": {"email": "karl.vogel@example.com", "password": "Mandant-Demo-Birke-2026"},
        # The right password, but a firm where the login has no account: the dummy hash, too.
        "no account in that firm": {
            "email": "james.miller@example.com",
            "password": "Client-Demo-Oak-Tree-2026",
            "firm_id": "firm-hartmann",
        },
    }
    samples = sample(quiet_stack, "/v1/sessions", bodies, 401)
    store = store_lookup_difference(quiet_stack, ROUNDS)
    print(f"local DynamoDB: a query that finds the account takes {sorted(store)[ROUNDS // 2]:.2f} ms longer")
    samples["unknown address"] = [t + d for t, d in zip(samples["unknown address"], store, strict=True)]
    assert_indistinguishable("sign-in", samples)
