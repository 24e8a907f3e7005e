"""The one place that holds the service's logger, tracer and metrics (powertools idiom).

Log fields are structured; e-mail addresses go through :func:`mask_email` before they reach a log
line, and raw tokens and passwords never do.
"""

from __future__ import annotations

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

from pwreset.runtime.tracing import Tracer

logger = Logger(service="password-reset")
# No X-Ray SDK (end of support 25 Feb 2027): Lambda's active tracing plus one subsegment per AWS
# call from botocore's own events (pwreset.runtime.tracing). Every AWS call (pynamodb's too) goes
# through the one botocore session, so each is recorded once. No handler's response reaches a
# trace: sign-in and confirm answer with a session token.
tracer = Tracer(service="password-reset")
metrics = Metrics(namespace="PortalPasswordReset", service="password-reset")


def mask_email(address: str | None) -> str:
    """``anna.schmidt@example.com`` -> ``a***@example.com``: enough to tell cases apart, no more."""
    if not address:
        return ""
    local, sep, domain = address.partition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain}"
