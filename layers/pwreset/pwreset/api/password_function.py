"""What the functions that set passwords (confirm_reset, sessions) share: the resolver with the
password settings read at cold start, and the same warm-ups before the SnapStart snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pwreset.api import resolver, warm_up
from pwreset.core.config import password_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver


def create_app() -> APIGatewayRestResolver:
    """The resolver (``pwreset.api.resolver.create_app``). The function's own settings (the
    breached-password check) are read here, at cold start, where a missing variable fails the
    start, not the first new password."""
    app = resolver.create_app()
    password_settings()
    return app


def before_snapshot(app: APIGatewayRestResolver) -> None:
    """Register the warm-ups (``pwreset.api.warm_up.before_snapshot``): DynamoDB, argon2 (the
    hashing defers it), the origin check and the password checks, then the routes of ``app``."""
    warm_up.before_snapshot(
        app,
        services=("dynamodb",),
        # A request through CloudFront checks the origin secret (powertools' parameters, boto3).
        # The breached-password check (its client) is imported by the first new password.
        modules=("argon2", "argon2.exceptions", "pwreset.api.origin_verify", "pwreset.credentials.breached"),
        passwords=True,
    )
