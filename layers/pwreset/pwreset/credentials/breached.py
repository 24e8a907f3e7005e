"""Passwords seen in known breaches are refused (NIST SP 800-63B-4 asks that a new password be
compared against passwords from previous breaches), by a k-anonymity range API: Have I Been Pwned's
Pwned Passwords unless ``BreachedPasswordRangeUrl`` names another (empty: no check).

Only the first 5 hex characters of the password's SHA-1 leave the service:
``GET {url}/range/{PREFIX}`` with ``Add-Padding: true``. The API answers with every hash suffix it
knows under that prefix, one ``SUFFIX:COUNT`` line each (hundreds per prefix), padded with made-up
suffixes of count 0 so that the answer's size does not tell the prefix either. Here:

* every line is compared with our suffix in constant time (``hmac.compare_digest``), all of them,
  with no early exit and no branch on the result;
* padding (count 0) is never a hit;
* one pooled connection per execution environment, kept across invocations: the TLS handshake is
  paid once, not per new password. The pool is made on the first check, so under SnapStart it is
  made after the restore, never copied from a snapshot;
* 1 s in all, connect and read (DNS resolution is the one wait no socket timeout bounds): an API
  that is slow, unreachable or answers anything but a range never refuses a password or fails a
  request. The check is skipped, the password is judged by the other rules alone, and the skip is
  counted (metric ``BreachedCheckSkipped``, the reason as its metadata) and logged with the reason
  and the duration, never with the password, its hash or its prefix;
* it runs after the local rules pass (:func:`pwreset.credentials.changes.acceptable_password`),
  so a password they refuse costs no request.

:class:`RangeCheck` is built like Django's token classes: :meth:`RangeCheck.times_seen` never
raises, and :meth:`RangeCheck._fetch` is the seam tests replace.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from functools import cache
from typing import Any
from urllib.parse import urlsplit

# In the layer with botocore, which the functions that set passwords have imported already for
# DynamoDB; and this module is imported only where a new password is checked.
import urllib3

from pwreset.core.config import password_settings
from pwreset.core.observability import logger, metrics
from pwreset.credentials.policy import Violation

__all__ = ["PREFIX_LENGTH", "TIMEOUT_SECONDS", "CheckSkipped", "RangeCheck", "range_check", "violations"]

PREFIX_LENGTH = 5
TIMEOUT_SECONDS = 1.0
# A padded answer is 800-1,000 lines of about 40 bytes; one far larger is not a range.
MAX_ANSWER_BYTES = 512 * 1024
_READ_CHUNK = 16 * 1024
# ``SUFFIX:COUNT``: the 35 hex characters of the SHA-1 after the prefix, and how often it was seen.
_LINE = re.compile(r"([0-9A-Fa-f]{35}):([0-9]{1,12})")
# No Accept-Encoding: a padded answer is some 35 kB either way, and a plain one is read as it
# arrives, one socket read at a time, each within the time left (see ``_read_before``).
_HEADERS = {
    "Add-Padding": "true",
    "User-Agent": "portal-password-reset (breached-password check)",
}

# Why a check was skipped: the metric's metadata and the log line say which.
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
BAD_STATUS = "bad_status"
MALFORMED = "malformed_answer"
FAILED = "failed"


class CheckSkipped(Exception):
    """The range API gave no usable answer; ``reason`` says how (one of the reasons above)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _sha1(password: str) -> str:
    # "surrogatepass": a lone surrogate (valid JSON) gets a hash instead of an exception; no breach
    # list holds one.
    data = password.encode("utf-8", "surrogatepass")
    return hashlib.sha1(data, usedforsecurity=False).hexdigest().upper()


def times_in_range(answer: str, suffix: str) -> int:
    """How often ``suffix`` was seen, read from a range answer. Every line is parsed and compared,
    whatever matched before; a padding line (count 0) adds nothing. Raises :class:`CheckSkipped`
    when the answer is not a range (no lines, or a line that is not ``SUFFIX:COUNT``)."""
    wanted = suffix.upper().encode("ascii")
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    if not lines:
        raise CheckSkipped(MALFORMED)
    seen = 0
    for line in lines:
        found = _LINE.fullmatch(line)
        if found is None:
            raise CheckSkipped(MALFORMED)
        same = hmac.compare_digest(found.group(1).upper().encode("ascii"), wanted)
        seen = max(seen, int(found.group(2)) * same)
    return seen


class RangeCheck:
    """Asks the range API at ``base_url`` (``{base_url}/range/{prefix}``) how often a password
    was seen in breaches. One per execution environment (:func:`range_check`), holding its one
    pooled connection."""

    def __init__(self, base_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._path = urlsplit(self.base_url).path
        # One connection, never waited for: a second check at the same moment (only locally, where
        # one process serves many requests) opens its own, which the pool then drops.
        self._pool = urllib3.connection_from_url(
            self.base_url, maxsize=1, block=False, retries=False, headers=_HEADERS
        )

    def times_seen(self, password: str) -> int | None:
        """How often ``password`` was seen in breaches (0: never), or None when the check was
        skipped (counted and logged here). Never raises."""
        digest = _sha1(password)
        started = time.monotonic()
        # Only the reason and the error's class are logged: urllib3's messages name the URL, and
        # so the prefix.
        error: str | None = None
        try:
            return times_in_range(self._fetch(digest[:PREFIX_LENGTH]), digest[PREFIX_LENGTH:])
        except CheckSkipped as skipped:
            reason = skipped.reason
        except Exception as exc:  # a check that cannot run must never cost the person their new password
            reason, error = FAILED, type(exc).__name__
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        metrics.add_metric(name="BreachedCheckSkipped", unit="Count", value=1)
        metrics.add_metadata(key="breached_check_skipped", value=reason)
        logger.warning(
            "breached-password check skipped; the password was judged by the other rules",
            extra={"reason": reason, "duration_ms": duration_ms, **({"error": error} if error else {})},
        )
        return None

    def _fetch(self, prefix: str) -> str:
        """The range answer for ``prefix``, as text, within ``timeout`` in all. Raises
        :class:`CheckSkipped` with the reason when there is none."""
        deadline = time.monotonic() + self.timeout
        try:
            response = self._pool.request(
                "GET",
                f"{self._path}/range/{prefix}",
                timeout=urllib3.Timeout(total=self.timeout),
                preload_content=False,
                redirect=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:  # refused, no such host (a TimeoutError too)
            raise CheckSkipped(UNREACHABLE) from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise CheckSkipped(TIMEOUT) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise CheckSkipped(UNREACHABLE) from exc
        complete = False
        try:
            if response.status != 200:
                raise CheckSkipped(BAD_STATUS)
            answer = _read_before(response, deadline)
            complete = True
        finally:
            if not complete:
                response.close()  # a half-read answer must not be taken for the next one
            response.release_conn()
        try:
            return answer.decode("ascii")
        except UnicodeDecodeError as exc:
            raise CheckSkipped(MALFORMED) from exc


def _read_before(response: Any, deadline: float) -> bytes:
    """The whole body by ``deadline``: one socket read at a time (``read1``), each waiting at most
    for the time left, so an answer that trickles in cannot stretch the check past its timeout."""
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CheckSkipped(TIMEOUT)
        sock = getattr(response.connection, "sock", None)
        if sock is not None:
            sock.settimeout(left)
        try:
            chunk = response.read1(_READ_CHUNK)
        except urllib3.exceptions.TimeoutError as exc:
            raise CheckSkipped(TIMEOUT) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise CheckSkipped(MALFORMED) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise CheckSkipped(UNREACHABLE) from exc
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise CheckSkipped(MALFORMED)
        chunks.append(chunk)


@cache
def range_check() -> RangeCheck | None:
    """The environment's check, made on first use; None when ``BREACHED_PASSWORD_RANGE_URL`` is
    empty (no check, no request)."""
    url = password_settings().breached_password_range_url
    return RangeCheck(url) if url else None


def violations(password: str) -> list[Violation]:
    """``[Violation("breached")]`` when the range API has seen ``password``; none when it has not,
    when the check is off, or when it was skipped."""
    check = range_check()
    if check is None:
        return []
    seen = check.times_seen(password)
    if not seen:
        return []
    metrics.add_metric(name="PasswordBreached", unit="Count", value=1)
    return [Violation("breached")]
