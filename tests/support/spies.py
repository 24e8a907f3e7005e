"""One spy on the AWS API calls botocore makes in this process: pwreset's clients, pynamodb's
connection and boto3's alike, once per call (botocore's own retries happen below the spy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.client import BaseClient

from devstack.gateway import RUNNING_FUNCTION


@dataclass
class ApiCall:
    service: str  # as botocore names it: "dynamodb", "sesv2", ...
    operation: str  # "PutItem", "SendEmail", ...
    params: dict[str, Any]
    function: str | None  # the function that made it (devstack's FunctionRunner sets it)
    error: BaseException | None = None  # what the call raised, if it did

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


PASS = object()  # what an answer returns to let the call through to AWS (moto)
Answer = Callable[[ApiCall], Any]


class ApiCallSpy:
    """Sees every call from its creation to the end of the test (``monkeypatch`` undoes it), and
    keeps them while ``recording``; an answer set for an operation replies instead of AWS. A spy
    made later sits over the earlier ones: it sees each call first, and its answers win."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[ApiCall] = []
        self.recording = True
        self._answers: dict[str, Answer] = {}
        original = BaseClient._make_api_call
        # An answer that must make the call after all (a part of it, say) goes around the spy.
        self.passthrough = original
        spy = self

        def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            call = ApiCall(client.meta.service_model.service_name, operation, params, RUNNING_FUNCTION.get())
            if spy.recording:
                spy.calls.append(call)
            try:
                answer = spy._answers.get(operation)
                response = answer(call) if answer else PASS
                return original(client, operation, params) if response is PASS else response
            except BaseException as error:
                call.error = error
                raise

        monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)

    def answer(self, operation: str, answer: Answer) -> None:
        """From now on ``answer`` replies to ``operation``: it returns the response, raises the
        error, or returns :data:`PASS` to let the call through."""
        self._answers[operation] = answer

    def names(self) -> list[str]:
        """The calls kept, in order, as ``service.Operation``."""
        return [call.name for call in self.calls]

    def of(self, operation: str) -> list[ApiCall]:
        return [call for call in self.calls if call.operation == operation]
