"""Puts the events for the CRM on the bus: in batches, retrying what the bus refused, parking what
it kept refusing.

``PutEvents`` takes at most 10 entries and may accept some and refuse others (``FailedEntryCount``,
an ``ErrorCode`` per refused entry); botocore retries only a call that failed as a whole. So the
refused entries, and those of a call that failed after botocore's retries, are put again on their
own, with exponential back-off and jitter, :data:`ATTEMPTS` times in all. What the bus still refuses
goes to the dead-letter queue, one message per event holding its entry as it was put (a redrive is a
``PutEvents`` of it, see ``docs/events.md``), and the stream moves on: one event the bus keeps
refusing does not hold up every event behind it, and the queue keeps it 14 days where the stream
keeps a record only 24 hours. Only an event that reached neither the bus nor the queue is reported
back (:attr:`Outcome.failed`), so the stream retries its record and, after Lambda's retries, sends
the batch's position to the same queue.

Delivery is at least once: a record the stream delivers again is put again, with the same
``event_id`` (the audit event's id), on which the CRM deduplicates.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from pwreset.core import aws
from pwreset.core.config import settings
from pwreset.core.observability import logger, metrics
from pwreset.core.times import iso
from pwreset.crm.accounts import accounts_of_changed_login
from pwreset.crm.events import CrmEvent, from_stream_image

MAX_ENTRIES = 10  # PutEvents' limit per call
ATTEMPTS = 4  # the first put and three more of what was refused
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 3.0
MAX_ERROR_MESSAGE = 300


def _sleep(seconds: float) -> None:
    """The back-off's wait (a seam: tests count the waits instead of sleeping)."""
    time.sleep(seconds)


def backoff(attempt: int) -> float:
    """Seconds before put number ``attempt + 1`` (``attempt`` from 1): "full jitter", so refused
    entries of concurrent invocations do not come back at the same moment."""
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1)))  # noqa: S311 - not security


@dataclass
class _Refused:
    key: str
    event: CrmEvent
    code: str
    message: str


@dataclass
class Outcome:
    """What became of one batch's events."""

    published: int = 0
    retried: int = 0  # puts after the first, entry by entry
    dead_lettered: list[str] = field(default_factory=list)  # event ids parked in the queue
    # Records whose event reached neither the bus nor the queue (or could not be read), by key,
    # with why: the stream must deliver them again.
    failed: dict[str, str] = field(default_factory=dict)
    skipped: int = 0  # items the CRM does not hear of


def publish_images(images: Mapping[str, Mapping[str, Any]]) -> Outcome:
    """Publish the events of a stream batch's inserted items (``NewImage``), keyed by anything
    that names the record (its sequence number)."""
    outcome = Outcome()
    events: dict[str, CrmEvent] = {}
    for key, image in images.items():
        try:
            event = from_stream_image(image, accounts_of_changed_login)
        except ValidationError as exc:
            # Our own writes are malformed: a bug. The record goes the stream's way (retries, then
            # its position to the dead-letter queue), not silently nowhere.
            logger.error(
                "audit event not readable",
                extra={
                    "event_id": image.get("event_id"),
                    "type": image.get("type"),
                    "errors": exc.error_count(),
                },
            )
            outcome.failed[key] = "unreadable audit event"
            continue
        if event is None:
            outcome.skipped += 1
            continue
        events[key] = event
    publish(events, outcome)
    return outcome


def publish(events: Mapping[str, CrmEvent], outcome: Outcome | None = None) -> Outcome:
    """Put ``events`` on the bus (see the module's docstring); keys name their records."""
    outcome = outcome or Outcome()
    bus = settings().crm_event_bus_name
    pending = list(events.items())
    refused: list[_Refused] = []
    for attempt in range(1, ATTEMPTS + 1):
        if attempt > 1:
            _sleep(backoff(attempt - 1))
            outcome.retried += len(pending)
            metrics.add_metric(name="CrmEventRetried", unit="Count", value=len(pending))
        refused = []
        for start in range(0, len(pending), MAX_ENTRIES):
            refused += _put(bus, pending[start : start + MAX_ENTRIES])
        outcome.published += len(pending) - len(refused)
        if not refused:
            break
        pending = [(r.key, r.event) for r in refused]
        logger.warning(
            "events refused by the bus",
            extra={
                "attempt": attempt,
                "refused": [{"event_id": r.event.event_id, "code": r.code} for r in refused],
            },
        )
    if outcome.published:
        metrics.add_metric(name="CrmEventPublished", unit="Count", value=outcome.published)
    for left in refused:
        _dead_letter(bus, left, outcome)
    return outcome


def _put(bus: str, batch: list[tuple[str, CrmEvent]]) -> list[_Refused]:
    """One ``PutEvents`` call; the entries it refused (all of them when the call failed)."""
    # deferred: botocore's exceptions, once per call, not at cold start
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = aws.client("events").put_events(Entries=[event.entry(bus) for _, event in batch])
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code") or "ClientError"), str(error.get("Message") or "")
        return [_Refused(key, event, code, message) for key, event in batch]
    except BotoCoreError as exc:  # no answer at all (connection, timeout): as good as refused
        return [_Refused(key, event, type(exc).__name__, "") for key, event in batch]
    if not answer.get("FailedEntryCount"):
        return []
    # Entries answer in the order they were sent; a refused one has an ErrorCode, no EventId.
    return [
        _Refused(key, event, str(result.get("ErrorCode")), str(result.get("ErrorMessage") or ""))
        for (key, event), result in zip(batch, answer.get("Entries", []), strict=True)
        if result.get("ErrorCode")
    ]


def dead_letter_body(bus: str, refused: _Refused, attempts: int = ATTEMPTS) -> str:
    """What the queue keeps of an event the bus kept refusing: its entry as it was put (``Time``
    as ISO-8601, as ``aws events put-events --entries`` takes it) and the bus's last answer."""
    entry = {**refused.event.entry(bus), "Time": iso(refused.event.occurred_at)}
    return json.dumps(
        {
            "event_id": refused.event.event_id,
            "detail_type": refused.event.detail_type,
            "error_code": refused.code,
            "error_message": refused.message[:MAX_ERROR_MESSAGE],
            "attempts": attempts,
            "entry": entry,
        },
        ensure_ascii=False,
    )


def _dead_letter(bus: str, refused: _Refused, outcome: Outcome) -> None:
    try:
        aws.client("sqs").send_message(
            QueueUrl=settings().crm_events_dead_letter_queue_url, MessageBody=dead_letter_body(bus, refused)
        )
    except Exception as exc:  # the queue too: the stream keeps the record and tries again
        logger.error(
            "event neither published nor parked",
            extra={"event_id": refused.event.event_id, "code": refused.code, "error": type(exc).__name__},
        )
        outcome.failed[refused.key] = f"refused ({refused.code}) and not parked ({type(exc).__name__})"
        return
    outcome.dead_lettered.append(refused.event.event_id)
    metrics.add_metric(name="CrmEventDeadLettered", unit="Count", value=1)
    logger.error(
        "event parked in the dead-letter queue",
        extra={
            "event_id": refused.event.event_id,
            "detail_type": refused.event.detail_type,
            "code": refused.code,
        },
    )
