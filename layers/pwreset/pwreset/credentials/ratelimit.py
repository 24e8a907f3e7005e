"""Fixed-window rate limits on DynamoDB atomic counters that expire by TTL.

One ``UpdateItem ... ADD hits :1`` per check: atomic across concurrent Lambdas, no read-modify-write
race, and the counter item deletes itself (TTL) after its window. Subjects (addresses, IPs) are
stored as SHA-256 digests so the table holds no personal data in clear.

Limits come from configuration (``RATE_LIMITS``, the template's ``RateLimits`` parameter, where
each rule's default and reason are given); a limit of 0 switches a rule off.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from pwreset.core.aws import dynamodb_client
from pwreset.core.config import settings
from pwreset.core.observability import logger, metrics


@dataclass(frozen=True)
class Rule:
    name: str  # e.g. "self_service_email"
    limit: int  # allowed hits per window; 0 = off
    window_seconds: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    hits: int
    retry_after: int  # seconds until the window ends (0 when allowed)
    key: str = ""  # the counter the hit went to ("" when nothing was counted)


def parse_rules(spec: str) -> dict[str, Rule]:
    """``"self_service_email=3/900,self_service_ip=20/3600"`` -> rules by name. Malformed entries
    are skipped with a warning rather than taking the service down."""
    rules: dict[str, Rule] = {}
    for entry in spec.split(","):
        name, _, value = entry.strip().partition("=")
        limit, _, window = value.partition("/")
        try:
            rules[name] = Rule(name=name, limit=int(limit), window_seconds=max(1, int(window)))
        except ValueError:
            if entry.strip():
                logger.warning("ignoring malformed rate-limit rule", extra={"rule": entry.strip()[:80]})
    return rules


@cache
def rules() -> dict[str, Rule]:
    return parse_rules(settings().rate_limits)


class RateLimiter:
    def __init__(self, client: Any = None, table: str | None = None) -> None:
        self._client = client
        self._table = table

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = dynamodb_client()
        return self._client

    @property
    def table(self) -> str:
        return self._table or settings().rate_limits_table

    def hit(self, rule_name: str, subject: str) -> Decision:
        """Count one hit and say whether it is within the limit."""
        rule = rules().get(rule_name)
        if rule is None or rule.limit <= 0 or not subject:
            return Decision(allowed=True, hits=0, retry_after=0)
        now = self._now()
        window_start = int(now // rule.window_seconds) * rule.window_seconds
        window_end = window_start + rule.window_seconds
        key = self._key(rule, subject, window_start)
        response = self.client.update_item(
            TableName=self.table,
            Key={"counter_id": {"S": key}},
            UpdateExpression="ADD hits :one SET #ttl = if_not_exists(#ttl, :ttl)",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":ttl": {"N": str(window_end + 60)}},
            ReturnValues="UPDATED_NEW",
        )
        hits = int(response["Attributes"]["hits"]["N"])
        if hits <= rule.limit:
            return Decision(allowed=True, hits=hits, retry_after=0, key=key)
        metrics.add_metric(name="RateLimited", unit="Count", value=1)
        logger.info("rate limited", extra={"rule": rule.name, "hits": hits})
        return Decision(allowed=False, hits=hits, retry_after=max(1, int(window_end - now + 0.999)), key=key)

    def refund(self, decision: Decision) -> None:
        """Take back a counted hit (a sign-in that succeeded: only failures count). The refund
        goes to the window the hit was counted in, whatever the time is now."""
        if not decision.key:
            return
        self.client.update_item(
            TableName=self.table,
            Key={"counter_id": {"S": decision.key}},
            UpdateExpression="ADD hits :minus_one",
            ExpressionAttributeValues={":minus_one": {"N": "-1"}},
        )

    @staticmethod
    def _key(rule: Rule, subject: str, window_start: int) -> str:
        digest = hashlib.sha256(f"{rule.name}\x00{subject.lower()}".encode()).hexdigest()[:40]
        return f"{rule.name}#{digest}#{window_start}"

    def _now(self) -> float:
        """Seam for tests."""
        return time.time()


def client_network(ip: str) -> str:
    """The client a per-IP limit counts: an IPv4 address, or an IPv6 address's /64 (one
    subscriber's network; hopping addresses inside it must not buy more attempts)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@cache
def limiter() -> RateLimiter:
    return RateLimiter()
