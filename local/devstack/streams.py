"""Runs stream-triggered functions the way Lambda's DynamoDB event source mapping does.

For every ``Type: DynamoDB`` event in the template, one poller reads the table's stream (moto's
``dynamodbstreams``), drops records that no ``FilterCriteria`` pattern matches, and invokes the
function in this process with real ``{"Records": [...]}`` batches of at most ``BatchSize`` records,
one batch at a time (Lambda's default ``ParallelizationFactor`` of 1 per shard).
On failure it does what Lambda does:

* an exception (a function error) fails the whole batch; with ``BisectBatchOnFunctionError`` the
  batch is split in two and each half retried on its own;
* with ``ReportBatchItemFailures``, ``{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}]}``
  checkpoints before the lowest failed record and retries from there; an empty or null list is
  success, an empty, null or unknown identifier fails the whole batch;
* after ``MaximumRetryAttempts`` retries (-1: until the record expires) or once a record is older
  than ``MaximumRecordAgeInSeconds``, the batch is skipped and, when the template has an
  ``OnFailure`` destination, Lambda's failure record (batch info, not the records) is sent there.

A retry of a bisected half counts against ``MaximumRetryAttempts`` like any other retry (Lambda's
documentation does not say otherwise), so a poison record ends up alone in a batch and is skipped.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devstack.filters import matches_any
from devstack.gateway import Runner
from devstack.mapping import EventSourceMapping
from devstack.template import SamTemplate, StreamSubscription

log = logging.getLogger("devstack.streams")

ACCOUNT_ID = "123456789012"
POLL_INTERVAL_S = 0.25  # Lambda polls each shard about four times a second
GET_RECORDS_LIMIT = 1000


@dataclass
class _Work:
    records: list[dict[str, Any]]
    retries: int = 0


@dataclass
class _Outcome:
    ok: bool
    function_error: str | None = None  # "Unhandled" when the function raised
    failed_from: int | None = None  # index of the lowest reported failure


@dataclass
class ShardState:
    shard_id: str
    iterator: str | None
    pending: deque[dict[str, Any]] = field(default_factory=deque)


class StreamPoller(EventSourceMapping[StreamSubscription]):
    """One event source mapping: a table's stream feeding one function."""

    thread_prefix = "stream"

    def __init__(
        self,
        template: SamTemplate,
        subscription: StreamSubscription,
        runner: Runner,
        *,
        dynamodb: Any,
        streams: Any,
        sqs: Any | None = None,
        sns: Any | None = None,
        region: str = "eu-central-1",
    ) -> None:
        super().__init__(template, subscription, runner, region=region)
        self.streams = streams
        self.sqs = sqs
        self.sns = sns
        table_name = template.physical_name(subscription.table)
        described = dynamodb.describe_table(TableName=table_name)["Table"]
        self.stream_arn: str = described.get("LatestStreamArn") or ""
        if not self.stream_arn:
            raise ValueError(f"{subscription.function}: table {subscription.table} has no stream")
        self.shards: dict[str, ShardState] = {}
        # Completed rounds over every shard: a round that starts after a write sees its record.
        self.rounds = 0
        self._destination: str | None = self._resolve_destination()
        self._refresh_shards()

    @property
    def name(self) -> str:
        return f"{self.sub.function}/{self.sub.event or self.sub.table}"

    # ------------------------------------------------------------------ reading the stream
    def _refresh_shards(self) -> None:
        described = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in described.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self.shards:
                continue
            iterator_type = "LATEST" if self.sub.starting_position == "LATEST" else "TRIM_HORIZON"
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=iterator_type
            )["ShardIterator"]
            self.shards[shard_id] = ShardState(shard_id=shard_id, iterator=iterator)

    def _fetch(self, shard: ShardState) -> None:
        if shard.iterator is None:
            return
        response = self.streams.get_records(ShardIterator=shard.iterator, Limit=GET_RECORDS_LIMIT)
        shard.iterator = response.get("NextShardIterator")
        for raw in response.get("Records", []):
            record = self._lambda_record(raw)
            # Filtering happens before batching: a record that matches no pattern is consumed.
            if matches_any(self.patterns, record):
                shard.pending.append(record)

    def _lambda_record(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The record as Lambda delivers it: epoch-second timestamps, base64 binary values, the
        source ARN and the region."""
        record = as_delivered(raw)
        record["awsRegion"] = self.region
        record["eventSourceARN"] = self.stream_arn
        record.setdefault("eventSource", "aws:dynamodb")
        record.setdefault("eventVersion", "1.1")
        return record

    # ------------------------------------------------------------------ delivering
    def poll_once(self) -> int:
        """Read every shard once and deliver what arrived; returns the number of invocations."""
        before = self.invocations
        if not self.sub.enabled:
            return 0
        self._refresh_shards()
        for shard in self.shards.values():
            self._fetch(shard)
            while shard.pending and not self._stop.is_set():
                batch = [shard.pending.popleft() for _ in range(min(self.sub.batch_size, len(shard.pending)))]
                self._deliver(shard, batch)
        self.rounds += 1
        return self.invocations - before

    def drain(self, *, max_rounds: int = 20) -> int:
        """Poll until a round finds nothing new (tests use this instead of the thread)."""
        total = 0
        for _ in range(max_rounds):
            done = self.poll_once()
            total += done
            if done == 0:
                break
        return total

    def _deliver(self, shard: ShardState, batch: list[dict[str, Any]]) -> None:
        work: deque[_Work] = deque([_Work(batch)])
        while work and not self._stop.is_set():
            item = work.popleft()
            expired = self._too_old(item.records)
            if expired:
                self._give_up(shard, item, condition="RecordAgeExceeded", function_error=None)
                continue
            outcome = self._invoke(item.records)
            if outcome.ok:
                continue
            retries = item.retries + 1
            remaining = item.records
            if outcome.failed_from is not None:
                # Checkpoint before the lowest failed record; with bisect too, Lambda splits at
                # that record and retries only the rest.
                remaining = item.records[outcome.failed_from :]
            if 0 <= self.sub.maximum_retry_attempts < retries:
                self._give_up(
                    shard,
                    _Work(remaining, item.retries),
                    condition="RetryAttemptsExhausted",
                    function_error=outcome.function_error,
                )
                continue
            if outcome.failed_from is None and self.sub.bisect_on_error and len(remaining) > 1:
                half = len(remaining) // 2
                work.appendleft(_Work(remaining[half:], retries))
                work.appendleft(_Work(remaining[:half], retries))
            else:
                work.appendleft(_Work(remaining, retries))

    def _invoke(self, records: list[dict[str, Any]]) -> _Outcome:
        self.invocations += 1
        try:
            result = self.runner.invoke(self.sub.function, {"Records": records})
        except Exception:  # the function's error: Lambda logs it and retries the batch
            log.exception(
                "stream batch failed", extra={"function": self.sub.function, "batch_size": len(records)}
            )
            return _Outcome(ok=False, function_error="Unhandled")
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        failed = self.reported_failures(result, sequence_numbers, log)
        if failed is None:
            return _Outcome(ok=False)
        if not failed:
            return _Outcome(ok=True)
        return _Outcome(ok=False, failed_from=min(sequence_numbers.index(i) for i in failed))

    def _too_old(self, records: list[dict[str, Any]]) -> bool:
        limit = self.sub.maximum_record_age_seconds
        if limit < 0 or not records:
            return False
        created = records[0]["dynamodb"].get("ApproximateCreationDateTime")
        return isinstance(created, int | float) and time.time() - created > limit

    # ------------------------------------------------------------------ giving up
    def _resolve_destination(self) -> str | None:
        destination = self.sub.on_failure
        if destination is None:
            return None
        name = self.template.physical_name(destination.resource)
        if destination.type == "SQS":
            if self.sqs is None:
                raise ValueError(f"{self.name}: an SQS on-failure destination needs an SQS client")
            return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
        if destination.type == "SNS":
            if self.sns is None:
                raise ValueError(f"{self.name}: an SNS on-failure destination needs an SNS client")
            return f"arn:aws:sns:{self.region}:{ACCOUNT_ID}:{name}"
        raise ValueError(f"{self.name}: unsupported on-failure destination type {destination.type}")

    def _give_up(self, shard: ShardState, item: _Work, *, condition: str, function_error: str | None) -> None:
        log.error(
            "stream batch discarded",
            extra={
                "function": self.sub.function,
                "condition": condition,
                "first_sequence_number": item.records[0]["dynamodb"]["SequenceNumber"],
                "batch_size": len(item.records),
            },
        )
        if self._destination is None or self.sub.on_failure is None:
            return
        message = json.dumps(self.failure_record(shard, item, condition, function_error))
        if self.sub.on_failure.type == "SQS":
            assert self.sqs is not None
            self.sqs.send_message(QueueUrl=self._destination, MessageBody=message)
        else:
            assert self.sns is not None
            self.sns.publish(TopicArn=self._destination, Message=message)

    def failure_record(
        self, shard: ShardState, item: _Work, condition: str, function_error: str | None
    ) -> dict[str, Any]:
        """Lambda's on-failure invocation record for a stream batch: where the batch is, not what."""
        first, last = item.records[0]["dynamodb"], item.records[-1]["dynamodb"]
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            response["functionError"] = function_error
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.sub.function}",
                "condition": condition,
                "approximateInvokeCount": item.retries + 1,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(item.records),
                "streamArn": self.stream_arn,
            },
        }

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # moto going away at shutdown, a transient error: keep polling
                if self._stop.is_set():
                    return
                log.exception("stream poller error", extra={"poller": self.name})
            self._stop.wait(POLL_INTERVAL_S)


def pollers_for(template: SamTemplate, runner: Runner, **clients: Any) -> list[StreamPoller]:
    """A poller for every enabled stream mapping of the template (``clients``: as StreamPoller
    takes them, with the region)."""
    return [
        StreamPoller(template, sub, runner, **clients)
        for sub in template.stream_subscriptions()
        if sub.enabled
    ]


def as_delivered(value: Any) -> Any:
    """A stream record as Lambda delivers it (and its filters match it): boto3 hands back datetimes
    and bytes, Lambda's event has epoch seconds and base64 text."""
    if isinstance(value, dict):
        return {k: as_delivered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_delivered(v) for v in value]
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return value


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
