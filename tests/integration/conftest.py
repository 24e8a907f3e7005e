"""Handlers under moto's ``mock_aws``, tables built from ``template.yaml``, demo data seeded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.motolock import serialize_dynamodb
from devstack.seed import accounts_by_id, load_demo_data, seed
from devstack.template import provision
from helpers import Api
from testenv import TEMPLATE


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    serialize_dynamodb()  # moto's transactions are not atomic across threads on their own
    with mock_aws():
        _forget_clients()
        provision(TEMPLATE, dynamodb=boto3.client("dynamodb"), sesv2=boto3.client("sesv2"))
        yield
    _forget_clients()


def _forget_clients() -> None:
    """Cached clients and connections belong to one mock; drop them between tests."""
    from pwreset import resets
    from pwreset.models import Account, Event, Firm, ResetToken, Session

    resets._ses.cache_clear()
    resets._connection.cache_clear()
    for model in (Account, Firm, ResetToken, Session, Event):
        model._connection = None


@pytest.fixture
def demo(aws: None) -> dict[str, dict[str, Any]]:
    data = load_demo_data()
    seed(data)
    return accounts_by_id(data)


@pytest.fixture
def api(aws: None) -> Api:
    return Api()


@pytest.fixture
def region() -> str:
    return os.environ["AWS_DEFAULT_REGION"]
