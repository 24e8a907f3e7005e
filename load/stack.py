"""``python -m load.stack``: the local stack exactly as ``make dev`` runs it (same arguments, same
``devstack`` code), plus what a load run must know and ``make dev`` does not keep:

* **Which AWS errors each request met.** A botocore hook (added, as the dev mailbox adds its own,
  to the handlers every new botocore session registers) sees every attempt of every DynamoDB and
  SESv2 call the handlers make, and whether the error outlasted botocore's retries and reached the
  handler. Each API request (keyed by the ``x-amzn-RequestId`` the local API Gateway answers
  with), each simulated SNS post and each stream or queue invocation is written as one JSON line
  to ``$LOAD_JOURNAL``, with its status, duration, the errors and which of them were injected
  faults. Neither tokens, passwords nor addresses are written.
* **SNS retries.** SNS retries a webhook delivery that answered 5xx (the stack's subscription
  allows about 40 minutes); the local SES simulator posts once. Here a simulated event that got a
  5xx is posted again, up to :data:`SNS_ATTEMPTS` times, a little later each time (SNS's policy,
  scaled down to seconds), so what is measured is what the deployed webhook would end up with.
  Every attempt is journaled, so a 5xx is still reported.
* ``GET /_dev/load/mail?after=<n>&wait=<s>``: the dev mailbox's messages from number ``n`` on
  (recipients, tags and links only), waiting up to ``s`` seconds for one to arrive: the load
  users wait on this instead of fetching every mail in full again and again.
* ``GET /_dev/load/status``: what still runs (invocations, simulated SES events being posted).
* ``POST /_dev/load/redrive`` with a stream mapping's on-failure record (its
  ``DDBStreamBatchInfo``): what an operator does with a dead letter of a stream, here in one call.
  The batch's records are read back from the stream (from ``startSequenceNumber`` to
  ``endSequenceNumber``), filtered and shaped as the mapping delivers them, and the mapping's
  function is invoked with them; the answer is the function's result.

Nothing here changes what a handler does: it only watches, except for the SNS retries.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import botocore.handlers

import devstack.__main__ as devstack_main
from devstack.faults import SERVICES, TRANSACTION_CONFLICT, errors_for
from devstack.gateway import RUNNING_FUNCTION, HttpRequest, HttpResponse
from devstack.mailbox import MailMessage
from devstack.stack import LocalStack

log = logging.getLogger("load.stack")

JOURNAL_ENV = "LOAD_JOURNAL"
SNS_RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 4.0)  # SNS backs off for minutes; seconds here
SNS_ATTEMPTS = 1 + len(SNS_RETRY_DELAYS_S)
SES_EVENT_THREAD = "ses-events"  # the name devstack.ses_simulator gives its posting threads
MAX_MAIL_WAIT_S = 10.0


def injected(service: str, operation: str, code: str, reasons: list[str]) -> bool:
    """Whether an AWS error is one ``devstack.faults`` injects (moto itself never answers these:
    it does not throttle, and its transactions are serialized, so they never conflict)."""
    if service not in SERVICES:
        return False
    if code == "TransactionCanceledException":
        return TRANSACTION_CONFLICT in reasons
    return code in {e.code for e in errors_for(service, operation)}


class Journal:
    """One JSON object per line, appended from any thread."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8") if path else None

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        line = json.dumps(record, separators=(",", ":"), default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()


class _Watch:
    """The AWS errors met by the request or invocation running on this thread."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []


_current = threading.local()


def _watch() -> _Watch | None:
    return getattr(_current, "watch", None)


def _on_response(event_name: str, parsed_response: Any = None, exception: Any = None, **_kw: Any) -> None:
    """``response-received``: every HTTP attempt of every call, retries included."""
    watch = _watch()
    if watch is None:
        return
    _, service, operation = [*event_name.split(".", 2), "", ""][:3]
    if exception is not None:
        code, reasons = type(exception).__name__, []
    else:
        error = (parsed_response or {}).get("Error") or {}
        if not error:
            return
        code = str(error.get("Code") or "")
        reasons = [str(r.get("Code")) for r in (parsed_response or {}).get("CancellationReasons") or []]
    watch.errors.append(
        {
            "op": f"{service}.{operation}",
            "code": code,
            "reasons": [r for r in reasons if r and r != "None"],
            "injected": injected(service, operation, code, reasons),
            "function": RUNNING_FUNCTION.get(None),
            "surfaced": False,
        }
    )


def _after_call(http_response: Any, model: Any, **_: Any) -> None:
    """``after-call``: the answer botocore hands the handler, after its retries. An error here
    reached the handler's code (its last attempt is the error recorded last for the operation)."""
    watch = _watch()
    if watch is None or getattr(http_response, "status_code", 200) < 300:
        return
    op = f"{model.service_model.service_name}.{model.name}"
    for error in reversed(watch.errors):
        if error["op"] == op:
            error["surfaced"] = True
            return


HOOKS: list[tuple[str, Callable[..., None]]] = [
    ("response-received", _on_response),
    ("after-call", _after_call),
]


class LoadStack(LocalStack):
    """:class:`devstack.stack.LocalStack` with the watching described in the module docstring."""

    journal: Journal
    _mail: list[dict[str, Any]]
    _mail_changed: threading.Condition

    def start(self) -> None:
        path = os.environ.get(JOURNAL_ENV)
        self.journal = Journal(Path(path) if path else None)
        self._mail = []
        self._mail_changed = threading.Condition()
        self.mailbox.subscribe(self._remember_mail)
        botocore.handlers.BUILTIN_HANDLERS.extend(HOOKS)
        super().start()
        assert self.server is not None and self.runner is not None
        gateway, runner = self.server.gateway, self.runner
        handle, invoke = gateway.handle, runner.invoke

        def watched_handle(request: HttpRequest) -> HttpResponse:
            if threading.current_thread().name.startswith(SES_EVENT_THREAD):
                return self._as_sns(handle, request)
            return self._watched(handle, request, kind="http")

        def watched_invoke(logical_id: str, event: dict[str, Any], **kw: Any) -> Any:
            if _watch() is not None:  # part of a request that is already watched
                return invoke(logical_id, event, **kw)
            return self._watched_invocation(invoke, logical_id, event, **kw)

        gateway.handle = watched_handle  # type: ignore[method-assign]
        runner.invoke = watched_invoke  # type: ignore[method-assign]
        self.server.add_route("GET", "/_dev/load/mail", self._mail_page)
        self.server.add_route("GET", "/_dev/load/status", lambda _request: _json(200, self.load_status()))
        self.server.add_route("POST", "/_dev/load/redrive", self._redrive)

    def stop(self) -> None:
        for hook in HOOKS:
            if hook in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.remove(hook)
        super().stop()

    # ------------------------------------------------------------------ requests and invocations
    def _watched(
        self, handle: Callable[[HttpRequest], HttpResponse], request: HttpRequest, *, kind: str, **extra: Any
    ) -> HttpResponse:
        watch = _current.watch = _Watch()
        started = time.monotonic()
        try:
            response = handle(request)
        finally:
            _current.watch = None
        record: dict[str, Any] = {
            "kind": kind,
            "rid": response.header("x-amzn-RequestId"),
            "method": request.method,
            "path": request.path,
            "status": response.status,
            "ms": round((time.monotonic() - started) * 1000, 1),
            "at": time.time(),
            **extra,
        }
        if watch.errors:
            record["aws_errors"] = watch.errors
        if response.status >= 500:
            record["body"] = response.body[:500].decode("utf-8", "replace")
            record["retry_after"] = response.header("Retry-After")
        if watch.errors or kind != "http" or response.status >= 500:
            self.journal.write(record)
        return response

    def _as_sns(self, handle: Callable[[HttpRequest], HttpResponse], request: HttpRequest) -> HttpResponse:
        """A simulated SES event, delivered as SNS delivers: retried while the webhook answers 5xx."""
        response = self._watched(handle, request, kind="sns", attempt=1)
        for attempt, delay in enumerate(SNS_RETRY_DELAYS_S[: SNS_ATTEMPTS - 1], start=2):
            if response.status < 500:
                break
            time.sleep(delay)  # SNS's back-off between deliveries, in seconds instead of minutes
            response = self._watched(handle, request, kind="sns", attempt=attempt)
        return response

    def _watched_invocation(self, invoke: Callable[..., Any], logical_id: str, event: Any, **kw: Any) -> Any:
        watch = _current.watch = _Watch()
        started = time.monotonic()
        error: str | None = None
        result: Any = None
        try:
            result = invoke(logical_id, event, **kw)
            return result
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            _current.watch = None
            records = event.get("Records") if isinstance(event, dict) else None
            failures = result.get("batchItemFailures") if isinstance(result, dict) else None
            self.journal.write(
                {
                    "kind": "invoke",
                    "function": logical_id,
                    "records": len(records) if isinstance(records, list) else None,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                    "at": time.time(),
                    "error": error,
                    "batch_item_failures": len(failures) if isinstance(failures, list) else 0,
                    "aws_errors": watch.errors,
                }
            )

    # ------------------------------------------------------------------ the mailbox, incrementally
    def _remember_mail(self, message: MailMessage) -> None:
        with self._mail_changed:
            self._mail.append(
                {
                    "seq": len(self._mail),
                    "id": message.id,
                    "to": list(message.recipients),
                    "tags": dict(message.tags),
                    "links": [link for link in message.links if "#" in link],
                    "sent_at": message.sent_at.timestamp(),
                }
            )
            self._mail_changed.notify_all()

    def _mail_page(self, request: HttpRequest) -> HttpResponse:
        query = parse_qs(request.query)
        try:
            after = int((query.get("after") or ["0"])[0])
            wait = min(float((query.get("wait") or ["0"])[0]), MAX_MAIL_WAIT_S)
        except ValueError:
            return _json(400, {"error": "after and wait are numbers"})
        with self._mail_changed:
            self._mail_changed.wait_for(lambda: len(self._mail) > after, timeout=max(wait, 0.0))
            messages = self._mail[after:]
        return _json(200, {"next": after + len(messages), "messages": messages})

    def _redrive(self, request: HttpRequest) -> HttpResponse:
        from devstack.filters import matches_any

        try:
            info = json.loads(request.body)["DDBStreamBatchInfo"]
            poller = next(p for p in self.pollers if p.stream_arn == info["streamArn"])
        except (ValueError, KeyError, TypeError, StopIteration):
            return _json(
                400, {"error": "expected a stream on-failure record of one of this stack's mappings"}
            )
        iterator = poller.streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
        end, records, done = int(info["endSequenceNumber"]), [], False
        while iterator and not done:
            page = poller.streams.get_records(ShardIterator=iterator, Limit=100)
            for raw in page.get("Records", []):
                if int(raw["dynamodb"]["SequenceNumber"]) > end:
                    done = True
                    break
                record = poller._lambda_record(raw)
                if matches_any(poller.patterns, record):
                    records.append(record)
            done = done or not page.get("Records")
            iterator = page.get("NextShardIterator")
        result = self._watched_invocation(
            self.runner.invoke if self.runner else _no_runner, poller.sub.function, {"Records": records}
        )
        return _json(200, {"function": poller.sub.function, "records": len(records), "result": result})

    def load_status(self) -> dict[str, Any]:
        stats = self.runner.stats() if self.runner else {}
        return {
            "busy": {
                name: s["busy"] + s["waiting"] for name, s in stats.items() if s["busy"] or s["waiting"]
            },
            "ses_event_threads": sum(
                1 for t in threading.enumerate() if t.name.startswith(SES_EVENT_THREAD) and t.is_alive()
            ),
            "mail": len(self._mail),
        }


def _no_runner(*_args: Any, **_kw: Any) -> Any:
    raise RuntimeError("the stack has not started")


def _json(status: int, body: Any) -> HttpResponse:
    return HttpResponse(
        status,
        [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
        json.dumps(body).encode("utf-8"),
    )


def main(argv: list[str] | None = None) -> int:
    # ``make dev``'s own entry point, with this stack in place of devstack's.
    devstack_main.LocalStack = LoadStack  # type: ignore[misc]
    return devstack_main.main(argv)


if __name__ == "__main__":
    sys.exit(main())
