"""The mail moto's SES accepted in this mock (moto keeps only the HTML part when a mail has both),
and the reset token in a mail's link."""

from __future__ import annotations

import re
from typing import Any

from support.leaks import THIS_TEST

TOKEN_IN_LINK = re.compile(r"#token=([A-Za-z0-9_-]{43})")


def sent_messages() -> list[Any]:
    """Every message moto's SES accepted in this mock, oldest first."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-central-1"].sent_messages)


def message_body(message: Any) -> str:
    return str(getattr(message, "body", "") or getattr(message, "html", ""))


def token_from(message: Any) -> str:
    found = TOKEN_IN_LINK.search(message_body(message))
    assert found, "no reset link in the mail"
    THIS_TEST.add(found.group(1))
    return found.group(1)
