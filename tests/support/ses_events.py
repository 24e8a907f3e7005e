"""SES event fixtures (``tests/fixtures/ses``: what SES publishes for each outcome) with their
placeholders filled in."""

from __future__ import annotations

import json
from typing import Any

from support.samples import FIXTURES_DIR

SES_FIXTURES_DIR = FIXTURES_DIR / "ses"


def ses_event(
    name: str,
    *,
    ses_message_id: str = "0102019c9a3a1f10-5d1c3f1e-7a8b-4c1d-9e2f-3a4b5c6d7e8f-000000",
    reset_id: str | None = "0" * 32,
    recipient: str = "anna.schmidt@example.com",
) -> dict[str, Any]:
    """A fixture from ``tests/fixtures/ses`` with its placeholders filled in; ``reset_id=None``
    drops the tag (as if the mail had none)."""
    text = (SES_FIXTURES_DIR / name).read_text(encoding="utf-8")
    for key, value in {
        "ses_message_id": ses_message_id,
        "reset_id": reset_id or "",
        "recipient": recipient,
    }.items():
        text = text.replace("${" + key + "}", value)
    event: dict[str, Any] = json.loads(text)
    tags = event.get("mail", {}).get("tags")
    if reset_id is None and isinstance(tags, dict):
        tags.pop("reset_id", None)
    return event


def fixture_names() -> list[str]:
    return sorted(p.name for p in SES_FIXTURES_DIR.glob("*.json"))
