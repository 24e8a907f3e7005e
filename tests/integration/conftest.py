"""Handlers under moto's ``mock_aws``, tables built from ``template.yaml``, demo data seeded; the
fake SNS certificate host and the local stack's SES simulator for the webhook's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.gateway import HttpRequest
from devstack.motolock import serialize_dynamodb
from devstack.seed import accounts_by_id, load_demo_data, seed
from devstack.ses_simulator import SesSimulator
from devstack.sns_signer import DEFAULT_CERT_URL, SnsSigner
from devstack.template import provision
from support.api import Api, gateway
from support.environment import TEMPLATE
from support.leaks import THIS_TEST, Secrets, leaks_in
from support.sns import FakeSns, install_fake_sns, signer


@pytest.fixture(autouse=True)
def secrets_of_this_test() -> Secrets:
    """A new set per test of what its captured output must not hold (see the hook below)."""
    THIS_TEST.values.clear()
    return THIS_TEST


def leaks_in_report(report: pytest.TestReport, secrets: Secrets) -> list[str]:
    """The secrets in everything a test printed and logged (its stdout, stderr and log records in
    setup, call and teardown, as pytest captured them): the handlers' JSON lines with their
    tracebacks, and anything else."""
    secrets.remember_demo_data()
    found: list[str] = []
    for section, content in report.sections:
        found += leaks_in(content.splitlines(), secrets.values, where=f"{report.nodeid} [{section}]")
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Every integration test fails when its captured output holds a raw token, a password or a
    full address it handled. Checked at teardown, when the report has every phase's output; a test
    that plants a leak on purpose (marker ``plants_leak``) checks its own."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.when != "teardown" or item.get_closest_marker("plants_leak") or not report.passed:
        return
    leaks = leaks_in_report(report, THIS_TEST)
    if leaks:
        report.outcome = "failed"
        report.longrepr = "secrets in the captured output:\n" + "\n".join(leaks[:20])


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's ``mock_aws`` with fake credentials, nothing in it yet."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def aws(mocked_aws: None) -> Iterator[None]:
    """The template's tables, queues, event bus and SES identity under moto, and no client of an
    earlier mock."""
    serialize_dynamodb()  # moto's transactions are not atomic across threads on their own
    _forget_clients()
    provision(
        TEMPLATE,
        dynamodb=boto3.client("dynamodb"),
        sesv2=boto3.client("sesv2"),
        sqs=boto3.client("sqs"),
        secretsmanager=boto3.client("secretsmanager"),
        events=boto3.client("events"),
    )
    yield
    _forget_clients()


def _forget_clients() -> None:
    """Cached clients and connections belong to one mock; drop them between tests."""
    from pwreset.api import origin_verify
    from pwreset.core import public_urls
    from pwreset.core.aws import forget_clients
    from pwreset.credentials import notifications, ratelimit, resets
    from pwreset.delivery import sns
    from pwreset.storage import models

    origin_verify.origin_secret.cache_clear()
    public_urls.forget()
    sns.default_verifier.cache_clear()
    ratelimit.limiter.cache_clear()
    resets.reset_guards()
    notifications.reset_clients()
    forget_clients()
    for model in vars(models).values():
        if isinstance(model, type) and issubclass(model, models.Model) and model is not models.Model:
            model._connection = None


@pytest.fixture
def demo(aws: None) -> dict[str, dict[str, Any]]:
    """The demo firms and accounts, provisioned through the signed provisioning API."""
    data = load_demo_data()
    seed(data, Api().provision)
    return accounts_by_id(data)


@pytest.fixture
def api(aws: None) -> Api:
    return Api()


@pytest.fixture
def fake_sns(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSns]:
    """SNS's certificate host, serving the test signer's certificate at its URL."""
    from pwreset.delivery import sns

    yield install_fake_sns(monkeypatch, {DEFAULT_CERT_URL: signer().cert_pem})
    sns.default_verifier.cache_clear()


@pytest.fixture
def simulator(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SesSimulator]:
    """The local stack's SES simulator wired as the local stack wires it: signed posts into the
    webhook (each must be accepted), its certificate trusted through the local-only setting."""
    from pwreset.core.config import settings
    from pwreset.delivery import sns

    local_signer = SnsSigner()
    monkeypatch.setenv("SNS_TRUSTED_CERT_PEM_PATH", str(local_signer.write_cert(tmp_path / "sns.pem")))
    settings.cache_clear()
    sns.default_verifier.cache_clear()

    def deliver(headers: dict[str, str], body: bytes) -> Any:
        response = gateway().handle(HttpRequest("POST", "/v1/webhooks/ses", list(headers.items()), body))
        assert response.status == 200, response.body
        return response

    yield SesSimulator(
        topic_arn=os.environ["SES_EVENTS_TOPIC_ARN"], signer=local_signer, deliver=deliver, delay_seconds=0
    )
    settings.cache_clear()
    sns.default_verifier.cache_clear()
