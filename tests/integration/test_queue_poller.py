"""The local stack runs queue-triggered functions as Lambda's SQS event source mapping does, and
``tests/queues.py`` drains a queue into a function the same way for the integration tests.

A throwaway consumer (``tests/fixtures/probe_queue``) reads a queue with a dead-letter queue in a
copy of ``template.yaml``; each test sets the mapping's options and sends messages under moto.
Bodies say how the probe should misbehave (see the probe's docstring).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel
from moto import mock_aws

from devstack.gateway import FunctionRunner
from devstack.pool import PooledRunner
from devstack.queues import QueuePoller
from devstack.template import SamTemplate, provision_queues
from support.probe_functions import PROBE_QUEUE, QUEUE_PROBE, probe_queue_resources
from support.queues import QueueMapping
from support.template_copies import template_copy


@pytest.fixture
def aws_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    shared = sys.modules.get("_probe_queue_shared")
    if shared is not None:
        shared.seen.clear()  # "once" is per test
    with mock_aws():
        yield


class Wired:
    """The copy's probe queue, the mapping that feeds the probe, and what the probe saw."""

    def __init__(self, template: SamTemplate) -> None:
        self.template = template
        self.sqs = boto3.client("sqs")
        provision_queues(template, self.sqs)
        self.runner = FunctionRunner(template)
        self.events: list[dict[str, Any]] = []
        self.mapping = QueueMapping(template, QUEUE_PROBE, self._invoke)
        self.ids: dict[str, str] = {}  # MessageId -> the probe's id

    def _invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        return self.runner.invoke(QUEUE_PROBE, event)

    def send(self, probe_id: str, probe: str = "ok", **body: Any) -> None:
        message_id = self.mapping.send({"id": probe_id, "probe": probe, **body})
        self.ids[message_id] = probe_id

    def names(self, message_ids: list[str]) -> list[str]:
        return [self.ids[m] for m in message_ids]

    def dead_letters(self) -> list[str]:
        return sorted(json.loads(m["Body"])["id"] for m in self.mapping.dead_letters())

    def left_in_queue(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.mapping.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


@pytest.fixture
def wire(aws_only: None, tmp_path: Path) -> Callable[..., Wired]:
    def make(**event_properties: Any) -> Wired:
        function_properties = event_properties.pop("function_properties", None)
        resources = probe_queue_resources(function_properties=function_properties, **event_properties)
        return Wired(SamTemplate(template_copy(tmp_path / "template", resources)))

    return make


def test_batches_are_at_most_batch_size_and_processed_messages_are_deleted(
    wire: Callable[..., Wired],
) -> None:
    wired = wire(BatchSize=3)
    for n in range(7):
        wired.send(f"m{n}")

    run = wired.mapping.run()

    assert [wired.names(batch) for batch in run.delivered] == [["m0", "m1", "m2"], ["m3", "m4", "m5"], ["m6"]]
    assert sorted(wired.names(run.deleted)) == [f"m{n}" for n in range(7)]
    assert wired.left_in_queue() == 0


def test_a_partial_batch_failure_returns_only_the_failed_messages(wire: Callable[..., Wired]) -> None:
    wired = wire(FunctionResponseTypes=["ReportBatchItemFailures"])
    wired.send("a")
    wired.send("b", "report-once")
    wired.send("c")

    run = wired.mapping.run()

    assert [wired.names(batch) for batch in run.delivered] == [["a", "b", "c"], ["b"]]
    assert wired.names(run.failed) == ["b"]
    assert wired.names(run.deleted) == ["a", "c", "b"]
    assert wired.left_in_queue() == 0
    assert wired.dead_letters() == []


def test_a_message_that_keeps_failing_lands_in_the_dead_letter_queue_after_max_receive_count(
    wire: Callable[..., Wired],
) -> None:
    wired = wire(max_receive_count=2, FunctionResponseTypes=["ReportBatchItemFailures"])
    wired.send("fine")
    wired.send("poison", "report")

    run = wired.mapping.run()

    # Received twice (maxReceiveCount), then SQS moves it on the next receive.
    assert [wired.names(batch) for batch in run.delivered] == [["fine", "poison"], ["poison"]]
    assert wired.dead_letters() == ["poison"]
    assert wired.left_in_queue() == 0


def test_a_function_error_fails_the_whole_batch(wire: Callable[..., Wired]) -> None:
    wired = wire(max_receive_count=3)
    wired.send("fine")
    wired.send("crashes-once", "crash-once")

    run = wired.mapping.run()

    assert [wired.names(batch) for batch in run.delivered] == [
        ["fine", "crashes-once"],
        ["fine", "crashes-once"],
    ]
    assert sorted(wired.names(run.deleted)) == ["crashes-once", "fine"]
    assert wired.dead_letters() == []


def test_without_report_batch_item_failures_a_reported_failure_is_ignored(wire: Callable[..., Wired]) -> None:
    wired = wire()
    wired.send("reported", "report")

    run = wired.mapping.run()

    assert run.invocations == 1
    assert wired.names(run.deleted) == ["reported"]


def test_an_invalid_item_identifier_fails_the_whole_batch(wire: Callable[..., Wired]) -> None:
    wired = wire(FunctionResponseTypes=["ReportBatchItemFailures"])
    wired.send("a")
    wired.send("blank", "report-blank")

    run = wired.mapping.run()

    assert [wired.names(batch) for batch in run.delivered] == [["a", "blank"], ["a", "blank"]]
    assert wired.left_in_queue() == 0


def test_filter_criteria_drop_and_delete_messages_that_match_no_filter(wire: Callable[..., Wired]) -> None:
    wired = wire(FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["wanted"]}})}]})
    wired.send("w1", kind="wanted")
    wired.send("u1", kind="unwanted")
    wired.mapping.send("not json at all")

    run = wired.mapping.run()

    assert [wired.names(batch) for batch in run.delivered] == [["w1"]]
    assert len(run.deleted) == 3
    assert wired.left_in_queue() == 0


def test_the_batching_window_gathers_more_than_one_receive(wire: Callable[..., Wired]) -> None:
    wired = wire(BatchSize=25, MaximumBatchingWindowInSeconds=1)
    for n in range(25):
        wired.send(f"m{n}")

    run = wired.mapping.run()

    assert [len(batch) for batch in run.delivered] == [25]  # SQS hands out 10 per receive


def test_records_are_shaped_as_lambda_delivers_them(wire: Callable[..., Wired]) -> None:
    wired = wire()
    wired.mapping.send(
        json.dumps({"id": "m1"}),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "reset_link"}},
    )

    wired.mapping.run()

    [event] = wired.events
    parsed = SqsModel.model_validate(event)  # powertools' model of Lambda's SQS event
    [record] = parsed.Records
    assert record.eventSource == "aws:sqs"
    assert record.eventSourceARN == wired.template.queue_arn(PROBE_QUEUE)
    assert record.attributes.ApproximateReceiveCount == "1"
    assert record.messageAttributes["kind"].stringValue == "reset_link"
    assert record.body == json.dumps({"id": "m1"})


def test_start_up_refuses_what_lambda_refuses(wire: Callable[..., Wired]) -> None:
    with pytest.raises(ValueError, match="visibility timeout"):
        wire(visibility_timeout=1, function_properties={"Timeout": 5})
    with pytest.raises(ValueError, match="MaximumBatchingWindowInSeconds"):
        wire(BatchSize=20)


def test_the_poller_runs_batches_in_parallel_up_to_maximum_concurrency(wire: Callable[..., Wired]) -> None:
    wired = wire(BatchSize=1, ScalingConfig={"MaximumConcurrency": 2})
    runner = PooledRunner(wired.template, concurrency=5)
    [subscription] = [s for s in wired.template.queue_subscriptions() if s.function == QUEUE_PROBE]
    poller = QueuePoller(wired.template, subscription, runner, sqs=wired.sqs)
    for n in range(4):
        wired.send(f"m{n}", "hold-0.3")

    poller.start()
    try:
        deadline = time.monotonic() + 15
        while poller.deleted < 4:
            assert time.monotonic() < deadline, "the poller did not process every message"
            time.sleep(0.02)
    finally:
        poller.stop()

    stats = runner.pools[QUEUE_PROBE].stats()
    assert stats.peak_busy == 2  # two batches at once, never more
    assert stats.environments == 2
    assert wired.left_in_queue() == 0
