"""The local stack runs each function in a pool of execution environments, as Lambda does: requests
that overlap run in parallel, each environment is its own import of the handler, environments are
reused warm, the pool stops growing at its limit, and a reserved concurrency throttles.

The probe (``tests/fixtures/probe_pool``) is an API function in a copy of ``template.yaml``; the
tests call the gateway in-process with :class:`devstack.pool.PooledRunner`, as ``make dev`` does.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from devstack.gateway import Gateway, HttpRequest, HttpResponse
from devstack.pool import PooledRunner
from devstack.template import SamTemplate
from support.probe_functions import (
    POOL_PROBE,
    POOL_PROBE_PATH,
    RESOLVER_PROBE_PATH,
    probe_pool_function,
    probe_resolver_function,
)
from support.template_copies import template_copy


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


class Probe:
    def __init__(self, template: SamTemplate, concurrency: int) -> None:
        self.runner = PooledRunner(template, concurrency=concurrency)
        self.gateway = Gateway(template, self.runner)
        self.pool = self.runner.pools[POOL_PROBE]

    def get(self, query: str = "") -> tuple[int, dict[str, Any]]:
        response: HttpResponse = self.gateway.handle(HttpRequest("GET", POOL_PROBE_PATH, query=query))
        return response.status, json.loads(response.body)

    def get_all(self, queries: list[str]) -> list[tuple[int, dict[str, Any]]]:
        with ThreadPoolExecutor(len(queries)) as threads:
            return list(threads.map(self.get, queries))

    @staticmethod
    def open_gate(name: str) -> None:
        sys.modules["_probe_pool_shared"].gates.setdefault(name, threading.Event()).set()


@pytest.fixture
def probe(tmp_path: Path) -> Callable[..., Probe]:
    def make(concurrency: int = 10, **function_properties: Any) -> Probe:
        resources = {
            POOL_PROBE: probe_pool_function(**function_properties),
            "ProbeResolverFunction": probe_resolver_function(),
        }
        path = template_copy(tmp_path / "template", resources)
        return Probe(SamTemplate(path), concurrency)

    return make


def test_overlapping_requests_run_at_once_each_in_its_own_import(probe: Callable[..., Probe]) -> None:
    pool = probe(concurrency=5)

    # Five requests pass a barrier for five only if all five are inside the handler at once.
    answers = pool.get_all(["barrier=overlap&parties=5"] * 5)

    assert [status for status, _ in answers] == [200] * 5
    assert len({body["environment"] for _, body in answers}) == 5
    modules = {body["module"] for _, body in answers}
    assert modules == {f"_fn_{POOL_PROBE}__env{n}" for n in range(1, 6)}
    imported = [e.module for e in pool.pool.environments()]
    assert len({id(m) for m in imported}) == 5
    assert len({id(m.lambda_handler) for m in imported}) == 5
    assert {body["running_function"] for _, body in answers} == {POOL_PROBE}


def test_free_environments_are_reused_warm_the_last_freed_first(probe: Callable[..., Probe]) -> None:
    pool = probe(concurrency=3)
    first = pool.get_all(["barrier=warm&parties=3"] * 3)
    environments = {body["environment"] for _, body in first}

    later = [pool.get()[1] for _ in range(4)]

    assert len(pool.pool.environments()) == 3  # no new cold start
    assert {body["environment"] for body in later} < environments
    # One request at a time: the environment freed last serves each next one.
    assert len({body["environment"] for body in later}) == 1
    assert [body["invocations"] for body in later] == [2, 3, 4, 5]


def test_the_first_environment_is_made_before_the_first_request(probe: Callable[..., Probe]) -> None:
    pool = probe()
    pool.runner.warm_up(POOL_PROBE)
    [warm] = pool.pool.environments()

    status, body = pool.get()

    assert status == 200
    assert body["invocations"] == 1  # the request ran in the environment made at warm-up
    assert pool.pool.environments() == [warm]


def test_at_the_cap_a_request_waits_for_a_free_environment(probe: Callable[..., Probe]) -> None:
    pool = probe(concurrency=2)
    with ThreadPoolExecutor(3) as threads:
        held = [threads.submit(pool.get, "gate=cap") for _ in range(3)]
        # The second environment may still be starting (its own cold start) when the third waits.
        wait_until(lambda: (pool.pool.stats().waiting, pool.pool.stats().busy) == (1, 2))
        assert len(pool.pool.environments()) == 2

        pool.open_gate("cap")
        answers = [future.result(timeout=10) for future in held]

    assert [status for status, _ in answers] == [200, 200, 200]
    assert len({body["environment"] for _, body in answers}) == 2
    stats = pool.pool.stats()
    assert (stats.environments, stats.peak_busy, stats.throttles) == (2, 2, 0)


def test_reserved_concurrency_throttles_api_requests_as_api_gateway_answers_them(
    probe: Callable[..., Probe],
) -> None:
    pool = probe(concurrency=10, ReservedConcurrentExecutions=1)
    with ThreadPoolExecutor(2) as threads:
        held = threads.submit(pool.get, "gate=reserved")
        wait_until(lambda: pool.pool.stats().busy == 1)
        # An event source's invocation waits for the environment rather than failing.
        queued = threads.submit(pool.runner.invoke, POOL_PROBE, {"queryStringParameters": None})
        wait_until(lambda: pool.pool.stats().waiting == 1)

        throttled = pool.gateway.handle(HttpRequest("GET", POOL_PROBE_PATH))

        pool.open_gate("reserved")
        assert held.result(timeout=10)[0] == 200
        assert queued.result(timeout=10)["statusCode"] == 200

    # Lambda answers API Gateway 429; API Gateway answers the client 500 with its 5XX response.
    assert throttled.status == 500
    assert throttled.header("x-amzn-ErrorType") == "InternalServerErrorException"
    assert throttled.json()["error"]["code"] == "internal_error"
    stats = pool.pool.stats()
    assert (stats.limit, stats.limited_by, stats.environments, stats.throttles) == (1, "reserved", 1, 1)


def test_each_invocation_reads_its_own_request_from_powertools_resolver(probe: Callable[..., Probe]) -> None:
    pool = probe(concurrency=4)

    def ask(who: str) -> str:
        query = f"who={who}&barrier=resolver&parties=4"
        response = pool.gateway.handle(HttpRequest("GET", RESOLVER_PROBE_PATH, query=query))
        assert response.status == 200, response.body
        return str(response.json()["who"])

    # All four are inside the route at once, each after its own resolve() began.
    with ThreadPoolExecutor(4) as threads:
        answers = list(threads.map(ask, ["ada", "bea", "cem", "dan"]))

    assert answers == ["ada", "bea", "cem", "dan"]
