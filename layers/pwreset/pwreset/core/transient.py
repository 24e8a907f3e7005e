"""Which AWS failures mean "try again shortly": throttling, a service's own 5xx, a transaction that
met another one, a connection that failed. They reach a handler only after botocore's retries,
and the caller is then told 503 with ``Retry-After`` (``pwreset.api.resolver``), never a 500 and
never an answer that claims something happened (a used link, an ended session) when it did not.

A condition that failed (``ConditionalCheckFailed``) is never transient: it is a fact about the
data, and the code that wrote the condition says what it means.
"""

from __future__ import annotations

from typing import Any

# Error codes AWS documents as retryable for the services we call (DynamoDB, SES v2, SQS).
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
        "RequestTimeout",
        "RequestTimeoutException",
        "KMSThrottlingException",
    }
)
# Reasons in a cancelled transaction that mean another writer or throttling, not our condition.
TRANSIENT_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
# botocore's own: the request did not get an answer.
_CONNECTION_ERRORS = (
    "EndpointConnectionError",
    "ConnectionClosedError",
    "ReadTimeoutError",
    "ConnectTimeoutError",
)


def cancellation_codes(exc: BaseException) -> list[str]:
    """The reason codes of a cancelled DynamoDB transaction (pynamodb's TransactWriteError), in
    item order; an item without a reason is ``""``."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [(getattr(reason, "code", None) or "") if reason is not None else "" for reason in reasons]


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        cause: Any = getattr(current, "cause", None)  # pynamodb keeps botocore's error here
        current = cause if isinstance(cause, BaseException) else current.__cause__
    return chain


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) is an AWS failure worth retrying as it is."""
    for error in _causes(exc):
        codes = cancellation_codes(error)
        if codes:
            if "ConditionalCheckFailed" in codes:
                return False
            if any(code in TRANSIENT_REASONS for code in codes):
                return True
        if type(error).__name__ in _CONNECTION_ERRORS:
            return True
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            code = str((response.get("Error") or {}).get("Code") or "")
            if code == "ConditionalCheckFailedException":
                return False
            status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
            if code in TRANSIENT_CODES or status >= 500:
                return True
    return False
