"""``GET /_dev/events.json``: what the service put on the CRM's event bus, as a CRM sees it.

moto keeps no event that can be read back from a bus, so the local stack listens as a CRM would
(``docs/events.md``): a rule of its own on the template's bus with the pattern the docs give the
CRM (``{"source": ["pwreset"]}``) and an SQS queue as its target. Whatever reaches that queue went
through moto's ``PutEvents``, the bus and the rule's matching; the page takes it off the queue
when asked and lists every event so far, newest first, in the contract's shape
``{"events": [{"id", "source", "detail_type", "time", "detail"}]}``. The rule and the queue exist
only here, never in ``template.yaml``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

RULE_NAME = "local-dev-crm-listener"
QUEUE_NAME = "local-dev-crm-listener"
# The pattern docs/events.md gives a CRM: every event of this service.
PATTERN = {"source": ["pwreset"]}


@dataclass
class CrmListener:
    events_client: Any
    sqs_client: Any
    bus_name: str
    queue_url: str = ""
    _seen: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """The rule and its queue on the bus (the bus is the template's, made by ``provision``)."""
        self.queue_url = self.sqs_client.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
        attributes = self.sqs_client.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )
        queue_arn = attributes["Attributes"]["QueueArn"]
        self.events_client.put_rule(
            Name=RULE_NAME, EventBusName=self.bus_name, EventPattern=json.dumps(PATTERN), State="ENABLED"
        )
        self.events_client.put_targets(
            Rule=RULE_NAME, EventBusName=self.bus_name, Targets=[{"Id": "dev-listener", "Arn": queue_arn}]
        )

    def events(self) -> list[dict[str, Any]]:
        """Every event received so far, newest first (the queue is read to the end first)."""
        with self._lock:
            while True:
                batch = self.sqs_client.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                if not batch:
                    break
                for message in batch:
                    self._seen.append(_as_listed(json.loads(message["Body"])))
                handles = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
                self.sqs_client.delete_message_batch(QueueUrl=self.queue_url, Entries=handles)
            return list(reversed(self._seen))


def _as_listed(event: dict[str, Any]) -> dict[str, Any]:
    """EventBridge's envelope (``detail-type``, ...) in the contract's field names."""
    return {
        "id": event.get("id"),
        "source": event.get("source"),
        "detail_type": event.get("detail-type"),
        "time": event.get("time"),
        "detail": event.get("detail"),
    }
