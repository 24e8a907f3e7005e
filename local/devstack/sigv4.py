"""API Gateway's ``AWS_IAM`` authorization, played locally: SigV4 for ``execute-api``.

The local stack accepts exactly one key pair (``local/demo_data.json`` → ``provisioning``) and
checks a request as API Gateway does: an ``Authorization: AWS4-HMAC-SHA256 ...`` header whose
credential scope names that key, the configured region and ``execute-api``; an ``X-Amz-Date``
within five minutes of now; and a signature that botocore's own SigV4 signer computes again from
the method, path, query, the signed headers and the SHA-256 of the body as received. Like API
Gateway for ``execute-api``, the payload hash is always computed here: an ``X-Amz-Content-SHA256``
header (``UNSIGNED-PAYLOAD``, or a hash of some other body) is never taken for it, and one that does
not name this body's hash is refused. Anything else is refused with the
gateway response API Gateway would pick (``MISSING_AUTHENTICATION_TOKEN`` when nothing is signed,
``INVALID_SIGNATURE`` otherwise), which the template shapes into a ``403``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "execute-api"
# What a signer may claim as the payload's hash (botocore signs that claim instead of the body).
PAYLOAD_HASH_HEADER = "x-amz-content-sha256"
MAX_SKEW = timedelta(minutes=5)
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[A-Z0-9]{16,128})/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;._-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class KeyPair:
    access_key_id: str
    secret_access_key: str
    region: str
    # Who API Gateway would name as the caller of a request signed with this key.
    user_arn: str = "arn:aws:iam::123456789012:user/crm-provisioning"


@dataclass(frozen=True)
class Refusal:
    response_type: str  # the gateway response API Gateway would send
    reason: str  # for the local stack's log only


def verify(
    key: KeyPair,
    *,
    method: str,
    host: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    now: datetime | None = None,
) -> Refusal | None:
    """``None`` when the request is signed with ``key`` as API Gateway requires; else why not."""
    by_name: dict[str, str] = {}
    for name, value in headers:
        by_name.setdefault(name.lower(), value)
    authorization = by_name.get("authorization", "")
    if not authorization:
        return Refusal("MISSING_AUTHENTICATION_TOKEN", "not signed")
    found = _AUTHORIZATION.fullmatch(authorization.strip())
    if found is None:
        return Refusal("INVALID_SIGNATURE", "malformed Authorization header")
    if not hmac.compare_digest(found["key"], key.access_key_id):
        return Refusal("INVALID_SIGNATURE", "unknown access key")
    if found["region"] != key.region or found["service"] != SERVICE:
        return Refusal("INVALID_SIGNATURE", "credential scope is not this API's")
    try:
        signed_at = datetime.strptime(by_name.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return Refusal("INVALID_SIGNATURE", "no or malformed X-Amz-Date")
    if abs((now or datetime.now(UTC)) - signed_at) > MAX_SKEW:
        return Refusal("INVALID_SIGNATURE", "signature expired or not yet valid (clock skew over 5 minutes)")
    if found["date"] != signed_at.strftime("%Y%m%d"):
        return Refusal("INVALID_SIGNATURE", "credential date is not the request's date")
    signed = found["headers"].split(";")
    if "host" not in signed or any(name not in by_name for name in signed):
        return Refusal("INVALID_SIGNATURE", "a signed header is missing")
    # botocore's canonical request takes this header's value as the payload's hash when present:
    # only the body's own hash may stand there (execute-api has no unsigned payloads).
    claimed = by_name.get(PAYLOAD_HASH_HEADER)
    actual = hashlib.sha256(body).hexdigest().encode("ascii")
    if claimed is not None and not hmac.compare_digest(claimed.strip().encode("utf-8", "replace"), actual):
        return Refusal("INVALID_SIGNATURE", "X-Amz-Content-SHA256 is not the hash of the body received")
    expected = _signature(key, method, host, path, query, {n: by_name[n] for n in signed}, body, signed_at)
    if not hmac.compare_digest(expected, found["signature"]):
        return Refusal("INVALID_SIGNATURE", "signature does not match")
    return None


def _signature(
    key: KeyPair,
    method: str,
    host: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    signed_at: datetime,
) -> str:
    """The signature botocore's signer gives this request, at the time it claims."""
    # The path as the client signed it: botocore quotes it when it builds the canonical request,
    # on both sides alike.
    url = f"https://{host}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method.upper(), url=url, headers=headers, data=body)
    request.context["timestamp"] = signed_at.strftime("%Y%m%dT%H%M%SZ")
    signer = SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), SERVICE, key.region)
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))
