"""Address normalisation: the plain-address fast path must never disagree with email-validator."""

from __future__ import annotations

import email_validator
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pwreset.mail.addresses import (
    _PLAIN_ADDRESS,
    SPECIAL_USE_TLDS,
    InvalidEmail,
    normalise_email,
    plain_address,
)


def library_normalised(candidate: str) -> str | None:
    try:
        result = email_validator.validate_email(candidate, check_deliverability=False, allow_smtputf8=True)
    except email_validator.EmailNotValidError:
        return None
    return result.normalized.lower()


# Addresses near the edges of the fast path: its own shapes, and strings built from the characters
# and pieces where the rules bite (dots, hyphens, R-LDH labels, special-use and numeric names).
_PIECES = st.sampled_from(
    [
        "a",
        "Z",
        "0",
        "9",
        ".",
        "..",
        "-",
        "--",
        "_",
        "+",
        "%",
        "!",
        "xn--",
        "ab--",
        "@",
        "é",
        "K",
        "\u212a",
        " ",
    ]
    + [f".{tld}" for tld in (*SPECIAL_USE_TLDS, "com", "de", "c0m", "1", "museum")]
)
_EDGY = st.lists(_PIECES, min_size=1, max_size=12).map("".join)
_LONG_LABELS = st.tuples(st.integers(1, 70), st.integers(1, 70)).map(
    lambda n: f"{'a' * n[0]}@{'b' * n[1]}.de"
)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.from_regex(_PLAIN_ADDRESS, fullmatch=True), _EDGY, _LONG_LABELS))
@example("Anna.Schmidt@Example.COM")
@example("x@xn--bcher-kva.de")
@example("a@b.test")
@example("a" * 65 + "@example.com")
# 255 characters with every part within its own limit (local part 64, domain 253, labels 63): only
# the whole-address limit (254) refuses them. Digit labels as in the failure hypothesis found.
@example("0." * 31 + "0" + "@" + "0." * 94 + "com")
@example("a" * 64 + "@" + ("b" * 63 + ".") * 2 + "c" * 59 + ".de")
@example("A" * 64 + "@" + ("B" * 63 + ".") * 2 + "C" * 59 + ".DE")
def test_the_fast_path_agrees_with_email_validator(candidate: str) -> None:
    fast = plain_address(candidate)
    if fast is not None:
        assert fast == library_normalised(candidate)


def test_the_special_use_names_are_the_librarys() -> None:
    assert set(email_validator.SPECIAL_USE_DOMAIN_NAMES) == SPECIAL_USE_TLDS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Anna.Schmidt@Example.com ", "anna.schmidt@example.com"),  # plain: the fast path
        ("jürgen@müller.de", "jürgen@müller.de"),  # internationalised: email-validator
        ("ANNA@XN--MLLER-KVA.DE", "anna@müller.de"),  # punycode: email-validator decodes it
    ],
)
def test_addresses_are_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "anna", "anna@", "@example.com", "anna..s@example.com", "anna@localhost", "a@b.test", "a b@c.de"],
)
def test_malformed_addresses_are_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalise_email(raw)
