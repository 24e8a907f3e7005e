"""The local stack runs stream-triggered functions as Lambda's event source mapping does.

A throwaway consumer (``tests/fixtures/probe_stream``) is wired to the events table's stream in a
copy of ``template.yaml``; each test sets one mapping's options there and writes records under
moto. Items say how the probe should misbehave (see the probe's docstring).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.gateway import FunctionRunner
from devstack.streams import pollers_for
from devstack.template import SamTemplate, provision
from support.streams import stream_records, streams_client
from support.template_copies import probe_stream_function, template_copy

PROBE = "ProbeStreamFunction"


FAILURE_QUEUE = "ProbeFailureQueue"


class Wired:
    """The copy's events table, the probe's poller, and what the probe saw."""

    def __init__(self, template: SamTemplate) -> None:
        self.template = template
        self.dynamodb = boto3.client("dynamodb")
        self.sqs = boto3.client("sqs")
        provision(template, dynamodb=self.dynamodb, sqs=self.sqs)
        self.runner = FunctionRunner(template)
        [self.poller] = [
            p
            for p in pollers_for(
                template,
                self.runner,
                dynamodb=self.dynamodb,
                streams=streams_client(),
                sqs=self.sqs,
            )
            if p.sub.function == PROBE
        ]
        self.table = template.physical_name("EventsTable")
        self.sequence: dict[str, str] = {}

    def put(self, event_id: str, probe: str = "ok", event_type: str = "reset_requested") -> None:
        self.dynamodb.put_item(
            TableName=self.table,
            Item={"event_id": {"S": event_id}, "type": {"S": event_type}, "probe": {"S": probe}},
        )

    def run(self) -> list[list[str]]:
        self.poller.drain()
        batches: list[list[str]] = self.runner.module(PROBE).BATCHES
        return batches

    def failures(self) -> list[dict[str, Any]]:
        url = self.sqs.get_queue_url(QueueName=self.template.physical_name(FAILURE_QUEUE))["QueueUrl"]
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def sequence_numbers(self) -> dict[str, str]:
        """event_id -> SequenceNumber, read back from the stream."""
        records = stream_records(self.table)
        return {r["dynamodb"]["Keys"]["event_id"]["S"]: r["dynamodb"]["SequenceNumber"] for r in records}


@pytest.fixture
def wire(mocked_aws: None, tmp_path: Path) -> Callable[..., Wired]:
    def make(**event_properties: Any) -> Wired:
        resources: dict[str, Any] = {PROBE: probe_stream_function(**event_properties)}
        if "DestinationConfig" in event_properties:
            resources[FAILURE_QUEUE] = {"Type": "AWS::SQS::Queue"}
        path = template_copy(tmp_path, resources)
        return Wired(SamTemplate(path, name_prefix="poll-"))

    return make


ON_FAILURE = {"OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": [FAILURE_QUEUE, "Arn"]}}}


def test_records_arrive_in_batches_of_at_most_batch_size(wire: Callable[..., Wired]) -> None:
    wired = wire(BatchSize=2)
    for i in range(1, 6):
        wired.put(f"e{i}")

    assert wired.run() == [["e1", "e2"], ["e3", "e4"], ["e5"]]


def test_a_record_has_the_shape_lambda_delivers(
    wire: Callable[..., Wired], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "events.jsonl"
    monkeypatch.setenv("PROBE_STREAM_LOG", str(log))
    wired = wire(BatchSize=10)
    wired.put("e1")
    wired.run()

    [event] = [json.loads(line) for line in log.read_text().splitlines()]
    [record] = event["Records"]
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == wired.poller.stream_arn
    assert ":table/poll-EventsTable/stream/" in record["eventSourceARN"]
    assert record["awsRegion"] == "eu-central-1"
    assert record["eventVersion"]
    assert record["eventID"]
    dynamodb = record["dynamodb"]
    assert dynamodb["Keys"] == {"event_id": {"S": "e1"}}
    assert dynamodb["NewImage"]["type"] == {"S": "reset_requested"}
    assert dynamodb["StreamViewType"] == "NEW_IMAGE"
    assert isinstance(dynamodb["ApproximateCreationDateTime"], int)
    assert dynamodb["SequenceNumber"] == wired.sequence_numbers()["e1"]
    assert dynamodb["SizeBytes"] > 0


def test_partial_batch_failure_retries_from_the_first_failed_record(wire: Callable[..., Wired]) -> None:
    wired = wire(BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    wired.put("e1")
    wired.put("e2", "report-once")
    wired.put("e3")
    wired.put("e4", "report-once")

    # Both e2 and e4 failed; the lowest is the checkpoint, so e2 and everything after it comes again.
    assert wired.run() == [["e1", "e2", "e3", "e4"], ["e2", "e3", "e4"]]


def test_batch_item_failures_are_ignored_unless_the_mapping_asks_for_them(wire: Callable[..., Wired]) -> None:
    wired = wire(BatchSize=10)
    wired.put("e1")
    wired.put("e2", "report")

    assert wired.run() == [["e1", "e2"]]


def test_a_blank_item_identifier_fails_the_whole_batch(wire: Callable[..., Wired]) -> None:
    wired = wire(BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    wired.put("e1")
    wired.put("e2", "report-blank")

    assert wired.run() == [["e1", "e2"], ["e1", "e2"]]


def test_a_function_error_retries_the_whole_batch_until_it_succeeds(wire: Callable[..., Wired]) -> None:
    wired = wire(BatchSize=10, **{"DestinationConfig": ON_FAILURE})
    wired.put("e1")
    wired.put("e2", "crash-once")

    assert wired.run() == [["e1", "e2"], ["e1", "e2"]]
    assert wired.failures() == []


def test_exhausted_retries_send_the_batch_to_the_on_failure_queue_and_move_on(
    wire: Callable[..., Wired],
) -> None:
    wired = wire(BatchSize=2, MaximumRetryAttempts=2, DestinationConfig=ON_FAILURE)
    wired.put("e1")
    wired.put("e2", "crash")
    wired.put("e3")
    sequence = wired.sequence_numbers()

    # One try and two retries, then the stream moves on to e3.
    assert wired.run() == [["e1", "e2"], ["e1", "e2"], ["e1", "e2"], ["e3"]]
    [failure] = wired.failures()
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["functionArn"].endswith(f":function:{PROBE}")
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["responseContext"]["functionError"] == "Unhandled"
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == sequence["e1"]
    assert info["endSequenceNumber"] == sequence["e2"]
    assert info["batchSize"] == 2
    assert info["streamArn"] == wired.poller.stream_arn
    assert info["shardId"]


def test_exhausted_partial_failures_send_only_the_unprocessed_records(wire: Callable[..., Wired]) -> None:
    wired = wire(
        BatchSize=10,
        MaximumRetryAttempts=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig=ON_FAILURE,
    )
    wired.put("e1")
    wired.put("e2", "report")
    wired.put("e3")
    sequence = wired.sequence_numbers()

    assert wired.run() == [["e1", "e2", "e3"], ["e2", "e3"]]
    [failure] = wired.failures()
    info = failure["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        sequence["e2"],
        sequence["e3"],
        2,
    )
    assert "functionError" not in failure["responseContext"]


def test_bisect_on_error_isolates_a_poison_record(wire: Callable[..., Wired]) -> None:
    wired = wire(
        BatchSize=4, BisectBatchOnFunctionError=True, MaximumRetryAttempts=3, DestinationConfig=ON_FAILURE
    )
    for i in range(1, 5):
        wired.put(f"e{i}", "crash" if i == 3 else "ok")
    sequence = wired.sequence_numbers()

    assert wired.run() == [
        ["e1", "e2", "e3", "e4"],  # fails: split in two
        ["e1", "e2"],  # succeeds
        ["e3", "e4"],  # fails: split again
        ["e3"],  # fails (third attempt)
        ["e3"],  # fails, retries exhausted: skipped
        ["e4"],  # succeeds
    ]
    [failure] = wired.failures()
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequence["e3"]
    assert info["batchSize"] == 1


def test_without_a_destination_an_exhausted_batch_is_dropped(wire: Callable[..., Wired]) -> None:
    wired = wire(BatchSize=1, MaximumRetryAttempts=0)
    wired.put("e1", "crash")
    wired.put("e2")

    assert wired.run() == [["e1"], ["e2"]]


def test_filter_criteria_pass_only_matching_records_and_consume_the_rest(wire: Callable[..., Wired]) -> None:
    wired = wire(
        BatchSize=10,
        FilterCriteria={
            "Filters": [
                {
                    "Pattern": json.dumps(
                        {
                            "eventName": ["INSERT"],
                            "dynamodb": {"NewImage": {"type": {"S": ["password_changed"]}}},
                        }
                    )
                },
                {"Pattern": json.dumps({"dynamodb": {"NewImage": {"type": {"S": [{"prefix": "ses_"}]}}}})},
            ]
        },
    )
    wired.put("e1", event_type="reset_requested")
    wired.put("e2", event_type="password_changed")
    wired.put("e3", event_type="ses_bounce")
    wired.put("e4", event_type="session_started")
    wired.dynamodb.update_item(  # a MODIFY of a password_changed item: not an INSERT
        TableName=wired.table,
        Key={"event_id": {"S": "e2"}},
        UpdateExpression="SET probe = :p",
        ExpressionAttributeValues={":p": {"S": "ok"}},
    )

    assert wired.run() == [["e2", "e3"]]
    assert wired.run() == [["e2", "e3"]]  # the filtered-out records are not delivered later


def test_an_invalid_filter_pattern_fails_at_start_up(wire: Callable[..., Wired]) -> None:
    with pytest.raises(ValueError, match="filter"):
        wire(FilterCriteria={"Filters": [{"Pattern": json.dumps({"eventName": "INSERT"})}]})
