"""The authorizer reads the session, then the account and its login (one batch), with strongly
consistent reads, so a reset, a lock, a sign-out, an archiving or a revocation ends access on the
very next request, not after DynamoDB's eventual consistency has caught up (security review #14,
item 7); two round trips per request, as before logins (issue #22). moto is always consistent, so
the test looks at what the authorizer asks DynamoDB for."""

from __future__ import annotations

import os
from typing import Any

import pytest

from support.api import Api
from support.demo_accounts import ANNA
from support.spies import ApiCallSpy


def test_every_read_the_authorizer_makes_is_strongly_consistent(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.sign_in_as(demo[ANNA])
    spy = ApiCallSpy(monkeypatch)

    assert api.get("/v1/sessions/current", token=session).status == 200

    reads = [c for c in spy.calls if c.function == "AuthorizerFunction"]
    assert [c.operation for c in reads] == ["GetItem", "BatchGetItem"]
    session_read, batch = reads
    assert session_read.params["TableName"] == os.environ["SESSIONS_TABLE"]
    assert session_read.params.get("ConsistentRead") is True
    requested = batch.params["RequestItems"]
    assert set(requested) == {os.environ["ACCOUNTS_TABLE"], os.environ["LOGINS_TABLE"]}
    assert all(table["ConsistentRead"] is True for table in requested.values()), requested
