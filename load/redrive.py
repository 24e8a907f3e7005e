"""Redrive what the run left in the dead-letter queues, once the faults are off, to show it can be.

* A stream mapping's dead letter names a batch (``DDBStreamBatchInfo``), not its records: the
  records are still in the stream (24 hours in DynamoDB), and the events in the events table. In
  AWS an operator reads them with ``GetShardIterator(AT_SEQUENCE_NUMBER)`` and ``GetRecords`` and
  invokes the function with them; here ``POST /_dev/load/redrive`` (``load.stack``) does exactly
  that. ``NotifyPasswordChangedFunction`` guards each mail with an idempotency record, so only the
  mails still missing go out.
* A queue's dead letter is the original message: SQS moves it back to its source queue
  (``StartMessageMoveTask`` with the dead-letter queue as source); the queue's function then
  handles it as any other message. Not exercised here while the template has no such queue.
* An event for the CRM the bus kept refusing is parked as its ``PutEvents`` entry (in the queue
  that is also the publisher's on-failure destination): the redrive puts the entry on the bus as
  it is (``aws events put-events``), with its ``event_id``, so the CRM deduplicates it should it
  have arrived after all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from devstack.template import SamTemplate
from load.client import Stack
from load.invariants import dead_letter_queues


@dataclass
class Redriven:
    queue: str
    message_id: str
    function: str = ""
    records: int = 0
    ok: bool = False
    detail: str = ""


@dataclass
class RedriveOutcome:
    letters: list[Redriven] = field(default_factory=list)

    @property
    def all_ok(self) -> bool:
        return all(letter.ok for letter in self.letters)


def redrive_streams(stack: Stack, template: SamTemplate) -> RedriveOutcome:
    """Redrive every stream dead letter; a letter whose redrive succeeded is deleted."""
    outcome = RedriveOutcome()
    sqs = stack.aws("sqs")
    for logical_id, source in dead_letter_queues(template).items():
        if source != "stream":
            continue
        url = sqs.get_queue_url(QueueName=template.physical_name(logical_id))["QueueUrl"]
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
            "Messages"
        ):
            for message in batch:
                letter = Redriven(queue=logical_id, message_id=message["MessageId"])
                parked = _parked_entry(message["Body"])
                if parked is not None:
                    _put_again(stack, parked, letter)
                    if letter.ok:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    outcome.letters.append(letter)
                    continue
                answer = stack.request("POST", "/_dev/load/redrive", raw=message["Body"].encode("utf-8"))
                document: dict[str, Any] = answer.json() if answer.status == 200 else {}
                result = document.get("result")
                failures = result.get("batchItemFailures") if isinstance(result, dict) else None
                letter.function = str(document.get("function", ""))
                letter.records = int(document.get("records", 0))
                letter.ok = answer.status == 200 and not failures
                letter.detail = "" if letter.ok else (json.dumps(failures) if failures else answer.text[:200])
                if letter.ok:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                outcome.letters.append(letter)
    return outcome


def _parked_entry(body: str) -> dict[str, Any] | None:
    """The PutEvents entry of a parked event for the CRM, or None for any other message."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    entry = document.get("entry") if isinstance(document, dict) else None
    return entry if isinstance(entry, dict) and "DDBStreamBatchInfo" not in document else None


def _put_again(stack: Stack, entry: dict[str, Any], letter: Redriven) -> None:
    from datetime import datetime

    letter.function = "PutEvents"
    letter.records = 1
    answer = stack.aws("events").put_events(
        Entries=[{**entry, "Time": datetime.fromisoformat(entry["Time"])}]
    )
    letter.ok = not answer.get("FailedEntryCount")
    letter.detail = "" if letter.ok else json.dumps(answer.get("Entries"))[:200]
