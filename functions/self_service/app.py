"""SelfServiceQueue -> self-service links: the queue the POST /v1/password-resets handler fills.

Each message is one request. A failed one is reported in ``batchItemFailures`` and comes back after
the queue's visibility timeout; after five receives SQS moves it to the dead-letter queue (with an
alarm). Sending is idempotent per request (see ``pwreset.credentials.resets``), so a redelivered
message never mails twice. A message that is not a request at all is logged and dropped: retrying
cannot mend it.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from pwreset.api import warm_up
from pwreset.api.stream_batch import (
    BatchProcessor,
    EventType,
    PartialItemFailureResponse,
    SQSRecord,
    process_partial_response,
)
from pwreset.core import aws
from pwreset.core.observability import logger, metrics, tracer
from pwreset.credentials import resets
from pwreset.runtime import snapstart

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    try:
        request = resets.SelfServiceRequest.model_validate_json(record.body)
    except ValidationError:
        logger.error("not a self-service request, dropped", extra={"message_id": record.message_id})
        metrics.add_metric(name="SelfServiceMessageDropped", unit="Count", value=1)
        return
    logger.append_keys(self_service_request=request.request_id)
    try:
        outcome = resets.send_self_service_link(request)
        logger.info("self-service request handled", extra={"outcome": outcome})
    finally:
        logger.remove_keys(["self_service_request"])


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    resets.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


# SnapStart (pwreset.runtime.snapstart; off for this function in template.yaml, as it is off the user's
# path): what a first message would otherwise pay, prepared before a snapshot where one is taken.
snapstart.before_snapshot(aws.warm_up, "dynamodb")
snapstart.before_snapshot(aws.warm_up, "sesv2")
snapstart.before_snapshot(warm_up.mail_templates, "reset_link")
