"""The tables' DynamoDB streams under moto: their records as Lambda delivers them, and the
template's event source mapping run over them by the local stack's poller (``devstack.streams``,
whose own tests hold it to Lambda's documented behaviour).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config

from devstack.gateway import FunctionRunner
from devstack.streams import pollers_for
from devstack.template import SamTemplate

# botocore sends stream calls with an account ID in the host name, which moto does not serve.
_STREAMS_CONFIG = Config(account_id_endpoint_mode="disabled")


def streams_client() -> Any:
    return boto3.client("dynamodbstreams", config=_STREAMS_CONFIG)


def stream_arn(table_name: str) -> str:
    return str(boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"])


def stream_records(table_name: str) -> list[dict[str, Any]]:
    """Every record of the table's stream, oldest first, shaped as Lambda delivers them."""
    client = streams_client()
    arn = stream_arn(table_name)
    region = arn.split(":")[3]
    records: list[dict[str, Any]] = []
    for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = client.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = client.get_records(ShardIterator=iterator)
            for record in page["Records"]:
                records.append(_as_lambda_record(record, arn, region))
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records


def _as_lambda_record(record: dict[str, Any], arn: str, region: str) -> dict[str, Any]:
    shaped = json.loads(json.dumps(record, default=str))
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):  # boto3 parsed it; Lambda sends epoch seconds
        shaped["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
    shaped["awsRegion"] = region
    shaped["eventSourceARN"] = arn
    return shaped


def lambda_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


@dataclass
class MappingRun:
    invocations: int
    delivered: list[list[str]]  # the sequence numbers of each batch, one list per invocation


class _RecordingRunner(FunctionRunner):
    """``runner``, writing down each batch it is handed."""

    def __init__(self, runner: FunctionRunner) -> None:
        super().__init__(runner.template)
        self.runner = runner
        self.delivered: list[list[str]] = []

    def invoke(self, logical_id: str, event: dict[str, Any], *, throttle: bool = False) -> Any:
        self.delivered.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        return self.runner.invoke(logical_id, event, throttle=throttle)


def run_mapping(template: SamTemplate, function_id: str, runner: FunctionRunner) -> MappingRun:
    """The template's DynamoDB event for ``function_id``, run once over the whole stream as the
    local stack runs it: filters, batches, retries, bisection, the on-failure destination."""
    recording = _RecordingRunner(runner)
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    pollers = pollers_for(template, recording, dynamodb=dynamodb, streams=streams_client(), sqs=sqs)
    [poller] = [p for p in pollers if p.sub.function == function_id]
    poller.drain()
    return MappingRun(poller.invocations, recording.delivered)


def notifier(template: SamTemplate, runner: FunctionRunner) -> Callable[[], None]:
    """A call that runs the notification function over the events stream, as the template's mapping
    does (from the start each time: every redelivered event must send nothing new); the mapping's
    dead-letter queue is made first."""
    boto3.client("sqs").create_queue(QueueName=template.physical_name("NotifyDeadLetterQueue"))

    def run() -> None:
        run_mapping(template, "NotifyPasswordChangedFunction", runner)

    return run
