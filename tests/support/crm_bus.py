"""The CRM's event bus under moto: what reached it, read as the local stack reads it (a listener
rule with an SQS target, ``devstack.crm_events``), and a bus that refuses chosen ``PutEvents``
entries (EventBridge's partial failure) while it takes the others."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from devstack.crm_events import CrmListener
from support.spies import PASS, ApiCall, ApiCallSpy

# (the number of the PutEvents call, from 1; the entry) -> an ErrorCode to refuse it with, or None
Refusal = Callable[[int, dict[str, Any]], str | None]


def listener() -> CrmListener:
    """A CRM's rule on the template's bus (call before anything is put)."""
    import os

    started = CrmListener(boto3.client("events"), boto3.client("sqs"), os.environ["CRM_EVENT_BUS_NAME"])
    started.start()
    return started


def detail_of(entry: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(entry["Detail"]))


class Bus:
    """Every ``PutEvents`` call the functions make, each refused entry answered as EventBridge
    answers a partial failure, the rest put on moto's bus."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, refuse: Refusal | None = None) -> None:
        self.spy = ApiCallSpy(monkeypatch)
        self.spy.answer("PutEvents", self._put)
        self.refuse = refuse
        self.calls = 0

    def _put(self, call: ApiCall) -> Any:
        self.calls += 1
        entries = list(call.params["Entries"])
        codes = [self.refuse(self.calls, entry) if self.refuse else None for entry in entries]
        if not any(codes):
            return PASS
        taken = [entry for entry, code in zip(entries, codes, strict=True) if not code]
        answers = iter(self._put_on_moto(taken)["Entries"] if taken else [])
        results = [
            {"ErrorCode": code, "ErrorMessage": "Refused by the test."} if code else next(answers)
            for code in codes
        ]
        return {"FailedEntryCount": sum(1 for code in codes if code), "Entries": results}

    def _put_on_moto(self, entries: list[dict[str, Any]]) -> Any:
        return self.spy.passthrough(boto3.client("events"), "PutEvents", {"Entries": entries})

    @property
    def puts(self) -> list[list[dict[str, Any]]]:
        """The entries of each PutEvents call, in order."""
        return [list(call.params["Entries"]) for call in self.spy.of("PutEvents")]

    def entries(self) -> list[dict[str, Any]]:
        return [entry for put in self.puts for entry in put]
