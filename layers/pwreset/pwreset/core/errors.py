"""Domain errors. Each carries its contract code and HTTP status; the API adapter maps them in one
place, so domain code never builds HTTP responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    code = "internal_error"
    status = 500
    # The text to show, when it is not the code's general one (core.i18n.ERROR_MESSAGES).
    message_key: str | None = None

    def __init__(
        self,
        *,
        locale: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(self.code)
        # The account's locale when the domain knows it; the adapter falls back to the request's.
        self.locale = locale
        self.extra: dict[str, Any] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})


class InvalidRequest(DomainError):
    code, status = "invalid_request", 400


class Unauthorized(DomainError):
    code, status = "unauthorized", 401


class InvalidCredentials(DomainError):
    code, status = "invalid_credentials", 401


class AccountLocked(DomainError):
    """The right password for an account its holder locked ("It wasn't me")."""

    code, status = "account_locked", 403


class Forbidden(DomainError):
    code, status = "forbidden", 403


class AccountNotFound(DomainError):
    code, status = "account_not_found", 404


class TokenInvalid(DomainError):
    code, status = "token_invalid", 404


class AccountArchived(DomainError):
    code, status = "account_archived", 409


class EmailUndeliverable(DomainError):
    code, status = "email_undeliverable", 409


class SignatureInvalid(DomainError):
    code, status = "signature_invalid", 403


class TopicNotAllowed(DomainError):
    code, status = "topic_not_allowed", 403


class TokenExpired(DomainError):
    code, status = "token_expired", 410


class TokenUsed(DomainError):
    code, status = "token_used", 410


class TokenRevoked(DomainError):
    code, status = "token_revoked", 410


class UnlockCodeExhausted(TokenRevoked):
    """The fifth wrong unlock code ended the link."""

    message_key = "unlock_code_exhausted"


# The lock route's answers: the contract's codes, with words about a lock link, not a reset link.
class LockTokenInvalid(TokenInvalid):
    message_key = "lock_token_invalid"


class LockTokenExpired(TokenExpired):
    message_key = "lock_token_expired"


class LockTokenUsed(TokenUsed):
    message_key = "lock_token_used"


class LockAccountArchived(AccountArchived):
    message_key = "lock_account_archived"


class FirmNotFound(DomainError):
    code, status = "firm_not_found", 404


class EmailTaken(DomainError):
    code, status = "email_taken", 409


class FirmMismatch(DomainError):
    code, status = "firm_mismatch", 409


class PasswordAlreadySet(DomainError):
    code, status = "password_already_set", 409


class PasswordRejected(DomainError):
    code, status = "password_rejected", 422


class CodeInvalid(DomainError):
    """An unlock link's confirm without its unlock code, or with a wrong one."""

    code, status = "code_invalid", 422


class RateLimited(DomainError):
    code, status = "rate_limited", 429

    def __init__(self, *, retry_after: int, locale: str | None = None) -> None:
        super().__init__(locale=locale, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class EmailSendFailed(DomainError):
    code, status = "email_send_failed", 502


class UpstreamUnavailable(DomainError):
    """Something we depend on (e.g. SNS's certificate host) failed for now: a 5xx makes SNS retry."""

    code, status = "internal_error", 503
