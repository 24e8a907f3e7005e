"""SelfServiceQueue -> self-service links: the queue the POST /v1/password-resets handler fills.

Each message is one request. A failed one is reported in ``batchItemFailures`` and comes back after
the queue's visibility timeout; after five receives SQS moves it to the dead-letter queue (with an
alarm). Sending is idempotent per request (see ``pwreset.credentials.resets``), so a redelivered
message never mails twice. A message that is not a request at all is logged and dropped: retrying
cannot mend it.
"""

from pydantic import ValidationError

from pwreset.api import warm_up
from pwreset.api.stream_batch import EventType, SQSRecord, batch_handler
from pwreset.core.observability import log_keys, logger, metrics
from pwreset.credentials import resets


def record_handler(record: SQSRecord) -> None:
    try:
        request = resets.SelfServiceRequest.model_validate_json(record.body)
    except ValidationError:
        logger.error("not a self-service request, dropped", extra={"message_id": record.message_id})
        metrics.add_metric(name="SelfServiceMessageDropped", unit="Count", value=1)
        return
    with log_keys(self_service_request=request.request_id):
        outcome = resets.send_self_service_link(request)
        logger.info("self-service request handled", extra={"outcome": outcome})


lambda_handler = batch_handler(EventType.SQS, record_handler, on_invocation=resets.register_lambda_context)


# SnapStart (pwreset.runtime.snapstart; off for this function in template.yaml, as it is off the user's
# path): what a first message would otherwise pay, prepared before a snapshot where one is taken.
warm_up.before_snapshot(services=("dynamodb", "sesv2"), mails=("reset_link",))
