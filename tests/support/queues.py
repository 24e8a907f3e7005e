"""Lambda's SQS event source mapping in miniature, for tests under moto's ``mock_aws``.

``QueueMapping(TEMPLATE, "SomeFunction", invoke).run()`` drains the function's queue into it the
way the template's ``Type: SQS`` event says (``BatchSize``, ``FilterCriteria``,
``ReportBatchItemFailures``), with the queue's ``RedrivePolicy`` applied by SQS (moto) itself. It
runs the local stack's own poller (``devstack.queues``) synchronously, one batch at a time, with
two shortcuts so tests do not wait: no batching window is waited for, and a message that failed is
visible again at once instead of after the queue's ``VisibilityTimeout`` (its receive count, and
so when it lands in the dead-letter queue, is SQS's as ever).

The queues must exist: ``devstack.template.provision_queues(TEMPLATE, sqs)`` creates them with
their attributes, dead-letter queues first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3

from devstack.queues import QueuePoller
from devstack.template import SamTemplate


@dataclass
class QueueRun:
    invocations: int = 0
    delivered: list[list[str]] = field(default_factory=list)  # message ids per invocation
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # per failed delivery, so an id can repeat
    drained: bool = True  # False when ``max_batches`` ran out before the queue was empty


class _Invoke:
    """A runner that calls one function through ``invoke``."""

    def __init__(self, function_id: str, invoke: Callable[[dict[str, Any]], Any]) -> None:
        self.function_id = function_id
        self._invoke = invoke

    def invoke(self, logical_id: str, event: dict[str, Any], *, throttle: bool = False) -> Any:
        assert logical_id == self.function_id
        return self._invoke(event)

    def limit(self, logical_id: str) -> int | None:
        return None

    def module(self, logical_id: str) -> ModuleType:
        raise NotImplementedError("QueueMapping invokes through its callable")


class QueueMapping:
    """The template's SQS event for ``function_id``; ``invoke`` runs the function on an event."""

    def __init__(
        self,
        template: SamTemplate,
        function_id: str,
        invoke: Callable[[dict[str, Any]], Any],
        *,
        sqs: Any | None = None,
    ) -> None:
        [subscription] = [s for s in template.queue_subscriptions() if s.function == function_id]
        self.template = template
        self.sqs = sqs or boto3.client("sqs")
        self.poller = QueuePoller(template, subscription, _Invoke(function_id, invoke), sqs=self.sqs)
        dead_letter = template.dead_letter_queue(subscription.queue)
        self.dead_letter_url = (
            self.sqs.get_queue_url(QueueName=template.physical_name(dead_letter))["QueueUrl"]
            if dead_letter
            else None
        )

    @property
    def queue_url(self) -> str:
        return self.poller.queue_url

    def send(self, body: str | dict[str, Any], **kwargs: Any) -> str:
        """Send a message to the function's queue; returns its MessageId."""
        text = body if isinstance(body, str) else json.dumps(body)
        return str(self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=text, **kwargs)["MessageId"])

    def run(self, *, max_batches: int = 100) -> QueueRun:
        outcomes = self.poller.drain(max_batches=max_batches, requeue_failures_at_once=True)
        run = QueueRun(drained=len(outcomes) < max_batches)
        for outcome in outcomes:
            if outcome.delivered:
                run.invocations += 1
                run.delivered.append(outcome.delivered)
            run.deleted += outcome.deleted
            run.failed += outcome.failed
        return run

    def dead_letters(self) -> list[dict[str, Any]]:
        """The messages in the queue's dead-letter queue, left there."""
        if self.dead_letter_url is None:
            return []
        found: dict[str, dict[str, Any]] = {}
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.dead_letter_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                break
            found.update({m["MessageId"]: m for m in got})
        for message in found.values():  # visible again for whoever looks next
            self.sqs.change_message_visibility(
                QueueUrl=self.dead_letter_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return list(found.values())
