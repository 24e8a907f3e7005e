"""Events table stream -> the owner and holder mails after a password change or a lock.

The template's filter passes only inserted ``password_changed`` and ``account_locked`` items.
Each record is one unit of work: a failed one is reported in ``batchItemFailures``, so Lambda
retries from it (bisecting, up to ``MaximumRetryAttempts``) and then hands it to the dead-letter
queue. Sending is idempotent per mail (see ``pwreset.credentials.notifications``), so retries never
mail twice.
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
from pwreset.core import aws
from pwreset.core.observability import logger, metrics, tracer
from pwreset.credentials import notifications
from pwreset.runtime import snapstart
from pwreset.storage.events import NOTIFIABLE_TYPES, notifiable

# A batch whose every record failed is reported item by item too (not raised), so Lambda always
# checkpoints at the first failed record; bisecting is left for real crashes (timeouts, bugs).
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def record_handler(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else {}
    # The template's filter already does this; a record let through anyway is not ours to mail.
    if record.event_name is not DynamoDBRecordEventName.INSERT or image.get("type") not in NOTIFIABLE_TYPES:
        logger.info("record skipped", extra={"event_name": str(record.event_name), "type": image.get("type")})
        return
    logger.append_keys(event_id=image.get("event_id"))
    try:
        notifications.notify(notifiable().validate_python(image))
    except Exception:
        logger.exception("notification failed, the record will be retried")
        raise
    finally:
        logger.remove_keys(["event_id"])


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    notifications.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


# SnapStart (pwreset.runtime.snapstart): prepared once, before the snapshot, instead of by a first request.
snapstart.before_snapshot(aws.warm_up, "dynamodb")
snapstart.before_snapshot(aws.warm_up, "sesv2")
snapstart.before_snapshot(warm_up.mail_templates, "password_changed_owner", "password_changed_holder")
snapstart.before_snapshot(warm_up.user_agent_rules)
