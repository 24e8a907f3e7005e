"""The one place that holds the service's logger, tracer and metrics (powertools idiom).

Log fields are structured; e-mail addresses go through :func:`mask_email` before they reach a log
line, and raw tokens and passwords never do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, overload

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

from pwreset.runtime.tracing import Tracer

logger = Logger(service="password-reset")
# No X-Ray SDK (end of support 25 Feb 2027): Lambda's active tracing plus one subsegment per AWS
# call from botocore's own events (pwreset.runtime.tracing). Every AWS call (pynamodb's too) goes
# through the one botocore session, so each is recorded once. No handler's response reaches a
# trace: sign-in and confirm answer with a session token.
tracer = Tracer(service="password-reset")
metrics = Metrics(namespace="PortalPasswordReset", service="password-reset")


def mask_email(address: str | None) -> str:
    """``anna.schmidt@example.com`` -> ``a***@example.com``: enough to tell cases apart, no more."""
    if not address:
        return ""
    local, sep, domain = address.partition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain}"


@overload
def observed_handler[H: Callable[..., Any]](handler: H, /) -> H: ...
@overload
def observed_handler[H: Callable[..., Any]](
    *, correlation_id_path: str | None = None, with_metrics: bool = True
) -> Callable[[H], H]: ...
def observed_handler[H: Callable[..., Any]](
    handler: H | None = None, /, *, correlation_id_path: str | None = None, with_metrics: bool = True
) -> H | Callable[[H], H]:
    """A function's entry point, observed the one way every function is (``@observed_handler`` or
    ``@observed_handler(correlation_id_path=...)``): the invocation's context in every log line
    (and the request's id as correlation id where the event has one), a trace subsegment around it
    that never holds its response, and the metrics it added flushed at its end (``with_metrics``:
    a function that adds none leaves this off, or powertools warns on every invocation)."""
    if handler is None:
        return lambda given: _observe(given, correlation_id_path, with_metrics)
    return _observe(handler, correlation_id_path, with_metrics)


def _observe[H: Callable[..., Any]](handler: H, correlation_id_path: str | None, with_metrics: bool) -> H:
    inner = metrics.log_metrics(handler) if with_metrics else handler
    traced = tracer.capture_lambda_handler(inner, capture_response=False)
    observed: H = logger.inject_lambda_context(traced, correlation_id_path=correlation_id_path)
    return observed


@contextlib.contextmanager
def log_keys(**keys: Any) -> Iterator[None]:
    """``keys`` in every log line meanwhile (while one stream record or queue message is handled),
    then gone again, also when it fails."""
    logger.append_keys(**keys)
    try:
        yield
    finally:
        logger.remove_keys(list(keys))
