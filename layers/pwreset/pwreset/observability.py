"""The one place that holds the service's logger, tracer and metrics (powertools idiom).

Log fields are structured; e-mail addresses go through :func:`mask_email` before they reach a log
line, and raw tokens and passwords never do.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="password-reset")
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
