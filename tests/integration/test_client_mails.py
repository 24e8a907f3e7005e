"""Every mail to a client is on the deliveries timeline with its kind, and SES's events about it
land there: a bounced invitation (a new client's first mail), a bounced password-changed notice.
The view reads the records with one query and still shows links sent before mails were recorded.
The hosted page's first verify marks a link opened."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support.accounts import add_account
from support.api import Api
from support.demo_accounts import ANNA, OWNER
from support.leaks import THIS_TEST
from support.recorded import assert_nothing_recorded_since, recorded
from support.sent_mail import SesSpy, tags, text_of
from support.ses_events import ses_event
from support.sns import publish
from support.spies import PASS, ApiCall, ApiCallSpy

pytestmark = pytest.mark.usefixtures("fake_sns")

FUNCTION = "NotifyPasswordChangedFunction"
NEWCOMER = "acc-berger-client-new"  # no password yet
NEWCOMER_EMAIL = "neu.mandant@example.com"
PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"
LINK = re.compile(r"#(token|lock)=([A-Za-z0-9_-]{43})")


@pytest.fixture
def newcomer(demo: dict[str, Any]) -> str:
    add_account(
        NEWCOMER, role="client", email=NEWCOMER_EMAIL, name="Nina Neu", locale="de", timezone="Europe/Berlin"
    )
    return NEWCOMER


def timeline(api: Api, demo: dict[str, Any], client: str) -> dict[str, Any]:
    result = api.get(f"/v1/accounts/{client}/password-reset/deliveries", token=api.sign_in_as(demo[OWNER]))
    assert result.status == 200, result.body
    return dict(result.body)


def staff_sends(api: Api, demo: dict[str, Any], client: str, what: str = "password-reset") -> Any:
    result = api.post(f"/v1/accounts/{client}/{what}", token=api.sign_in_as(demo[OWNER]))
    assert result.status == 202, result.body
    return result


def last_mail_to(mails: SesSpy, address: str, kind: str = "") -> dict[str, Any]:
    return mails.to(address, kind)[-1]


def link_in(mail: dict[str, Any], kind: str = "token") -> str:
    """The raw token of a mail's ``#token=`` or ``#lock=`` link."""
    [raw] = {raw for found, raw in LINK.findall(text_of(mail)) if found == kind}
    THIS_TEST.add(raw)
    return raw


def confirm(api: Api, mail: dict[str, Any]) -> None:
    confirmed = api.post("/v1/password-resets/confirm", {"token": link_in(mail), "password": PASSWORD})
    assert confirmed.status == 200, confirmed.body


def bounce(api: Api, mail: dict[str, Any], fixture: str = "event-bounce-permanent-noemail.json") -> None:
    """SES reports ``fixture`` about ``mail``, with the mail's own tags, through SNS."""
    [address] = mail["Destination"]["ToAddresses"]
    event = ses_event(fixture, reset_id=tags(mail)["reset_id"], recipient=address)
    event["mail"]["tags"]["kind"] = [tags(mail)["kind"]]
    assert publish(api, event).body == {"status": "recorded"}


# --------------------------------------------------------------------------- every kind


def test_every_kind_of_client_mail_is_on_the_timeline_with_its_kind(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None], newcomer: str
) -> None:
    anna, james = demo[ANNA]["email"], demo["acc-berger-client-james"]["email"]
    # A new client's first mail: the invitation.
    invited = staff_sends(api, demo, newcomer, "invitation")
    # James asks for a link himself.
    assert api.post("/v1/password-resets", {"email": james}).status == 202
    # Staff send Anna a link, and a password is set with it: her notice follows; she disowns the
    # change ("It wasn't me"): her lock confirmation follows; staff send the link that unlocks.
    staff_sends(api, demo, ANNA)
    confirm(api, last_mail_to(mails, anna))
    stream()
    locked = api.post("/v1/account-locks", {"token": link_in(last_mail_to(mails, anna), "lock")})
    assert locked.status == 200, locked.body
    stream()
    staff_sends(api, demo, ANNA)

    annas = timeline(api, demo, ANNA)["deliveries"]
    assert [d["kind"] for d in annas] == ["unlock", "lock_notice", "password_changed", "reset"]
    petra = {"account_id": OWNER, "name": "Petra Berger"}
    assert [d["requested_by"] for d in annas] == [petra, None, None, petra]
    [invitation] = timeline(api, demo, newcomer)["deliveries"]
    assert (invitation["kind"], invitation["reset_id"]) == ("invitation", invited.body["invitation_id"])
    [self_service] = timeline(api, demo, "acc-berger-client-james")["deliveries"]
    assert (self_service["kind"], self_service["requested_by"]) == ("reset", None)
    # Each mail carries its timeline's id, so SES's events about it find their way back.
    for delivery in [*annas, invitation, self_service]:
        assert [m for m in mails.sent if tags(m).get("reset_id") == delivery["reset_id"]], delivery["kind"]


def test_the_owners_notices_are_mails_to_staff_and_on_no_timeline(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    staff_sends(api, demo, ANNA)
    confirm(api, last_mail_to(mails, demo[ANNA]["email"]))
    stream()

    [owners] = mails.to(demo[OWNER]["email"], "password_changed_owner")
    assert "reset_id" not in tags(owners)
    assert [d["kind"] for d in timeline(api, demo, ANNA)["deliveries"]] == ["password_changed", "reset"]


# --------------------------------------------------------------------------- bounces


def test_a_bounced_invitation_shows_and_explains_why_the_next_send_is_refused(
    api: Api, demo: dict[str, Any], mails: SesSpy, newcomer: str
) -> None:
    staff_sends(api, demo, newcomer, "invitation")
    bounce(api, last_mail_to(mails, NEWCOMER_EMAIL, "invitation"))

    body = timeline(api, demo, newcomer)
    [delivery] = body["deliveries"]
    assert (delivery["kind"], delivery["status"]) == ("invitation", "bounced")
    assert [e["type"] for e in delivery["events"]] == ["bounce"]
    assert delivery["diagnosis"]["code"] == "address_not_found"
    assert delivery["diagnosis"]["summary"] == (
        "Der E-Mail-Anbieter des Mandanten meldet, dass es diese Adresse nicht gibt."
    )
    assert body["email_status"] == "undeliverable"

    owner = api.sign_in_as(demo[OWNER])
    before = recorded()
    again = api.post(f"/v1/accounts/{newcomer}/invitation", token=owner)
    assert (again.status, again.error_code) == (409, "email_undeliverable")
    assert again.body["error"]["diagnosis"]["code"] == "address_not_found"  # the invitation's reason
    assert_nothing_recorded_since(before)


def test_a_bounced_password_changed_notice_shows_on_the_clients_timeline(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    anna = demo[ANNA]["email"]
    staff_sends(api, demo, ANNA)
    confirm(api, last_mail_to(mails, anna))
    stream()

    bounce(
        api, last_mail_to(mails, anna, "password_changed_holder"), "event-bounce-transient-mailbox-full.json"
    )

    notice, link = timeline(api, demo, ANNA)["deliveries"]
    assert (notice["kind"], notice["status"], notice["diagnosis"]["code"]) == (
        "password_changed",
        "bounced",
        "mailbox_full",
    )
    assert notice["requested_by"] is None
    assert (link["kind"], link["events"]) == ("reset", [])  # the link mail's own timeline is untouched


def test_a_notice_ses_refused_shows_as_failed(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    """The stream retries the notice, so the timeline keeps one entry for it: failed until a retry
    gets through (the same record, never a second one)."""
    anna = demo[ANNA]["email"]
    staff_sends(api, demo, ANNA)
    confirm(api, last_mail_to(mails, anna))
    mails.fail_always.add(anna)
    stream()

    notice, _link = timeline(api, demo, ANNA)["deliveries"]
    assert (notice["kind"], notice["status"], notice["diagnosis"]["code"]) == (
        "password_changed",
        "failed",
        "send_failed",
    )

    mails.fail_always.clear()
    stream()
    kinds = [(d["kind"], d["status"]) for d in timeline(api, demo, ANNA)["deliveries"]]
    assert kinds == [("password_changed", "sent"), ("reset", "sent")]


# --------------------------------------------------------------------------- opened on the page


def test_the_first_verify_marks_the_link_opened_and_later_ones_change_nothing(
    api: Api, demo: dict[str, Any], mails: SesSpy
) -> None:
    from pwreset.storage.models import DeliveryTimeline

    sent = staff_sends(api, demo, ANNA)
    raw = link_in(last_mail_to(mails, demo[ANNA]["email"]))
    assert DeliveryTimeline.get(sent.body["reset_id"]).opened_at is None

    assert api.post("/v1/password-resets/verify", {"token": raw}).status == 200
    first = DeliveryTimeline.get(sent.body["reset_id"]).opened_at
    assert api.post("/v1/password-resets/verify", {"token": raw}).status == 200

    assert first is not None
    assert DeliveryTimeline.get(sent.body["reset_id"]).opened_at == first


def test_a_verify_that_cannot_record_the_opening_still_answers(
    api: Api, demo: dict[str, Any], mails: SesSpy, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff_sends(api, demo, ANNA)
    raw = link_in(last_mail_to(mails, demo[ANNA]["email"]))

    def throttled(call: ApiCall) -> Any:
        if call.params.get("TableName") != os.environ["DELIVERY_EVENTS_TABLE"]:
            return PASS
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")

    ApiCallSpy(monkeypatch).answer("UpdateItem", throttled)
    verified = api.post("/v1/password-resets/verify", {"token": raw})

    assert verified.status == 200, verified.body


# --------------------------------------------------------------------------- how the view reads


def test_the_view_reads_the_records_with_one_query_and_no_scan(
    api: Api, demo: dict[str, Any], mails: SesSpy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pwreset.delivery.deliveries import PAGE_SIZE
    from pwreset.storage.models import DeliveryTimeline

    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(PAGE_SIZE + 2):
        DeliveryTimeline(
            f"mail-{i:02d}",
            account_id=ANNA,
            requested_at=(start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            kind="password_changed" if i % 2 else "reset",
            email=demo[ANNA]["email"],
            status="sending",
            password_version=0,
        ).save()
    owner = api.sign_in_as(demo[OWNER])
    calls = ApiCallSpy(monkeypatch)

    result = api.get(f"/v1/accounts/{ANNA}/password-reset/deliveries", token=owner)

    assert [d["reset_id"] for d in result.body["deliveries"]] == [
        f"mail-{i:02d}" for i in range(PAGE_SIZE + 1, 1, -1)
    ]
    made = [c.name for c in calls.calls if c.function == "SesEventsFunction"]
    # The client, its login (did the password change since a link went out?), then its mails.
    assert made == ["dynamodb.GetItem", "dynamodb.GetItem", "dynamodb.Query"]
    [query] = [c for c in calls.calls if c.name == "dynamodb.Query"]
    assert query.params["IndexName"] == "by_account"


def test_links_sent_before_mails_were_recorded_still_show_after_the_newer_mails(
    api: Api, demo: dict[str, Any], mails: SesSpy
) -> None:
    """Migration-free: a link and its timeline as they were stored before, without a record."""
    from pwreset.delivery.ses_events import parse_event
    from pwreset.storage.models import DeliveryTimeline, ResetToken

    old = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ResetToken(
        "f" * 64,
        reset_id="old-reset",
        account_id=ANNA,
        firm_id="firm-berger",
        email=demo[ANNA]["email"],
        requested_at=old.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        requested_by=OWNER,
        requested_by_name="Petra Berger",
        expires_at=old + timedelta(hours=24),
        password_version=0,
        purpose="invitation",
        status="issued",
    ).save()
    # Its bounce, stored as the webhook stored it then (a timeline without a record).
    event = parse_event(
        ses_event("event-bounce-undetermined.json", reset_id="old-reset", recipient=demo[ANNA]["email"])
    )
    assert event is not None
    DeliveryTimeline("old-reset", message_id=event.ses_message_id, events=[event.to_json()]).save()
    sent = staff_sends(api, demo, ANNA)

    new, legacy = timeline(api, demo, ANNA)["deliveries"]

    assert (new["reset_id"], new["kind"]) == (sent.body["reset_id"], "reset")
    assert (legacy["reset_id"], legacy["kind"], legacy["status"]) == ("old-reset", "invitation", "bounced")
    assert legacy["requested_by"] == {"account_id": OWNER, "name": "Petra Berger"}
    assert legacy["diagnosis"]["code"] == "undetermined_bounce"


def test_erasure_deletes_every_record_of_the_account(
    api: Api, demo: dict[str, Any], mails: SesSpy, stream: Callable[[], None]
) -> None:
    from pwreset.storage.models import DeliveryTimeline

    staff_sends(api, demo, ANNA)
    confirm(api, last_mail_to(mails, demo[ANNA]["email"]))
    stream()
    assert len(list(DeliveryTimeline.by_account.query(ANNA))) == 2

    status, _ = api.provision("DELETE", f"/v1/admin/accounts/{ANNA}", {})

    assert status == 204
    assert list(DeliveryTimeline.scan()) == []
