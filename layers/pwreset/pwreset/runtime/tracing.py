"""Tracing without the X-Ray SDK: each AWS call of a function as one subsegment of Lambda's trace.

The AWS X-Ray SDKs are in maintenance mode and reach end of support on 25 February 2027, and the
pinned powertools has no other provider for its Tracer. So no function depends on an SDK:

* Lambda's own active tracing (``Tracing: Active``) records every invocation (initialisation or
  restore, invocation, overhead) in the trace API Gateway starts (``TracingEnabled``);
* this module adds, inside that trace, a subsegment for the handler (``ColdStart`` and ``Service``
  annotations, as powertools' Tracer added) and one per AWS call (service, operation, table names,
  HTTP status, retries, request id), from botocore's own events on the process's one session
  (``pwreset.core.aws``). It writes them as X-Ray segment documents to the address Lambda gives an
  actively traced function (``AWS_XRAY_DAEMON_ADDRESS``), one UDP datagram each, as the SDK did;
  without that address, a sampled ``_X_AMZN_TRACE_ID`` or with ``POWERTOOLS_TRACE_DISABLED``, it
  records nothing.

What may reach a trace is fixed here and nowhere else: names of services, operations and tables,
statuses, timings, the type of an exception. Never a request or response body, a parameter value,
an exception's message, or a handler's response (sign-in and confirm answer with a session token):
``capture_response=True`` is refused.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pwreset.runtime import snapstart

__all__ = ["Tracer", "instrument"]

F = TypeVar("F", bound=Callable[..., Any])

_HEADER = b'{"format": "json", "version": 1}\n'
_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"
_DAEMON_ENV = "AWS_XRAY_DAEMON_ADDRESS"
_TRACE_ENV = "_X_AMZN_TRACE_ID"
_CONTEXT_KEY = "pwreset_subsegment"
# X-Ray's names for the services the functions call.
_SERVICE_NAMES = {"dynamodb": "DynamoDB", "sesv2": "SESv2"}


class _Sink:
    """The UDP socket to Lambda's trace endpoint, made on first use (and again in every copy that
    SnapStart restores: ``pwreset.runtime.snapstart`` renews it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._address: tuple[str, int] | None = None

    def send(self, document: dict[str, Any]) -> None:
        address = _daemon_address()
        if address is None:
            return
        with self._lock:
            if self._socket is None or self._address != address:
                self.close()
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._address = address
            with contextlib.suppress(OSError):  # tracing never fails a request
                self._socket.sendto(_HEADER + json.dumps(document, separators=(",", ":")).encode(), address)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


_sink = _Sink()


def _daemon_address() -> tuple[str, int] | None:
    return _parse_address(os.environ.get(_DAEMON_ENV, ""))


@functools.lru_cache(maxsize=4)
def _parse_address(raw: str) -> tuple[str, int] | None:
    # Lambda may name a TCP and a UDP address ("tcp:h:p udp:h:p"); segments go over UDP.
    for part in raw.split():
        if part.startswith("udp:"):
            raw = part[4:]
    host, _, port = raw.rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def _enabled() -> bool:
    return os.environ.get(_DISABLED_ENV, "").lower() not in ("1", "true") and _daemon_address() is not None


def _trace() -> tuple[str, str] | None:
    """(root, parent) of the current invocation when it is sampled (Lambda sets the header)."""
    fields = dict(part.split("=", 1) for part in os.environ.get(_TRACE_ENV, "").split(";") if "=" in part)
    if fields.get("Sampled") != "1" or "Root" not in fields or "Parent" not in fields:
        return None
    return fields["Root"], fields["Parent"]


_current = threading.local()  # the handler subsegment's id while a handler runs (per thread)


def _parent(trace: tuple[str, str]) -> str:
    return getattr(_current, "subsegment", None) or trace[1]


def _document(
    name: str, trace: tuple[str, str], started: float, *, subsegment_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "id": subsegment_id or secrets.token_hex(8),
        "trace_id": trace[0],
        "parent_id": _parent(trace),
        "type": "subsegment",
        "name": name,
        "start_time": started,
        "end_time": time.time(),
        **fields,
    }


class Tracer:
    """What the handlers decorate with (the powertools idiom, without the SDK)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._cold = True

    def capture_lambda_handler(self, handler: F | None = None, *, capture_response: bool = False) -> Any:
        """A subsegment ``## <handler>`` around each invocation, annotated with ``ColdStart`` and
        ``Service``; an exception marks it as a fault and names its type, and propagates."""
        if capture_response:
            raise ValueError("responses are never traced: sign-in and confirm answer with a session token")
        if handler is None:
            return functools.partial(self.capture_lambda_handler, capture_response=False)

        @functools.wraps(handler)
        def traced(event: Any, context: Any) -> Any:
            cold, self._cold = self._cold, False
            trace = _trace() if _enabled() else None
            if trace is None:
                return handler(event, context)
            started, subsegment_id = time.time(), secrets.token_hex(8)
            outer = getattr(_current, "subsegment", None)
            fields: dict[str, Any] = {"annotations": {"ColdStart": cold, "Service": self.service}}
            try:
                _current.subsegment = subsegment_id
                return handler(event, context)
            except Exception as exc:
                fields.update(fault=True, cause={"exceptions": [{"type": type(exc).__name__}]})
                raise
            finally:
                _current.subsegment = outer
                _sink.send(
                    _document(f"## {handler.__name__}", trace, started, subsegment_id=subsegment_id, **fields)
                )

        return traced


# ------------------------------------------------------------------------------------------ botocore


def instrument(session: Any, *, skip: Callable[[], bool] = lambda: False) -> None:
    """Record every API call of every client ``session`` makes from now on. ``skip`` says when a
    call is not the function's own (the offline calls of a SnapStart warm-up)."""
    # botocore keeps one handler per unique id across all events, hence one id per event.
    session.register(
        "before-parameter-build",
        functools.partial(_before_parameter_build, skip=skip),
        unique_id="pwreset-trace-start",
    )
    session.register("after-call", _after_call, unique_id="pwreset-trace-end")
    session.register("after-call-error", _after_call_error, unique_id="pwreset-trace-error")


def _before_parameter_build(
    model: Any, params: dict[str, Any], context: dict[str, Any], skip: Callable[[], bool], **_: Any
) -> None:
    """Once per API call, before retries, with the caller's parameters (read for table names only)."""
    trace = _trace() if _enabled() and not skip() else None
    if trace is not None:
        context[_CONTEXT_KEY] = (trace, time.time(), model, _tables(params))


def _tables(params: dict[str, Any]) -> list[str]:
    names = [params["TableName"]] if isinstance(params.get("TableName"), str) else []
    for item in params.get("TransactItems") or []:
        names.extend(op["TableName"] for op in item.values() if isinstance(op, dict) and "TableName" in op)
    names.extend(name for name in params.get("RequestItems") or {} if isinstance(name, str))
    return list(dict.fromkeys(names))


def _aws_fields(model: Any, tables: list[str], metadata: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"operation": model.name, "region": os.environ.get("AWS_REGION", "")}
    if metadata.get("RequestId"):
        fields["request_id"] = metadata["RequestId"]
    if metadata.get("RetryAttempts"):
        fields["retries"] = metadata["RetryAttempts"]
    if len(tables) == 1:
        fields["table_name"] = tables[0]
    elif tables:
        fields["table_names"] = tables
    return fields


def _after_call(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    found = context.pop(_CONTEXT_KEY, None)
    if found is None:
        return
    trace, started, model, tables = found
    metadata = parsed.get("ResponseMetadata") or {}
    status = int(metadata.get("HTTPStatusCode") or 0)
    code = str((parsed.get("Error") or {}).get("Code", ""))
    flags = {
        "error": 400 <= status < 500,
        "throttle": status == 429 or "Throttl" in code or code == "ProvisionedThroughputExceededException",
        "fault": status >= 500,
    }
    document = _document(
        _SERVICE_NAMES.get(model.service_model.service_name, model.service_model.service_name),
        trace,
        started,
        namespace="aws",
        aws=_aws_fields(model, tables, metadata),
        http={"response": {"status": status}},
    )
    document.update({flag: True for flag, on in flags.items() if on})
    _sink.send(document)


def _after_call_error(exception: BaseException, context: dict[str, Any], **_: Any) -> None:
    found = context.pop(_CONTEXT_KEY, None)
    if found is None:
        return
    trace, started, model, tables = found
    _sink.send(
        _document(
            _SERVICE_NAMES.get(model.service_model.service_name, model.service_model.service_name),
            trace,
            started,
            namespace="aws",
            aws=_aws_fields(model, tables, {}),
            fault=True,
            cause={"exceptions": [{"type": type(exception).__name__}]},
        )
    )


def renew_after_restore() -> None:
    """A restored copy opens its own socket (``pwreset.runtime.snapstart``)."""
    _sink.close()


snapstart.after_restore(renew_after_restore)
