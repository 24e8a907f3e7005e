"""powertools' batch utility and the record classes of the stream (notification function) and of the
self-service queue (self-service function), imported
after ``pwreset`` deferred the ``batch`` and ``data_classes`` package initialisers (see
``pwreset.api.powertools``): the batch module itself still brings asyncio (its async processor)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch.base import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.decorators import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from pwreset.core.observability import observed_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = [
    "BatchProcessor",
    "DynamoDBRecord",
    "DynamoDBRecordEventName",
    "EventType",
    "PartialItemFailureResponse",
    "SQSRecord",
    "batch_handler",
    "process_partial_response",
]


def batch_handler(
    event_type: EventType,
    record_handler: Callable[[Any], None],
    *,
    on_invocation: Callable[[LambdaContext], None],
) -> Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]:
    """A batch function's entry point, observed as every function is: each record of the event
    through ``record_handler``, the failed ones reported in ``batchItemFailures`` (Lambda retries
    from them); ``on_invocation`` sees the invocation's context first (the idempotency guard
    learns when the invocation would time out).

    A batch whose every record failed is reported item by item too (not raised), so Lambda always
    checkpoints at the first failed record; bisecting is left for real crashes (timeouts, bugs)."""
    processor = BatchProcessor(event_type=event_type, raise_on_entire_batch_failure=False)

    @observed_handler
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        on_invocation(context)
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return lambda_handler
