"""The authorizer reads the session and the account with strongly consistent reads, so a reset, a
sign-out, an archiving or a revocation ends access on the very next request, not after
DynamoDB's eventual consistency has caught up (security review #14, item 7). moto is always
consistent, so the test looks at what the authorizer asks DynamoDB for."""

from __future__ import annotations

import os
from typing import Any

import pytest

from support.api import Api
from support.spies import ApiCallSpy

ANNA = "acc-berger-client-anna"


def test_every_read_the_authorizer_makes_is_strongly_consistent(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.sign_in_as(demo[ANNA])
    spy = ApiCallSpy(monkeypatch)

    assert api.get("/v1/sessions/current", token=session).status == 200

    reads = [c for c in spy.calls if c.function == "AuthorizerFunction"]
    tables = {c.params.get("TableName") for c in reads}
    assert tables == {os.environ["SESSIONS_TABLE"], os.environ["ACCOUNTS_TABLE"]}
    assert [c.operation for c in reads] == ["GetItem", "GetItem"]
    assert all(c.params.get("ConsistentRead") is True for c in reads), [c.params for c in reads]
