"""E-mail address normalisation: trimmed, lower-cased, syntax-checked (email-validator, which knows
RFC 5321/5322 and internationalised domains far better than a regular expression would).

Importing email-validator compiles large Unicode regular expressions, a visible part of every cold
start of a function that reads an address (``bench/results.md``). The plain case (an ASCII local
part of letters, digits, dots, ``_``, ``+`` and ``-``, and a hostname of letter-digit-hyphen labels
under an alphabetic top-level domain, within the RFC 5321 length limits) is therefore checked here
first. It is a strict subset of what email-validator accepts, with the same normalised result (a
property test holds it to the library); every other address goes through email-validator.
"""

from __future__ import annotations

import re

MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit
_MAX_LOCAL_LENGTH = 64
_MAX_DOMAIN_LENGTH = 253

_PLAIN_ADDRESS = re.compile(
    r"(?P<local>[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*)"
    r"@(?P<domain>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?P<tld>[a-z]{2,63}))",
)
# Top-level names email-validator refuses as not globally deliverable (its SPECIAL_USE_DOMAIN_NAMES;
# a unit test keeps the two lists equal).
SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


class InvalidEmail(ValueError):
    pass


def normalise_email(raw: str) -> str:
    candidate = raw.strip()
    if not candidate or len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidEmail("invalid e-mail address")
    plain = plain_address(candidate)
    if plain is not None:
        return plain
    # deferred: plain addresses never need it (its import compiles large regexes)
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(candidate, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidEmail("invalid e-mail address") from exc
    return result.normalized.lower()


def plain_address(candidate: str) -> str | None:
    """``candidate`` lower-cased when it is a plain address, else None (not necessarily invalid)."""
    # The whole-address limit first: email-validator refuses a longer address even when its local
    # part, domain and labels are each within theirs (254 ASCII characters are 254 octets), and it
    # bounds the regular expression's work.
    if len(candidate) > MAX_EMAIL_LENGTH or not candidate.isascii():
        return None
    lowered = candidate.lower()
    match = _PLAIN_ADDRESS.fullmatch(lowered)
    if match is None:
        return None
    domain = match["domain"]
    if (
        len(match["local"]) > _MAX_LOCAL_LENGTH
        or len(domain) > _MAX_DOMAIN_LENGTH
        or "--" in domain  # RFC 5890 R-LDH labels ("ab--c", "xn--"): email-validator decides
        or match["tld"] in SPECIAL_USE_TLDS
    ):
        return None
    return lowered
