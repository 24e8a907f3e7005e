"""Whether a request came through the stack's own CloudFront: it carries the origin-verification
header CloudFront adds (``X-Origin-Verify``) with the secret's value.

The value lives in Secrets Manager (the stack's ``OriginVerifySecret``, or the secret
``OriginVerifySecretName`` names) and is read at run time with powertools' parameters utility,
cached for :data:`MAX_AGE_S`. The current and the previous version are both accepted, so a
rotation needs no redeploy of the functions: CloudFront sends the old value (now ``AWSPREVIOUS``)
until the stack is deployed with the new version's id, and the new one (``AWSCURRENT``) from then
on (docs/deploy.md, "Rotating the origin secret").

Only a request that carries the header asks for the secret, and the previous version only when
the current one does not match. A version that cannot be read believes nobody (the client is then
API Gateway's ``sourceIp``, as without CloudFront) and is not asked for again for a while, so a
flood of forged headers costs no calls.
"""

from __future__ import annotations

import hmac
import threading
import time
from functools import cache

from aws_lambda_powertools.utilities.parameters import GetParameterError, SecretsProvider

from pwreset.core import aws
from pwreset.core.config import settings
from pwreset.core.observability import logger

# How long a read value is used before Secrets Manager is asked again (a rotation's wait).
MAX_AGE_S = 300
# How long a version that could not be read is not asked for: a new secret has no previous
# version for good, an unreadable one (throttled, denied) may be readable soon.
ABSENT_FOR_S = MAX_AGE_S
UNREADABLE_FOR_S = 10
CURRENT, PREVIOUS = "AWSCURRENT", "AWSPREVIOUS"


class OriginSecret:
    def __init__(self, secret_id: str) -> None:
        self.secret_id = secret_id
        client = aws.client("secretsmanager")
        # One provider per version: powertools keys its cache by the secret's name alone, not by
        # the version asked for.
        self._providers = {stage: SecretsProvider(boto3_client=client) for stage in (CURRENT, PREVIOUS)}
        self._unreadable_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def matches(self, presented: str) -> bool:
        """Whether ``presented`` is the secret's current or previous value (constant time)."""
        wanted = presented.encode("utf-8", "replace")
        for stage in (CURRENT, PREVIOUS):
            value = self._value(stage)
            if value is not None and hmac.compare_digest(wanted, value.encode("utf-8")):
                return True
        return False

    def _value(self, stage: str) -> str | None:
        with self._lock:
            if time.monotonic() < self._unreadable_until.get(stage, 0.0):
                return None
            try:
                value = self._providers[stage].get(self.secret_id, max_age=MAX_AGE_S, VersionStage=stage)
            except GetParameterError as error:
                absent = stage == PREVIOUS and "ResourceNotFoundException" in str(error)
                pause = ABSENT_FOR_S if absent else UNREADABLE_FOR_S
                self._unreadable_until[stage] = time.monotonic() + pause
                if not absent:  # the message names the secret and the error, never a value
                    extra = {"version_stage": stage, "error": str(error)}
                    logger.warning("origin secret unreadable", extra=extra)
                return None
        return value if isinstance(value, str) and value else None


@cache
def origin_secret(secret_id: str) -> OriginSecret:
    """One reader (and cache) per execution environment."""
    return OriginSecret(secret_id)


def from_own_cloudfront(presented: str | None) -> bool:
    """Whether the request came through the stack's CloudFront (``presented``: its
    ``X-Origin-Verify`` header)."""
    secret_id = settings().origin_verify_secret_id
    if not secret_id or not presented:
        return False
    return origin_secret(secret_id).matches(presented)
