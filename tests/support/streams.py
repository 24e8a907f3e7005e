"""Lambda's DynamoDB-stream event source mapping in miniature, for tests under moto.

Records are the real ones: read with moto's ``dynamodbstreams`` ``GetRecords`` and shaped as Lambda
hands them to a function (``eventSourceARN`` added). What the mapping does with them follows the
template's event (``BatchSize``, ``FilterCriteria``, ``MaximumRetryAttempts``,
``BisectBatchOnFunctionError``, ``ReportBatchItemFailures``, ``DestinationConfig.OnFailure``) and
AWS's documented behaviour ("Configuring partial batch response with DynamoDB and Lambda"):

* filtered-out records are dropped, never delivered;
* a response with ``batchItemFailures`` moves the checkpoint to the lowest failed sequence number;
  the batch is split there and only the records from it on are retried;
* a function error (an exception; powertools raises one when every record failed) retries the
  batch, split in two first when bisecting is on;
* after ``MaximumRetryAttempts`` retries the batch's position goes to the on-failure queue as a
  ``DDBStreamBatchInfo`` message and processing moves past it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

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


def matches(pattern: Any, value: Any) -> bool:
    """Lambda event filtering for the patterns this project uses: nested keys, lists of exact values."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and matches(p, value[k]) for k, p in pattern.items()
        )
    if isinstance(pattern, list):
        if any(isinstance(alternative, dict) for alternative in pattern):
            raise NotImplementedError("content filters (prefix, numeric, exists...) are not simulated")
        return value in pattern
    raise NotImplementedError(f"unsupported filter pattern {pattern!r}")


@dataclass
class MappingRun:
    invocations: int = 0
    delivered: list[list[str]] = field(default_factory=list)  # sequence numbers per invocation
    sent_to_on_failure: list[dict[str, Any]] = field(default_factory=list)


class EventSourceMapping:
    """The template's DynamoDB event for ``function_id``, run once over the whole stream."""

    def __init__(
        self, template: SamTemplate, function_id: str, invoke: Callable[[dict[str, Any]], Any]
    ) -> None:
        [subscription] = [s for s in template.stream_subscriptions() if s.function == function_id]
        self.subscription = subscription
        self.table_name = template.physical_name(subscription.table)
        self.filters = [json.loads(p) for p in subscription.filter_patterns]
        self.invoke = invoke
        events = template.functions()[function_id]["Properties"]["Events"]
        [props] = [e["Properties"] for e in events.values() if e.get("Type") == "DynamoDB"]
        destination = (props.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        self.on_failure_queue = template.resolve(destination) if destination else None
        self.function_arn = f"arn:aws:lambda:eu-central-1:123456789012:function:{function_id}"

    def selected(self, record: dict[str, Any]) -> bool:
        return not self.filters or any(matches(f, record) for f in self.filters)

    def run(self) -> MappingRun:
        run = MappingRun()
        records = [r for r in stream_records(self.table_name) if self.selected(r)]
        size = self.subscription.batch_size
        for start in range(0, len(records), size):
            self._process(records[start : start + size], retries=0, run=run)
        return run

    def _process(self, batch: list[dict[str, Any]], *, retries: int, run: MappingRun) -> None:
        sub = self.subscription
        while batch:
            run.invocations += 1
            run.delivered.append([r["dynamodb"]["SequenceNumber"] for r in batch])
            try:
                response = self.invoke(lambda_event(batch))
            except Exception:
                if retries >= sub.maximum_retry_attempts:
                    self._give_up(batch, retries, run)
                    return
                retries += 1
                if sub.bisect_on_error and len(batch) > 1:
                    half = len(batch) // 2
                    self._process(batch[:half], retries=retries, run=run)
                    self._process(batch[half:], retries=retries, run=run)
                    return
                continue
            failed = (
                [f.get("itemIdentifier") for f in ((response or {}).get("batchItemFailures") or [])]
                if sub.report_batch_item_failures
                else []
            )
            if not failed:
                return
            sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
            # Checkpoint at the lowest failed record: everything before it is done.
            batch = batch[min(sequence.index(f) for f in failed) :]
            if retries >= sub.maximum_retry_attempts:
                self._give_up(batch, retries, run)
                return
            retries += 1

    def _give_up(self, batch: list[dict[str, Any]], retries: int, run: MappingRun) -> None:
        first, last = batch[0], batch[-1]
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": retries + 1,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": "shardId-local",
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": first["dynamodb"].get("ApproximateCreationDateTime"),
                "approximateArrivalOfLastRecord": last["dynamodb"].get("ApproximateCreationDateTime"),
                "batchSize": len(batch),
                "streamArn": first["eventSourceARN"],
            },
        }
        run.sent_to_on_failure.append(message)
        if self.on_failure_queue:
            sqs = boto3.client("sqs")
            url = sqs.get_queue_url(QueueName=self.on_failure_queue)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
