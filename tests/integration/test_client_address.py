"""Whose address and location a change records (security review #14, item 2; the contract's
section "The client's address and location"): API Gateway's sourceIp and the GeoIP database, unless
the request carries the stack's own CloudFront's origin-verification header; only then are
CloudFront-Viewer-Address and the viewer's location believed. X-Forwarded-For never is."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest

from devstack.seed import load_demo_data
from support.api import Api
from support.demo_accounts import ANNA, OWNER
from support.recorded import assert_nothing_recorded_since, recorded
from support.spies import ApiCall, ApiCallSpy

NEW_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"
SECRET = load_demo_data()["origin_verify_secret"]
EDGE_IP = "130.176.1.1"  # the CloudFront edge API Gateway sees
VIEWER = {
    "CloudFront-Viewer-Address": "198.51.100.77:46532",
    "CloudFront-Viewer-Country": "DE",
    "CloudFront-Viewer-Country-Name": "Germany",
    "CloudFront-Viewer-Country-Region-Name": "Berlin",
    "CloudFront-Viewer-City": "Berlin",
}


SEEN_CHANGES: set[str] = set()  # event ids of the changes read so far (ids are unique across tests)


def change_detail(api: Api, demo: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """Anna's password changed through a staff link, with ``headers`` on the confirm request."""
    api.confirm(api.staff_link(demo[OWNER], ANNA), NEW_PASSWORD, headers=headers, source_ip=EDGE_IP)
    items = boto3.client("dynamodb").scan(TableName=os.environ["EVENTS_TABLE"], ConsistentRead=True)["Items"]
    changes = [i for i in items if i["type"]["S"] == "password_changed"]
    [changed] = [i for i in changes if i["event_id"]["S"] not in SEEN_CHANGES]
    SEEN_CHANGES.add(changed["event_id"]["S"])
    return {k: v["S"] for k, v in changed["detail"]["M"].items() if "S" in v}


def test_viewer_headers_sent_straight_to_the_api_are_not_believed(api: Api, demo: dict[str, Any]) -> None:
    """Whoever holds a stolen link cannot make the firm's mail say 'Berlin'."""
    detail = change_detail(api, demo, {**VIEWER, "X-Forwarded-For": "203.0.113.9"})

    assert detail["source_ip"] == EDGE_IP
    assert not {"city", "region", "country", "country_name"} & set(detail)


@pytest.mark.parametrize("secret", ["wrong", SECRET[:-1], SECRET + "x", ""])
def test_a_wrong_origin_secret_is_no_better_than_none(api: Api, demo: dict[str, Any], secret: str) -> None:
    detail = change_detail(api, demo, {**VIEWER, "X-Origin-Verify": secret})
    assert detail["source_ip"] == EDGE_IP and "city" not in detail


def test_through_the_stacks_own_cloudfront_the_viewer_is_the_client(api: Api, demo: dict[str, Any]) -> None:
    detail = change_detail(api, demo, {**VIEWER, "X-Origin-Verify": SECRET})

    assert detail["source_ip"] == "198.51.100.77"
    assert (detail["city"], detail["country"], detail["country_name"]) == ("Berlin", "DE", "Germany")


def test_an_ipv6_viewer_address_loses_only_its_port(api: Api, demo: dict[str, Any]) -> None:
    headers = {"CloudFront-Viewer-Address": "2001:db8:85a3::8a2e:370:7334:443", "X-Origin-Verify": SECRET}
    detail = change_detail(api, demo, headers)
    assert detail["source_ip"] == "2001:db8:85a3::8a2e:370:7334"


def test_behind_cloudfront_every_per_ip_limit_counts_the_viewer_not_the_edge(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many viewers share one edge address: with the origin secret, a flood from one viewer is
    limited without limiting the others behind the same edge."""
    from pwreset.credentials import ratelimit

    monkeypatch.setattr(ratelimit, "rules", lambda: ratelimit.parse_rules("verify_ip=3/900"))
    token = {"token": "A" * 43}

    def verify(viewer: str) -> int:
        headers = {"CloudFront-Viewer-Address": f"{viewer}:1234", "X-Origin-Verify": SECRET}
        return api.post("/v1/password-resets/verify", token, headers=headers, source_ip=EDGE_IP).status

    before = recorded()
    assert [verify("198.51.100.1") for _ in range(4)] == [404, 404, 404, 429]
    assert verify("198.51.100.2") == 404
    assert_nothing_recorded_since(before)


# ------------------------------------------------------------------ the secret, read at run time


def rotate(value: str) -> None:
    """What an operator's rotation does (docs/deploy.md): a new current version; the old one
    becomes the previous. The functions' cache is dropped, as after its MAX_AGE_S."""
    from pwreset.api import origin_verify

    boto3.client("secretsmanager").put_secret_value(
        SecretId=os.environ["ORIGIN_VERIFY_SECRET_ID"], SecretString=value
    )
    origin_verify.origin_secret.cache_clear()


def believed(api: Api, demo: dict[str, Any], secret: str) -> bool:
    detail = change_detail(api, demo, {**VIEWER, "X-Origin-Verify": secret})
    return bool(detail["source_ip"] == "198.51.100.77" and detail.get("city") == "Berlin")


def test_after_a_rotation_the_new_and_the_previous_value_are_believed_and_no_older_one(
    api: Api, demo: dict[str, Any]
) -> None:
    """CloudFront sends the old value until the stack is deployed with the new version's id, the
    new one after that: neither moment may lose the viewer, and no function is redeployed."""
    rotate("second-value-of-the-origin-secret-000000000002")
    assert believed(api, demo, "second-value-of-the-origin-secret-000000000002")
    assert believed(api, demo, SECRET)  # what CloudFront still sends until its update

    rotate("third-value-of-the-origin-secret-0000000000003")
    assert believed(api, demo, "third-value-of-the-origin-secret-0000000000003")
    assert believed(api, demo, "second-value-of-the-origin-secret-000000000002")
    assert not believed(api, demo, SECRET)


def test_the_secret_is_read_once_and_only_for_requests_that_carry_the_header(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pwreset.api import origin_verify

    origin_verify.origin_secret.cache_clear()
    calls = ApiCallSpy(monkeypatch)
    token = {"token": "A" * 43}
    for _ in range(3):
        assert api.post("/v1/password-resets/verify", token).status == 404
    assert calls.of("GetSecretValue") == []

    for _ in range(3):
        api.post("/v1/password-resets/verify", token, headers={**VIEWER, "X-Origin-Verify": SECRET})
    assert [c.params["VersionStage"] for c in calls.of("GetSecretValue")] == ["AWSCURRENT"]

    # Forged values: the previous version is asked for once; a new secret has none, and its
    # absence is remembered, so a flood of forgeries costs no further calls.
    for _ in range(5):
        api.post("/v1/password-resets/verify", token, headers={**VIEWER, "X-Origin-Verify": "forged"})
    assert [c.params["VersionStage"] for c in calls.of("GetSecretValue")] == ["AWSCURRENT", "AWSPREVIOUS"]


def test_a_secret_that_cannot_be_read_believes_nobody_and_answers_as_ever(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from pwreset.api import origin_verify

    origin_verify.origin_secret.cache_clear()
    calls = ApiCallSpy(monkeypatch)
    denied = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}

    def refuse(call: ApiCall) -> Any:
        raise ClientError(denied, "GetSecretValue")

    calls.answer("GetSecretValue", refuse)
    detail = change_detail(api, demo, {**VIEWER, "X-Origin-Verify": SECRET})
    assert detail["source_ip"] == EDGE_IP and "city" not in detail
