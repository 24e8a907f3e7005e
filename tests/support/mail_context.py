"""What the mail tests render with: the facts every mail about an account's holder names (Anna
Schmidt, a client of Kanzlei Müller & Partner, told to its owner Jürgen Schäfer), and the letterhead
a mail gets when a test gives none."""

from __future__ import annotations

from typing import Any

from pwreset.mail.brand import Letterhead


def about_the_holder() -> dict[str, Any]:
    """A new dict each call: a test may change what it gets."""
    return {
        "firm_name": "Kanzlei Müller & Partner",
        # The firm the change or lock came through, and the holder's login's other firms.
        "via_firm_name": "Kanzlei Müller & Partner",
        "other_firm_names": [],
        "recipient_name": "Jürgen Schäfer",
        "holder_name": "Anna Schmidt",
        "holder_email": "anna.schmidt@example.com",
        "holder_role": "client",
    }


def mail_context(values: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """``values`` with ``overrides``, ready for ``render``: ``firm_name`` becomes the platform's look
    unless a test gives a letterhead (a staff mail's, as before firms had brands)."""
    context = {**values, **overrides}
    firm_name = context.pop("firm_name")
    context.setdefault("letterhead", Letterhead(firm_name))
    return context
