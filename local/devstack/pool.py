"""Functions run the way Lambda runs them: each in a pool of execution environments.

An execution environment is one import of the function's handler module, under a module name of
its own (``_fn_<Function>__env<n>``), so each pays its own cold start of that module and keeps its
own module state (its powertools resolver, batch processor...). An environment handles one
invocation at a time. When an invocation arrives and every environment is busy, a new one is made
(its cold start is part of that invocation's latency, as in Lambda), up to the function's limit;
afterwards environments stay warm and the one freed last is reused first.

The limit is the function's ``ReservedConcurrentExecutions`` when the template sets one, else the
local stack's cap (``make dev CONCURRENCY=<n>``, default 10). What happens at the limit:

* at the local cap, an invocation waits for a free environment. Lambda would have scaled much
  further (the account's limit is 1,000), so the cap only spares this machine; answering anything
  else would be an error AWS never gives.
* at ``ReservedConcurrentExecutions``, Lambda throttles, and so does this: an API Gateway request
  gets what API Gateway answers a throttled Lambda with (a 500, see ``devstack.gateway``); an event
  source's invocation waits (Lambda's pollers retry throttled batches).

What environments do not have of their own: the rest of the process. The ``pwreset`` package,
botocore and powertools are imported once and shared, so their module-level state is shared by
every environment of every function. :func:`isolate_powertools_state` keeps the pieces of it that
would mix invocations up apart; the rest is listed in docs/local-stack.md ("How it works without Docker").
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

from devstack.gateway import Throttled, load_handler_module, run_handler
from devstack.template import SamTemplate

log = logging.getLogger("devstack.pool")

DEFAULT_CONCURRENCY = 10


@dataclass
class ExecutionEnvironment:
    function: str
    number: int  # 1 for the first environment of the function, 2 for the next...
    module: ModuleType
    init_ms: float  # how long the module's import (its cold start) took
    invocations: int = 0


@dataclass
class PoolStats:
    limit: int
    limited_by: str  # "reserved" (ReservedConcurrentExecutions) or "cap" (the local stack's cap)
    environments: int
    busy: int
    waiting: int
    peak_busy: int
    invocations: int
    throttles: int


class FunctionPool:
    """The execution environments of one function."""

    def __init__(self, template: SamTemplate, function: str, *, limit: int, reserved: bool) -> None:
        self.template = template
        self.function = function
        self.limit = limit
        # The limit is ReservedConcurrentExecutions (throttle there), not the local stack's cap.
        self.reserved = reserved
        self._environments: list[ExecutionEnvironment] = []
        self._idle: list[ExecutionEnvironment] = []  # a stack: the one freed last is reused first
        self._starting = 0  # environments being created right now
        self._busy = 0
        self._waiting = 0
        self._peak_busy = 0
        self._invocations = 0
        self._throttles = 0
        self._created = 0
        self._condition = threading.Condition()

    def acquire(self, *, throttle: bool) -> ExecutionEnvironment:
        """A free environment for one invocation, made now if every one is busy and the limit
        allows; at the limit, wait for one to be released (or raise :class:`Throttled` when the
        limit is the reserved concurrency and the caller asks to be throttled)."""
        with self._condition:
            while True:
                if self._idle:
                    environment = self._idle.pop()
                    self._mark_busy()
                    return environment
                if len(self._environments) + self._starting < self.limit:
                    self._starting += 1
                    self._created += 1
                    number = self._created
                    break
                if self.limit == 0 or (throttle and self.reserved):
                    self._throttles += 1
                    raise Throttled(self.function)
                self._waiting += 1
                try:
                    self._condition.wait()
                finally:
                    self._waiting -= 1
        # Created outside the lock: a cold start must not hold up the release of other environments.
        try:
            environment = self._create(number)
        except BaseException:
            with self._condition:
                self._starting -= 1
                self._condition.notify()
            raise
        with self._condition:
            self._starting -= 1
            self._environments.append(environment)
            self._mark_busy()
        return environment

    def release(self, environment: ExecutionEnvironment) -> None:
        with self._condition:
            self._busy -= 1
            self._idle.append(environment)
            self._condition.notify()

    def warm_up(self) -> None:
        """Create the first environment now (at start-up), unless there is one."""
        if self.limit == 0:
            return
        with self._condition:
            if self._environments or self._starting:
                return
        self.release(self.acquire(throttle=False))

    def stats(self) -> PoolStats:
        with self._condition:
            return PoolStats(
                limit=self.limit,
                limited_by="reserved" if self.reserved else "cap",
                environments=len(self._environments),
                busy=self._busy,
                waiting=self._waiting,
                peak_busy=self._peak_busy,
                invocations=self._invocations,
                throttles=self._throttles,
            )

    def environments(self) -> list[ExecutionEnvironment]:
        with self._condition:
            return list(self._environments)

    def _mark_busy(self) -> None:
        self._busy += 1
        self._invocations += 1
        self._peak_busy = max(self._peak_busy, self._busy)

    def _create(self, number: int) -> ExecutionEnvironment:
        started = time.perf_counter()
        module = load_handler_module(self.template, self.function, f"_fn_{self.function}__env{number}")
        init_ms = (time.perf_counter() - started) * 1000
        log.info(
            "execution environment created",
            extra={"function": self.function, "environment": number, "init_ms": round(init_ms, 1)},
        )
        return ExecutionEnvironment(function=self.function, number=number, module=module, init_ms=init_ms)


class PooledRunner:
    """Runs every function of the template in its own :class:`FunctionPool`."""

    def __init__(self, template: SamTemplate, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.template = template
        self.concurrency = concurrency
        isolate_powertools_state()
        self.pools: dict[str, FunctionPool] = {}
        for function_id in template.functions():
            reserved = template.reserved_concurrency(function_id)
            self.pools[function_id] = FunctionPool(
                template,
                function_id,
                limit=concurrency if reserved is None else reserved,
                reserved=reserved is not None,
            )

    def invoke(self, logical_id: str, event: dict[str, Any], *, throttle: bool = False) -> Any:
        pool = self.pools[logical_id]
        environment = pool.acquire(throttle=throttle)
        try:
            environment.invocations += 1
            return run_handler(self.template, logical_id, environment.module, event)
        finally:
            pool.release(environment)

    def limit(self, logical_id: str) -> int | None:
        return self.pools[logical_id].limit

    def warm_up(self, logical_id: str) -> None:
        self.pools[logical_id].warm_up()

    def module(self, logical_id: str) -> ModuleType:
        self.warm_up(logical_id)
        return self.pools[logical_id].environments()[0].module

    def stats(self) -> dict[str, dict[str, Any]]:
        return {function_id: asdict(pool.stats()) for function_id, pool in self.pools.items()}


def isolate_powertools_state() -> None:
    """Keep what powertools holds per process apart per invocation, as separate Lambda
    environments (separate processes) would have it (idempotent; :class:`PooledRunner` calls it).

    * The REST resolver's ``resolve()`` puts the event and context on the ``BaseRouter`` *class*,
      and every resolver reads ``current_event`` from there: two API invocations at once, of any
      functions, read each other's request (seen: a sign-in validated against a self-service
      body). Each resolver now pins the event it was given on itself before routing (a lock
      covers the moment between the class-level write and the pin).
    * The ``Logger``'s ``append_keys`` (used by ``inject_lambda_context``) writes one dict shared
      by all, so a log line carried whatever invocation wrote last (under load most "reset mail
      sent" lines named another function). ``append_keys`` and ``remove_keys`` now go to
      powertools' own thread-safe keys (a context variable; an invocation runs on one thread and
      sets its keys afresh).
    * ``Metrics`` keep one buffer per process (off locally, but still buffered): a lock keeps an
      invocation that serialises it from failing ("dictionary changed size during iteration")
      while another adds a metric.
    """
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, BaseRouter
    from aws_lambda_powertools.logging.logger import Logger
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    if getattr(BaseRouter, "_devstack_isolated", False):
        return

    resolve, route = ApiGatewayResolver.resolve, ApiGatewayResolver._resolve
    resolving = threading.Lock()
    held = threading.local()

    def resolve_own_event(self: ApiGatewayResolver, event: Any, context: Any) -> Any:
        resolving.acquire()
        held.lock = True
        try:
            return resolve(self, event, context)
        finally:
            if held.lock:  # resolve() failed before routing
                held.lock = False
                resolving.release()

    def route_own_event(self: ApiGatewayResolver) -> Any:
        if getattr(held, "lock", False):
            # resolve() has just written the class attributes: pin them on this resolver.
            self.current_event = BaseRouter.current_event
            self.lambda_context = BaseRouter.lambda_context
            held.lock = False
            resolving.release()
        return route(self)

    def get_correlation_id(self: Logger) -> str | None:
        value = self.thread_safe_get_current_keys().get("correlation_id")
        return None if value is None else str(value)

    setattr(ApiGatewayResolver, "resolve", resolve_own_event)  # noqa: B010 - replacing methods, on purpose
    setattr(ApiGatewayResolver, "_resolve", route_own_event)  # noqa: B010
    setattr(Logger, "append_keys", Logger.thread_safe_append_keys)  # noqa: B010
    setattr(Logger, "remove_keys", Logger.thread_safe_remove_keys)  # noqa: B010
    setattr(Logger, "get_correlation_id", get_correlation_id)  # noqa: B010
    metrics_lock = threading.RLock()
    for name in ("add_metric", "add_dimension", "add_metadata", "serialize_metric_set", "clear_metrics"):
        method = getattr(AmazonCloudWatchEMFProvider, name)
        setattr(AmazonCloudWatchEMFProvider, name, _holding(metrics_lock, method))
    setattr(BaseRouter, "_devstack_isolated", True)  # noqa: B010


def _holding(lock: threading.RLock, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return locked
