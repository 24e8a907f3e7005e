"""X-Ray must never carry a credential. Sign-in and confirm answer with a session token (in the body
and in Set-Cookie), so no handler may record its response on its trace segment, which powertools'
``capture_lambda_handler`` does unless told otherwise. The tracer's provider is swapped for one that
records everything a handler puts on its segments."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from pwreset.core.observability import tracer
from support.api import Api
from support.sent_mail import sent_messages, token_from

ANNA = "acc-berger-client-anna"
NEW_PASSWORD = "Lindenbaum am Brunnen vor dem Tore 7"


class RecordingSegment:
    def __init__(self, records: list[str]) -> None:
        self.records = records

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.records.append(json.dumps({"metadata": key, "value": value}, default=str))

    def put_annotation(self, key: str, value: Any) -> None:
        self.records.append(json.dumps({"annotation": key, "value": value}, default=str))

    def add_exception(self, exception: BaseException, stack: Any = None, remote: bool = False) -> None:
        self.records.append(repr(exception))


class RecordingProvider:
    def __init__(self) -> None:
        self.records: list[str] = []
        self.segments = 0

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **_: Any) -> Iterator[RecordingSegment]:
        self.segments += 1
        yield RecordingSegment(self.records)


@pytest.fixture
def traces(monkeypatch: pytest.MonkeyPatch) -> RecordingProvider:
    provider = RecordingProvider()
    monkeypatch.setattr(tracer, "provider", provider)
    return provider


def test_no_session_token_or_link_reaches_a_trace(
    api: Api, demo: dict[str, Any], traces: RecordingProvider
) -> None:
    anna = demo[ANNA]
    signed_in = api.post("/v1/sessions", {"email": anna["email"], "password": anna["password"]})
    assert signed_in.status == 201
    assert api.post("/v1/password-resets", {"email": anna["email"]}).status == 202
    link_token = token_from(sent_messages()[-1])
    confirmed = api.post("/v1/password-resets/confirm", {"token": link_token, "password": NEW_PASSWORD})
    assert confirmed.status == 200

    secrets = [signed_in.body["session"]["token"], confirmed.body["session"]["token"], link_token]
    # Sign-in, the self-service request, its queue function, confirm (no authorizer: none of them
    # needs a session).
    assert traces.segments == 4
    recorded = "\n".join(traces.records)
    assert "ColdStart" in recorded  # the recorder sees what the handlers put on their segments
    for secret in secrets:
        assert secret not in recorded
    assert NEW_PASSWORD not in recorded
