"""The events for the CRM, made from audit events as the events table's stream carries them: each
type's fields as the contract names them, and nothing that identifies a secret or an address."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pwreset.crm.events import CrmEvent, from_stream_image, login_accounts
from pwreset.crm.publisher import BACKOFF_CAP_S, backoff
from support.user_agents import CHROME_ON_WINDOWS

AT = datetime(2026, 11, 30, 8, 22, 3, 751333, tzinfo=UTC)
BERLIN = {"country": "DE", "country_name": "Germany", "region": "Berlin", "city": "Berlin"}
# What must never be in an event, planted in the audit details as if a writer had put it there.
PLANTED = {
    "email": "anna.schmidt@example.com",
    "new_email": "anna.neu@example.org",
    "token": "q0Yx1gGfQxkq8vZC7o8j7bH3E2m0s5cUuA9tW4yRzPk",
    "token_hash": "9f2c1e0d5b7a4c3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e",
    "password": "Lindenbaum am Brunnen vor dem Tore 7",
    "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
    "requested_by_name": "Jonas Weber",
}


def image(kind: str, detail: dict[str, Any], **top: Any) -> dict[str, Any]:
    """An events-table item as the stream's NewImage carries it (numbers as Decimal aside)."""
    return {
        "event_id": "3a8e585065604c8d8c1f552ed9dc40da",
        "type": kind,
        "account_id": "acc-berger-client-anna",
        "firm_id": "firm-berger",
        "at": "2026-11-30T08:22:03.751333+0000",
        "ttl": 1830000000,
        "detail": detail,
        **top,
    }


def built(kind: str, detail: dict[str, Any]) -> CrmEvent:
    event = from_stream_image(image(kind, detail))
    assert event is not None
    return event


def changed(**detail: Any) -> CrmEvent:
    facts = {"source_ip": "198.51.100.20", "user_agent": CHROME_ON_WINDOWS, "request_id": "r-1", **BERLIN}
    return built("password_changed", {"change": "reset", **facts, **detail})


COMMON = {
    "event_id": "3a8e585065604c8d8c1f552ed9dc40da",
    "occurred_at": "2026-11-30T08:22:03.751333Z",
    "account_id": "acc-berger-client-anna",
    "firm_id": "firm-berger",
}
ANNA_ONLY = [{"account_id": "acc-berger-client-anna", "firm_id": "firm-berger"}]


def test_a_staff_reset_is_a_password_changed_with_who_sent_it_and_the_clients_facts() -> None:
    event = changed(requested_by="acc-berger-member", requested_by_name="Jonas Weber", reset_id="r1")

    assert event.detail_type == "PasswordChanged"
    assert event.detail == {
        **COMMON,
        "accounts": ANNA_ONLY,
        "via": "staff_reset",
        "requested_by": "acc-berger-member",
        "client": {
            "ip": "198.51.100.20",
            "location": "Berlin, Germany",
            "os": "Windows 10",
            "browser": "Chrome 131.0.0.0",
        },
    }
    assert event.occurred_at == AT


@pytest.mark.parametrize(
    ("detail", "via", "requested_by"),
    [
        ({"change": "reset"}, "self_service", None),
        ({"change": "reset", "requested_by": "acc-berger-owner"}, "staff_reset", "acc-berger-owner"),
        ({"change": "invitation", "requested_by": "acc-berger-owner"}, "invitation", "acc-berger-owner"),
        # The CRM's own invitation (send_invitation) names no account of the firm.
        ({"change": "invitation", "requested_by": "provisioning"}, "invitation", None),
        ({"change": "portal"}, "change", None),
        (
            {"change": "reset", "requested_by": "acc-berger-owner", "unlocked": True},
            "unlock",
            "acc-berger-owner",
        ),
    ],
)
def test_via_and_requested_by_say_how_the_password_changed(
    detail: dict[str, Any], via: str, requested_by: str | None
) -> None:
    event = built("password_changed", detail)

    assert (event.detail["via"], event.detail["requested_by"]) == (via, requested_by)


def test_unknown_client_facts_are_null_not_made_up() -> None:
    event = built("password_changed", {"change": "portal", "source_ip": "unknown"})

    assert event.detail["client"] == {"ip": None, "location": None, "os": None, "browser": None}


def test_a_lock_is_an_account_locked_with_the_lock_requests_facts_not_the_disowned_changes() -> None:
    event = built(
        "account_locked",
        {
            "source_ip": "203.0.113.9",
            "user_agent": CHROME_ON_WINDOWS,
            **BERLIN,
            "reported_event_id": "e0",
            "reported_change": "reset",
            "reported": {"source_ip": "192.0.2.66", "user_agent": "curl/8.0", "city": "Elsewhere"},
        },
    )

    assert event.detail_type == "AccountLocked"
    assert event.detail == {
        **COMMON,
        "accounts": ANNA_ONLY,
        "client": {
            "ip": "203.0.113.9",
            "location": "Berlin, Germany",
            "os": "Windows 10",
            "browser": "Chrome 131.0.0.0",
        },
    }


@pytest.mark.parametrize(
    ("status", "code"), [("undeliverable", "address_not_found"), ("complained", "complaint")]
)
def test_a_condemned_address_is_an_email_undeliverable_with_its_verdict_and_diagnosis(
    status: str, code: str
) -> None:
    event = built("email_undeliverable", {"email_status": status, "diagnosis_code": code, "reset_id": "r1"})

    assert event.detail_type == "EmailUndeliverable"
    assert event.detail == {**COMMON, "email_status": status, "diagnosis": {"code": code}}


def test_an_address_change_is_an_email_changed_with_both_addresses_masked() -> None:
    event = built(
        "account_provisioned",
        {
            "fields": ["email"],
            "created": False,
            "revoked": True,
            "caller": "AKIALOCALDEVCRM00001",
            "previous_hint": "a***@example.com",
            "new_hint": "a***@example.org",
        },
    )

    assert event.detail_type == "EmailChanged"
    assert event.detail == {**COMMON, "previous_hint": "a***@example.com", "new_hint": "a***@example.org"}


@pytest.mark.parametrize(
    "detail",
    [
        {"fields": ["name"], "created": False},  # the address stayed
        {"fields": ["email", "name"], "created": True, "new_hint": "a***@example.org"},  # a new account
        {"fields": ["email"], "created": False, "erased": True},  # hints stripped by an erasure
    ],
)
def test_other_provisioning_writes_are_no_event(detail: dict[str, Any]) -> None:
    assert from_stream_image(image("account_provisioned", detail)) is None


def test_items_the_crm_does_not_hear_of_are_no_event() -> None:
    assert from_stream_image(image("reset_requested", {"reset_id": "r1", "purpose": "reset"})) is None


def test_a_malformed_item_of_a_published_type_is_an_error_not_a_silent_skip() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        from_stream_image(image("email_undeliverable", {"diagnosis_code": "complaint"}))  # no verdict


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        ("password_changed", {"change": "reset", "requested_by": "acc-berger-member"}),
        ("account_locked", {"reported": {"source_ip": "192.0.2.66"}}),
        ("email_undeliverable", {"email_status": "undeliverable", "diagnosis_code": "address_not_found"}),
        (
            "account_provisioned",
            {"fields": ["email"], "previous_hint": "a***@example.com", "new_hint": "x***@y.z"},
        ),
    ],
)
def test_no_address_token_hash_password_or_name_reaches_an_event(kind: str, detail: dict[str, Any]) -> None:
    """Whatever else an audit event holds, an event carries only the fields the contract names."""
    event = built(kind, {**detail, **PLANTED, "reported": {**detail.get("reported", {}), **PLANTED}})
    entry = event.entry("password-reset-dev")

    text = json.dumps({**entry, "Time": entry["Time"].isoformat()}, ensure_ascii=False)
    leaked = [name for name, value in PLANTED.items() if value in text]
    assert not leaked, leaked
    assert "@example.com" not in text.replace("a***@example.com", "")


def test_the_entry_is_the_event_from_source_pwreset_at_the_time_it_happened() -> None:
    event = changed()

    entry = event.entry("password-reset-dev")

    assert entry["Source"] == "pwreset" and entry["DetailType"] == "PasswordChanged"
    assert entry["EventBusName"] == "password-reset-dev"
    assert entry["Time"] == AT
    assert json.loads(entry["Detail"]) == event.detail
    assert event.event_id == COMMON["event_id"]  # the audit event's own id: the same on every retry


def test_a_logins_change_names_the_one_account_until_logins_span_firms() -> None:
    assert login_accounts("acc-1", "firm-1") == [{"account_id": "acc-1", "firm_id": "firm-1"}]


def test_the_back_off_grows_and_stays_under_its_cap() -> None:
    waits = [[backoff(attempt) for _ in range(200)] for attempt in (1, 2, 3, 8)]

    assert all(0 <= w <= BACKOFF_CAP_S for each in waits for w in each)
    assert max(waits[0]) <= 0.2 < max(waits[2])  # full jitter below 0.2 s, 0.4 s, 0.8 s, ...
    assert max(waits[3]) > 1.5  # capped, not grown past it
