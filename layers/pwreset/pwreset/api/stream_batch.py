"""powertools' batch utility and the record classes of the stream (notification function) and of the
self-service queue (self-service function), imported
after ``pwreset`` deferred the ``batch`` and ``data_classes`` package initialisers (see
``pwreset.api.powertools``): the batch module itself still brings asyncio (its async processor)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch.base import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.decorators import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

__all__ = [
    "BatchProcessor",
    "DynamoDBRecord",
    "DynamoDBRecordEventName",
    "EventType",
    "PartialItemFailureResponse",
    "SQSRecord",
    "process_partial_response",
]
