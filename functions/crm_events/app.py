"""Events table stream -> the events for the CRM on its EventBridge bus (``pwreset.crm``).

The template's filter passes only inserted ``password_changed``, ``account_locked`` and
``email_undeliverable`` items and ``account_provisioned`` items that changed an address. The batch's
events are put together (ten per ``PutEvents``); what the bus refuses is retried entry by entry and
then parked in the dead-letter queue (see ``pwreset.crm.publisher``). Only a record whose event
reached neither is reported in ``batchItemFailures``: Lambda retries from it and, after
``MaximumRetryAttempts``, sends the batch's position to the same queue.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pwreset.api import warm_up
from pwreset.api.stream_batch import (
    BatchProcessor,
    DynamoDBRecord,
    DynamoDBRecordEventName,
    EventType,
    PartialItemFailureResponse,
    process_partial_response,
)
from pwreset.core.observability import logger, observed_handler
from pwreset.crm import publisher

# Not stream_batch.batch_handler: the batch's events are put together before the records are
# told apart, so the records' outcome comes from the publisher, not from one handler per record.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


class EventNotPublished(Exception):
    """The record's event reached neither the bus nor the dead-letter queue."""


def inserted_images(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each inserted item's ``NewImage``, by the record's sequence number. The template's filter
    passes nothing else; a record let through anyway is not ours to publish."""
    images: dict[str, dict[str, Any]] = {}
    for raw in event.get("Records") or []:
        record = DynamoDBRecord(raw)
        if record.dynamodb is None or record.event_name is not DynamoDBRecordEventName.INSERT:
            continue
        images[str(record.dynamodb.sequence_number)] = dict(record.dynamodb.new_image)
    return images


@observed_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    outcome = publisher.publish_images(inserted_images(event))
    logger.info(
        "events for the CRM",
        extra={
            "published": outcome.published,
            "retried": outcome.retried,
            "dead_lettered": len(outcome.dead_lettered),
            "failed": len(outcome.failed),
            "skipped": outcome.skipped,
        },
    )

    def record_handler(record: DynamoDBRecord) -> None:
        reason = outcome.failed.get(str(record.dynamodb.sequence_number if record.dynamodb else ""))
        if reason:
            raise EventNotPublished(reason)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


# SnapStart (pwreset.runtime.snapstart; off for this function in template.yaml, as it is off the
# user's path): what a first batch would otherwise pay, prepared before a snapshot where one is taken.
warm_up.before_snapshot(services=("events", "sqs"), user_agents=True)
