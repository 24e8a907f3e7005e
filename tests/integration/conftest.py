"""Handlers under moto's ``mock_aws``, tables built from ``template.yaml``, demo data seeded; the
fake SNS certificate host and the local stack's SES simulator for the webhook's tests."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from devstack.gateway import FunctionRunner, HttpRequest
from devstack.motolock import serialize_dynamodb
from devstack.seed import accounts_by_id, load_demo_data, seed
from devstack.ses_simulator import SesSimulator
from devstack.sns_signer import DEFAULT_CERT_URL, SnsSigner
from support.api import Api, forget_queues, gateway
from support.environment import TEMPLATE
from support.leaks import THIS_TEST, Secrets, leaks_in
from support.moto_state import MotoState
from support.provisioned import provision_under_moto
from support.sent_mail import SesSpy
from support.sns import FakeSns, install_fake_sns, signer
from support.streams import notifications


@pytest.fixture(scope="session", autouse=True)
def botocore_data_parsed_once() -> Iterator[None]:
    """Every test gets new botocore sessions (the handlers' cached clients are forgotten between
    tests); they share one loader per data path, so that botocore's service models and endpoint
    rules are read and parsed once per test process, not once per test."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(
            botocore.session, "create_loader", functools.cache(botocore.loaders.create_loader)
        )
        yield


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


def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's ``mock_aws`` with fake credentials, nothing in it yet."""
    _fake_credentials(monkeypatch)
    with mock_aws():
        yield


@dataclass(frozen=True)
class Built:
    provisioned: MotoState  # the template's tables, queues and SES identity
    seeded: MotoState  # and the demo firms and accounts in them


@pytest.fixture(scope="session")
def built_once() -> Built:
    """The template's resources built from ``template.yaml``, then the demo data provisioned
    through the signed provisioning API, once per test process; each test restores a copy into its
    own fresh mock (``support.moto_state``)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _fake_credentials(monkeypatch)
        with mock_aws():
            serialize_dynamodb()  # moto's transactions are not atomic across threads on their own
            _forget_clients()
            provision_under_moto(TEMPLATE)
            provisioned = MotoState.save()
            seed(load_demo_data(), Api().provision)
            seeded = MotoState.save()
            _forget_clients()
    return Built(provisioned=provisioned, seeded=seeded)


@pytest.fixture
def aws(built_once: Built, mocked_aws: None, request: pytest.FixtureRequest) -> Iterator[None]:
    """The template's tables, queues, event bus, origin secret and SES identity under moto (with
    the demo data already in them when the test asks for ``demo``), and no client of an earlier
    mock."""
    serialize_dynamodb()
    _forget_clients()
    (built_once.seeded if "demo" in request.fixturenames else built_once.provisioned).restore()
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
    forget_queues()
    for model in vars(models).values():
        if isinstance(model, type) and issubclass(model, models.Model) and model is not models.Model:
            model._connection = None


@pytest.fixture
def demo(aws: None) -> dict[str, dict[str, Any]]:
    """The demo firms and accounts, provisioned through the signed provisioning API (``aws`` has
    restored them)."""
    return accounts_by_id(load_demo_data())


@pytest.fixture
def api(aws: None) -> Api:
    return Api()


# Every mail and the notification stream, for a test module that does not define its own.
@pytest.fixture
def mails(monkeypatch: pytest.MonkeyPatch) -> SesSpy:
    """Every mail the service sends, whole (moto keeps only the HTML part)."""
    return SesSpy(monkeypatch)


@pytest.fixture(scope="module")
def runner() -> FunctionRunner:
    return FunctionRunner(TEMPLATE)


@pytest.fixture
def stream(demo: dict[str, Any], runner: FunctionRunner) -> Callable[[], None]:
    """Runs the notification function over the events stream, as the template's mapping does."""
    return notifications(TEMPLATE, runner)


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
