"""Writes on a link's record that need a condition's answer: the wrong unlock codes
(:mod:`pwreset.credentials.unlock_codes`)."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from pwreset.storage.models import ResetToken

_CONDITION_FAILED = "ConditionalCheckFailedException"


def count_wrong_code(record: ResetToken, limit: int) -> bool | None:
    """Count one wrong unlock code on the link's record: ``True`` counted, ``False`` it was the last
    one allowed (the link is then revoked), ``None`` the link is no longer open. One conditional
    write each: a guess counts only while fewer than ``limit - 1`` are counted; the next one
    revokes, on the condition that exactly that many were counted and the link is still open, so
    however many guesses race, at most ``limit`` are ever judged."""
    still_open = ResetToken.status == "issued"
    try:
        record.update(
            actions=[ResetToken.wrong_codes.add(1)],
            condition=still_open
            & (ResetToken.wrong_codes.does_not_exist() | (ResetToken.wrong_codes < limit - 1)),
        )
        return True
    except UpdateError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise
    try:
        record.update(
            actions=[ResetToken.status.set("revoked"), ResetToken.wrong_codes.set(limit)],
            condition=still_open & (ResetToken.wrong_codes == limit - 1),
        )
    except UpdateError as exc:
        if exc.cause_response_code != _CONDITION_FAILED:
            raise
        # Only a link that is no longer open fails both conditions (used by the right code, or
        # revoked by a concurrent guess).
        return None
    return False
