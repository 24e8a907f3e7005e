"""Events table stream -> the owner and holder mails after a password change or a lock.

The template's filter passes only inserted ``password_changed`` and ``account_locked`` items.
Each record is one unit of work: a failed one is reported in ``batchItemFailures``, so Lambda
retries from it (bisecting, up to ``MaximumRetryAttempts``) and then hands it to the dead-letter
queue. Sending is idempotent per mail (see ``pwreset.credentials.notifications``), so retries never
mail twice.
"""

from pwreset.api import warm_up
from pwreset.api.stream_batch import DynamoDBRecord, DynamoDBRecordEventName, EventType, batch_handler
from pwreset.core.observability import log_keys, logger
from pwreset.credentials import notifications
from pwreset.storage.events import NOTIFIABLE_TYPES, notifiable


def record_handler(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else {}
    # The template's filter already does this; a record let through anyway is not ours to mail.
    if record.event_name is not DynamoDBRecordEventName.INSERT or image.get("type") not in NOTIFIABLE_TYPES:
        logger.info("record skipped", extra={"event_name": str(record.event_name), "type": image.get("type")})
        return
    with log_keys(event_id=image.get("event_id")):
        try:
            notifications.notify(notifiable().validate_python(image))
        except Exception:
            logger.exception("notification failed, the record will be retried")
            raise


lambda_handler = batch_handler(
    EventType.DynamoDBStreams, record_handler, on_invocation=notifications.register_lambda_context
)


# SnapStart (pwreset.runtime.snapstart): prepared once, before the snapshot, instead of by a first request.
warm_up.before_snapshot(
    services=("dynamodb", "sesv2"),
    mails=(
        "password_changed_owner",
        "password_changed_holder",
        "account_locked_owner",
        "account_locked_holder",
    ),
    locations=True,
    user_agents=True,
    prepare=(notifications.prepare,),
)
