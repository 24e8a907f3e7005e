"""``make dev`` scales like Lambda, runs queue-triggered functions and injects faults: a stack on a
copy of ``template.yaml`` with a throwaway API function (``tests/fixtures/probe_pool``) and a
throwaway queue consumer (``tests/fixtures/probe_queue``) with its dead-letter queue, started with
``CONCURRENCY=4`` and a fault rule, and spoken to over HTTP (and moto's SQS for the queue)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from support.local_stack import Response, Stack, start_stack, stop_stack
from support.probe_functions import (
    POOL_PROBE,
    POOL_PROBE_PATH,
    PROBE_DLQ,
    PROBE_QUEUE,
    probe_pool_function,
    probe_queue_resources,
)
from support.template_copies import template_copy

pytestmark = pytest.mark.e2e

CONCURRENCY = 4
FAULTS_AT_START = "sesv2.GetAccount=1"  # an operation no handler calls: armed, harmless
OWNER = ("petra.berger@berger-steuer.example", "Kanzlei-Demo-Owner-2026")
MEMBER = "jonas.weber@berger-steuer.example"


@dataclass
class ProbeStack:
    stack: Stack
    queue_log: Path

    def sqs(self) -> Any:
        return boto3.client(
            "sqs",
            endpoint_url=f"http://127.0.0.1:{self.stack.moto_port}",
            region_name="eu-central-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def queue_url(self, name: str) -> str:
        return str(self.sqs().get_queue_url(QueueName=f"local-{name}")["QueueUrl"])

    def messages_in(self, name: str) -> int:
        attributes = self.sqs().get_queue_attributes(
            QueueUrl=self.queue_url(name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())

    def delivered(self) -> list[str]:
        """The probe id of every message the queue function got, in order."""
        if not self.queue_log.exists():
            return []
        events = [json.loads(line) for line in self.queue_log.read_text().splitlines()]
        return [json.loads(r["body"])["id"] for event in events for r in event["Records"]]

    def health(self) -> dict[str, Any]:
        return dict(self.stack.get("/_dev/health").json())


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeStack]:
    work = tmp_path_factory.mktemp("scaling")
    queue_log = work / "queue.jsonl"
    resources = probe_queue_resources(
        visibility_timeout=1,
        max_receive_count=2,
        function_properties={"Environment": {"Variables": {"PROBE_QUEUE_LOG": str(queue_log)}}},
        BatchSize=5,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    template = template_copy(work / "template", {POOL_PROBE: probe_pool_function(), **resources})
    stack = start_stack(
        work / "logs",
        template=template,
        env={"CONCURRENCY": str(CONCURRENCY), "FAULTS": FAULTS_AT_START, "FAULT_SEED": "11"},
    )
    yield ProbeStack(stack, queue_log)
    assert stop_stack(stack) == 0, stack.output()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def all_at_once(count: int, call: Callable[[], Response]) -> list[Response]:
    with ThreadPoolExecutor(count) as threads:
        futures = [threads.submit(call) for _ in range(count)]
        return [future.result() for future in futures]


def test_overlapping_requests_run_in_parallel_environments_up_to_the_cap(probe: ProbeStack) -> None:
    stack = probe.stack
    # Four requests pass a barrier for four only if the four handlers run at the same time.
    overlapping = all_at_once(4, lambda: stack.get(f"{POOL_PROBE_PATH}?barrier=e2e&parties=4"))
    assert [r.status for r in overlapping] == [200] * 4
    assert len({r.json()["environment"] for r in overlapping}) == 4

    more = all_at_once(10, lambda: stack.get(f"{POOL_PROBE_PATH}?hold=0.2"))

    assert [r.status for r in more] == [200] * 10  # beyond the cap requests wait, none fails
    pool = probe.health()["functions"][POOL_PROBE]
    assert (pool["environments"], pool["peak_busy"], pool["limit"]) == (CONCURRENCY,) * 3


def test_simultaneous_self_service_requests_are_each_answered_and_each_handled_from_the_queue(
    probe: ProbeStack,
) -> None:
    stack = probe.stack

    answers = all_at_once(
        20, lambda: stack.post("/v1/password-resets", {"email": f"nobody-{time.monotonic_ns()}@example.net"})
    )

    assert [a.status for a in answers] == [202] * 20
    # SelfServiceResetFunction takes every request off the queue (and mails no one: none exists).
    wait_until(lambda: probe.messages_in("SelfServiceQueue") == 0)
    assert probe.messages_in("SelfServiceDeadLetterQueue") == 0
    handled = probe.health()["functions"]["SelfServiceResetFunction"]
    assert handled["invocations"] >= 1, handled


def test_requests_to_different_functions_at_once_are_each_handled_and_logged_as_their_own(
    probe: ProbeStack,
) -> None:
    stack = probe.stack

    def request(n: int) -> Response:
        if n % 2:
            return stack.post("/v1/sessions", {"email": MEMBER, "password": f"not-the-password-{n}"})
        return stack.post("/v1/password-resets", {"email": f"mixed-{n}@example.net"})

    with ThreadPoolExecutor(16) as threads:
        answers = list(threads.map(request, range(16)))

    assert [a.status for a in answers] == [202, 401] * 8
    wait_until(lambda: probe.messages_in("SelfServiceQueue") == 0)
    lines = [json.loads(line) for line in stack.output().splitlines() if line.startswith("{")]
    writers = {
        (line["message"], line.get("function_name"))
        for line in lines
        if line.get("message")
        in ("sign-in failed", "self-service request queued", "self-service reset not sent")
        # the test before spent the self-service limit of this client: those are dropped unqueued
        and line.get("reason") != "rate_limited"
    }
    assert writers == {
        ("sign-in failed", "SessionsFunction"),
        ("self-service request queued", "RequestResetFunction"),
        ("self-service reset not sent", "SelfServiceResetFunction"),
    }


def test_queue_messages_reach_their_function_and_a_failing_one_lands_in_the_dead_letter_queue(
    probe: ProbeStack,
) -> None:
    sqs, url = probe.sqs(), probe.queue_url(PROBE_QUEUE)
    for body in ({"id": "q1"}, {"id": "q2"}, {"id": "poison", "probe": "report"}, {"id": "q3"}):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))

    wait_until(lambda: probe.messages_in(PROBE_DLQ) == 1 and probe.messages_in(PROBE_QUEUE) == 0)

    delivered = probe.delivered()
    assert sorted(d for d in delivered if d != "poison") == ["q1", "q2", "q3"]
    assert delivered.count("poison") == 2  # maxReceiveCount, then SQS moved it
    [dead] = sqs.receive_message(QueueUrl=probe.queue_url(PROBE_DLQ))["Messages"]
    assert json.loads(dead["Body"])["id"] == "poison"


def test_faults_given_at_start_are_armed_and_counted(probe: ProbeStack) -> None:
    report = probe.stack.get("/_dev/faults").json()

    assert (report["faults"], report["seed"]) == (FAULTS_AT_START, 11)
    assert report["injected_total"] == 0  # nothing calls GetAccount


def test_an_injected_ses_throttle_outlasts_botocores_retries_and_the_send_answers_per_contract(
    probe: ProbeStack,
) -> None:
    stack = probe.stack
    signed_in = stack.post("/v1/sessions", {"email": OWNER[0], "password": OWNER[1]})
    assert signed_in.status == 201, signed_in.body
    token = signed_in.json()["session"]["token"]
    mails_before = len(stack.get("/_dev/mail.json").json()["messages"])
    armed = stack.request(
        "PUT", "/_dev/faults", json_body={"faults": "sesv2.SendEmail:TooManyRequestsException=1", "seed": 3}
    )
    assert armed.status == 200, armed.body
    try:
        sent = stack.post(
            "/v1/accounts/acc-berger-client-james/password-reset",
            headers={"Authorization": f"Bearer {token}"},
        )
        report = stack.get("/_dev/faults").json()
    finally:
        stack.request("PUT", "/_dev/faults", json_body={"faults": ""})

    assert (sent.status, sent.json()["error"]["code"]) == (502, "email_send_failed")
    attempts = report["calls"]["sesv2.SendEmail"]
    assert attempts > 1  # botocore retried the throttle before the handler saw it
    assert report["injected"] == {"sesv2.SendEmail": {"TooManyRequestsException": attempts}}
    assert len(stack.get("/_dev/mail.json").json()["messages"]) == mails_before
