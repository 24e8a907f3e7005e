"""E-mail address normalisation: trimmed, lower-cased, syntax-checked (email-validator, which knows
RFC 5321/5322 and internationalised domains far better than a regular expression would)."""

from __future__ import annotations

MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit


class InvalidEmail(ValueError):
    pass


def normalise_email(raw: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    candidate = raw.strip()
    if not candidate or len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidEmail("invalid e-mail address")
    try:
        result = validate_email(candidate, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidEmail("invalid e-mail address") from exc
    return result.normalized.lower()
