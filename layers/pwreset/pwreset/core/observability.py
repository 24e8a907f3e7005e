"""The one place that holds the service's logger, tracer and metrics (powertools idiom).

Log fields are structured; e-mail addresses go through :func:`mask_email` before they reach a log
line, and raw tokens and passwords never do.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="password-reset")
# Only botocore is patched: every AWS call (pynamodb's too) goes through it, so each gets one
# subsegment. The default, patching every library X-Ray knows, imports each one it finds, and its
# pynamodb patch wraps botocore's HTTP send, which gave every DynamoDB call a second subsegment.
# Handlers record no responses on their segments (``capture_response=False``): sign-in and confirm
# answer with a session token.
tracer = Tracer(service="password-reset", patch_modules=("botocore",))
metrics = Metrics(namespace="PortalPasswordReset", service="password-reset")


def mask_email(address: str | None) -> str:
    """``anna.schmidt@example.com`` -> ``a***@example.com``: enough to tell cases apart, no more."""
    if not address:
        return ""
    local, sep, domain = address.partition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain}"
