"""Runs queue-triggered functions the way Lambda's SQS event source mapping does.

For every ``Type: SQS`` event in the template, one poller receives from the queue (moto's SQS) and
invokes the function with real ``{"Records": [...]}`` events:

* a batch is at most ``BatchSize`` messages; with ``MaximumBatchingWindowInSeconds`` the poller
  keeps receiving until the batch is full or the window (from the first message) has passed,
  without one it invokes with what one receive returned (up to 10);
* up to ``ScalingConfig.MaximumConcurrency`` batches run at once (default: the function's pool
  limit, see ``devstack.pool``), each in its own execution environment; no more messages are
  received while that many are running, so none sit in flight waiting for an environment;
* a batch that succeeds is deleted. A function error (an exception) deletes nothing. With
  ``ReportBatchItemFailures``, ``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}``
  deletes every message but those; an empty or null list is success, and an empty, null or
  unknown identifier fails the whole batch;
* a message that was not deleted comes back when the queue's ``VisibilityTimeout`` has passed,
  and SQS itself moves it to the ``RedrivePolicy``'s dead-letter queue on the receive after
  ``maxReceiveCount`` (moto does this on receive, as SQS does);
* ``FilterCriteria`` apply before batching (the body as JSON when it is JSON); messages that match
  no filter are deleted, as Lambda deletes them.

As ``CreateEventSourceMapping`` does, start-up refuses a queue whose visibility timeout is shorter
than the function's timeout, and a ``BatchSize`` over 10 without a batching window.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from devstack.filters import matches_any
from devstack.gateway import Runner, Throttled
from devstack.mapping import EventSourceMapping
from devstack.template import QueueSubscription, SamTemplate

log = logging.getLogger("devstack.queues")

IDLE_WAIT_S = 1  # long-poll wait while the queue is empty (short, so that stop() is quick)
WINDOW_POLL_S = 0.05  # how often the queue is asked again while a batching window is open
MAX_RECEIVE = 10  # SQS hands out at most 10 messages per ReceiveMessage
# What Lambda puts in a record's ``attributes`` (SQS's system attributes, not all of them).
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "MessageGroupId",
    "MessageDeduplicationId",
    "SequenceNumber",
    "DeadLetterQueueSourceArn",
)


@dataclass
class BatchOutcome:
    """What became of one invocation's batch."""

    message_ids: list[str]  # every message received for it
    delivered: list[str] = field(default_factory=list)  # those the filters let through to the function
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # left in the queue for a later receive
    function_error: bool = False


class QueuePoller(EventSourceMapping[QueueSubscription]):
    """One SQS event source mapping: a queue feeding one function."""

    thread_prefix = "sqs"

    def __init__(
        self,
        template: SamTemplate,
        subscription: QueueSubscription,
        runner: Runner,
        *,
        sqs: Any,
        region: str = "eu-central-1",
    ) -> None:
        super().__init__(template, subscription, runner, region=region)
        self.sqs = sqs
        queue_name = template.physical_name(subscription.queue)
        self.queue_url: str = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])["Attributes"]
        self.queue_arn: str = attributes["QueueArn"]
        self.visibility_timeout = int(attributes.get("VisibilityTimeout", 30))
        self._validate()
        limit = runner.limit(subscription.function)
        wanted = subscription.maximum_concurrency or limit or 1
        # More batches at once than the function has environments would only hold messages in
        # flight, their visibility timeout running, while they wait for one.
        self.max_concurrency = min(wanted, limit) if limit else wanted
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._workers: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.deleted = 0
        self.failed = 0
        self.batches_in_progress = 0

    @property
    def name(self) -> str:
        return f"{self.sub.function}/{self.sub.event or self.sub.queue}"

    def _validate(self) -> None:
        timeout = self.template.function_timeout(self.sub.function)
        if self.visibility_timeout < timeout:
            raise ValueError(
                f"{self.name}: queue visibility timeout ({self.visibility_timeout} s) is less than the "
                f"function timeout ({timeout} s); Lambda refuses this event source mapping"
            )
        if self.sub.batch_size > MAX_RECEIVE and self.sub.maximum_batching_window_s < 1:
            raise ValueError(
                f"{self.name}: a BatchSize over 10 needs MaximumBatchingWindowInSeconds of at least 1"
            )
        if self.sub.maximum_concurrency is not None and not 2 <= self.sub.maximum_concurrency <= 1000:
            raise ValueError(f"{self.name}: ScalingConfig.MaximumConcurrency must be between 2 and 1000")

    # ------------------------------------------------------------------ receiving
    def receive_batch(
        self, *, wait_s: int = IDLE_WAIT_S, wait_out_window: bool = True
    ) -> list[dict[str, Any]]:
        """One batch as the mapping forms it; empty when the queue stayed empty for ``wait_s``.
        Without ``wait_out_window`` an open batching window closes as soon as a receive finds the
        queue empty (what :meth:`drain` wants: nothing more is coming, so waiting adds nothing)."""
        messages: list[dict[str, Any]] = []
        window_ends: float | None = None
        while len(messages) < self.sub.batch_size and not self._stop.is_set():
            waiting = wait_s if not messages else 0
            got = self._receive(min(MAX_RECEIVE, self.sub.batch_size - len(messages)), waiting)
            if not messages and not got:
                return []
            messages += got
            if self.sub.maximum_batching_window_s <= 0:
                break
            if window_ends is None:
                window_ends = time.monotonic() + self.sub.maximum_batching_window_s
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            if not got:
                if not wait_out_window:
                    break
                self._stop.wait(min(WINDOW_POLL_S, remaining))
        return messages

    def _receive(self, count: int, wait_s: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def lambda_record(self, message: dict[str, Any]) -> dict[str, Any]:
        """The message as Lambda hands it to a function."""
        system = message.get("Attributes") or {}
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": {k: str(system[k]) for k in _RECORD_ATTRIBUTES if k in system},
            "messageAttributes": {
                name: _lambda_message_attribute(value)
                for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    # ------------------------------------------------------------------ delivering
    def process(self, messages: list[dict[str, Any]]) -> BatchOutcome:
        """Filter, invoke the function with the batch and delete what it processed."""
        records = [self.lambda_record(m) for m in messages]
        outcome = BatchOutcome(message_ids=[r["messageId"] for r in records])
        selected = [r for r in records if matches_any(self.patterns, _filterable(r))]
        dropped = [r for r in records if r not in selected]
        failed_ids: set[str] = set()
        if selected:
            outcome.delivered = [r["messageId"] for r in selected]
            failed_ids = self._invoke(selected, outcome)
        done = dropped + [r for r in selected if r["messageId"] not in failed_ids]
        self._delete(done)
        outcome.deleted = [r["messageId"] for r in done]
        outcome.failed = [r["messageId"] for r in selected if r["messageId"] in failed_ids]
        with self._lock:
            self.deleted += len(outcome.deleted)
            self.failed += len(outcome.failed)
        return outcome

    def _invoke(self, records: list[dict[str, Any]], outcome: BatchOutcome) -> set[str]:
        """The ids of the records that failed (all of them on a function error)."""
        everything = {r["messageId"] for r in records}
        with self._lock:
            self.invocations += 1
        try:
            result = self.runner.invoke(self.sub.function, {"Records": records})
        except Throttled:
            log.warning("queue batch throttled", extra={"function": self.sub.function})
            outcome.function_error = True
            return everything
        except Exception:  # the function's error: nothing is deleted, every message comes back
            log.exception(
                "queue batch failed", extra={"function": self.sub.function, "batch_size": len(records)}
            )
            outcome.function_error = True
            return everything
        failed = self.reported_failures(result, everything, log)
        return everything if failed is None else set(failed)

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), MAX_RECEIVE):
            chunk = records[start : start + MAX_RECEIVE]
            response = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )
            for failure in response.get("Failed") or []:
                log.warning("could not delete a processed message", extra={"code": failure.get("Code")})

    def drain(
        self,
        *,
        max_batches: int = 100,
        on_batch: Callable[[BatchOutcome], None] | None = None,
        requeue_failures_at_once: bool = False,
    ) -> list[BatchOutcome]:
        """Receive and process batches, one at a time, until a receive finds the queue empty (tests
        use this instead of the thread). A batching window gathers what is in the queue but is not
        waited out: nobody is sending meanwhile. With ``requeue_failures_at_once`` failed messages
        are made visible again at once instead of after the visibility timeout; their receive
        count, and so the redrive to the dead-letter queue, is SQS's as ever."""
        outcomes: list[BatchOutcome] = []
        for _ in range(max_batches):
            messages = self.receive_batch(wait_s=0, wait_out_window=False)
            if not messages:
                break
            outcome = self.process(messages)
            outcomes.append(outcome)
            if on_batch:
                on_batch(outcome)
            if requeue_failures_at_once and outcome.failed:
                handles = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
                for message_id in outcome.failed:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=handles[message_id], VisibilityTimeout=0
                    )
        return outcomes

    # ------------------------------------------------------------------ the threads
    def start(self) -> None:
        self._workers = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix=f"sqs:{self.name}")
        super().start()

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        if self._workers is not None:
            self._workers.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        assert self._workers is not None
        while not self._stop.is_set():
            # A free slot first: messages are received only when a batch can start right away.
            if not self._slots.acquire(timeout=IDLE_WAIT_S):
                continue
            try:
                messages = self.receive_batch()
            except Exception:  # moto going away at shutdown, a transient error: keep polling
                self._slots.release()
                if self._stop.is_set():
                    return
                log.exception("queue poller error", extra={"poller": self.name})
                self._stop.wait(IDLE_WAIT_S)
                continue
            if not messages:
                self._slots.release()
                continue
            with self._lock:
                self.batches_in_progress += 1
            self._workers.submit(self._process_and_free_slot, messages)

    def _process_and_free_slot(self, messages: list[dict[str, Any]]) -> None:
        try:
            self.process(messages)
        except Exception:
            log.exception("queue batch could not be processed", extra={"poller": self.name})
        finally:
            with self._lock:
                self.batches_in_progress -= 1
            self._slots.release()

    def drained(self) -> bool:
        """Nothing in the queue, visible or received, and no batch of it being processed."""
        with self._lock:
            if self.batches_in_progress:
                return False
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(int(value) == 0 for value in attributes.values())


def queue_pollers_for(template: SamTemplate, runner: Runner, **clients: Any) -> list[QueuePoller]:
    """A poller for every enabled queue mapping of the template (``clients``: as QueuePoller takes
    them, with the region)."""
    return [
        QueuePoller(template, sub, runner, **clients) for sub in template.queue_subscriptions() if sub.enabled
    ]


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """boto3's ``{"StringValue": ..., "DataType": ...}`` as Lambda writes it (camelCase, binary as
    base64, the list values always present)."""
    attribute: dict[str, Any] = {"stringListValues": [], "binaryListValues": []}
    attribute["dataType"] = value["DataType"]
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return attribute


def _filterable(record: dict[str, Any]) -> dict[str, Any]:
    """The record as Lambda's filters see it: a JSON body as its object, any other body as text."""
    try:
        body = json.loads(record["body"])
    except (TypeError, ValueError):
        return record
    return {**record, "body": body} if isinstance(body, dict) else record
