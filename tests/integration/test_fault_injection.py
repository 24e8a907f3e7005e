"""The local stack's moto server (``python -m devstack.motoserver``) answers with the errors AWS
returns when faults are armed, in the wire format botocore parses, before moto's state is touched;
and it counts what it injected.

One server process serves the module; each test arms its own rules through the control endpoint.
Clients that should see the injected answer itself make one attempt; the handlers' own
configuration (botocore's default retries) is tried separately.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[2]
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})
TABLE = "fault-probe"
SENDER = "sender@example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Moto:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def faults(self, spec: str | None = None, seed: int = 1) -> tuple[int, dict[str, Any]]:
        """Arm ``spec`` (counts start again), or read the counts when ``spec`` is None."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            if spec is None:
                connection.request("GET", "/_devstack/faults")
            else:
                connection.request(
                    "POST", "/_devstack/faults", body=json.dumps({"faults": spec, "seed": seed})
                )
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    def arm(self, spec: str, seed: int = 1) -> None:
        status, answer = self.faults(spec, seed)
        assert status == 200, answer

    def client(self, service: str, config: Config | None = ONE_ATTEMPT) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="eu-central-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.motoserver", "-H", "127.0.0.1", "-p", str(port)],
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "local")},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Moto(port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                server.faults()
                break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "moto's server did not start"
                time.sleep(0.1)
        server.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        server.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        yield server
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(autouse=True)
def disarmed(moto: Moto) -> Iterator[None]:
    yield
    moto.arm("")


def items(moto: Moto) -> list[dict[str, Any]]:
    return sorted(moto.client("dynamodb").scan(TableName=TABLE)["Items"], key=lambda i: i["pk"]["S"])


def send_mail(client: Any) -> Any:
    return client.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["someone@example.com"]},
        Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}}},
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("InternalServerError", 500),
    ],
)
def test_dynamodb_calls_fail_as_dynamodb_fails_them(moto: Moto, error: str, status: int) -> None:
    moto.arm(f"dynamodb.PutItem:{error}=1")
    dynamodb = moto.client("dynamodb")

    with pytest.raises(ClientError) as raised:
        dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": f"put-{error}"}})

    assert raised.value.response["Error"]["Code"] == error
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert {"pk": {"S": f"put-{error}"}} not in items(moto)
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "x"}})  # other operations pass


def test_a_transaction_conflict_cancels_the_transaction_and_writes_nothing(moto: Moto) -> None:
    dynamodb = moto.client("dynamodb")
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "tx-existing"}, "n": {"N": "1"}})
    before = items(moto)
    moto.arm("dynamodb.TransactWriteItems:TransactionConflict=1")

    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "tx-new"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "tx-existing"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "tx-existing"}}}},
            ]
        )

    reasons = raised.value.response["CancellationReasons"]
    assert len(reasons) == 3
    assert sorted(r["Code"] for r in reasons) == ["None", "None", "TransactionConflict"]
    assert items(moto) == before
    assert moto.faults()[1]["injected"] == {"dynamodb.TransactWriteItems": {"TransactionConflict": 1}}


def test_sesv2_throttling_and_failure_reach_botocore_as_sesv2_sends_them(moto: Moto) -> None:
    ses = moto.client("sesv2")
    moto.arm("sesv2.SendEmail:TooManyRequestsException=1")
    with pytest.raises(ses.exceptions.TooManyRequestsException) as throttled:
        send_mail(ses)
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429

    moto.arm("sesv2.*:InternalFailure=1")
    with pytest.raises(ClientError) as failed:
        send_mail(ses)
    assert failed.value.response["Error"]["Code"] == "InternalFailure"
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_the_handlers_clients_retry_as_deployed_and_then_see_the_error(moto: Moto) -> None:
    moto.arm("sesv2.SendEmail:TooManyRequestsException=1")
    ses = moto.client("sesv2", config=None)  # botocore's default retries, as the handlers use them

    with pytest.raises(ses.exceptions.TooManyRequestsException) as raised:
        send_mail(ses)

    attempts = raised.value.response["ResponseMetadata"]["RetryAttempts"] + 1
    assert attempts > 1
    report = moto.faults()[1]
    assert report["calls"] == {"sesv2.SendEmail": attempts}
    assert report["injected"] == {"sesv2.SendEmail": {"TooManyRequestsException": attempts}}


def test_rate_zero_injects_nothing_and_counts_the_calls(moto: Moto) -> None:
    moto.arm("dynamodb.*=0,sesv2.*=0")
    dynamodb, ses = moto.client("dynamodb"), moto.client("sesv2")

    for n in range(20):
        dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": f"zero-{n}"}})
    send_mail(ses)

    report = moto.faults()[1]
    assert report["calls"] == {"dynamodb.PutItem": 20, "sesv2.SendEmail": 1}
    assert report["injected_total"] == 0


def test_a_rate_fails_about_that_share_of_calls_and_a_seed_replays_them(moto: Moto) -> None:
    dynamodb = moto.client("dynamodb")

    def run(seed: int) -> list[bool]:
        moto.arm("dynamodb.GetItem=0.25", seed=seed)
        failed = []
        for _ in range(80):
            try:
                dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "nothing"}})
                failed.append(False)
            except ClientError:
                failed.append(True)
        return failed

    first = run(seed=5)
    assert run(seed=5) == first
    assert 8 <= sum(first) <= 32  # 25 % of 80 is 20
    assert moto.faults()[1]["injected_total"] == sum(first)


def test_a_spec_the_server_cannot_honour_is_refused_and_changes_nothing(moto: Moto) -> None:
    moto.arm("dynamodb.GetItem=0.5")

    status, answer = moto.faults("dynamodb.GetItem=2")

    assert status == 400
    assert "from 0 to 1" in answer["error"]
    assert moto.faults()[1]["faults"] == "dynamodb.GetItem=0.5"


# --------------------------------------------------------------------------- EventBridge


def listening_bus(moto: Moto, name: str) -> str:
    """A bus with a rule that sends every event of source "probe" to a queue; the queue's URL."""
    events, sqs = moto.client("events"), moto.client("sqs")
    events.create_event_bus(Name=name)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps({"source": ["probe"]}))
    events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def received(moto: Moto, url: str) -> list[int]:
    """The ``n`` of every event the bus delivered to the queue."""
    found: list[int] = []
    while batch := moto.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        found += [json.loads(m["Body"])["detail"]["n"] for m in batch]
    return sorted(found)


def entries(bus: str, count: int) -> list[dict[str, Any]]:
    return [
        {"Source": "probe", "DetailType": "Probe", "Detail": json.dumps({"n": n}), "EventBusName": bus}
        for n in range(count)
    ]


@pytest.mark.parametrize(("error", "status"), [("ThrottlingException", 400), ("InternalException", 500)])
def test_put_events_fails_whole_as_eventbridge_fails_it(moto: Moto, error: str, status: int) -> None:
    bus = f"whole-{error.lower()}"
    queue = listening_bus(moto, bus)
    moto.arm(f"events.PutEvents:{error}=1")

    with pytest.raises(ClientError) as raised:
        moto.client("events").put_events(Entries=entries(bus, 3))

    assert raised.value.response["Error"]["Code"] == error
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    moto.arm("")
    assert received(moto, queue) == []  # nothing reached the bus


def test_a_partial_failure_refuses_some_entries_and_puts_the_others_on_the_bus(moto: Moto) -> None:
    bus = "partial"
    queue = listening_bus(moto, bus)
    moto.arm("events.PutEvents:FailedEntries=1", seed=7)

    answer = moto.client("events").put_events(Entries=entries(bus, 10))

    results = answer["Entries"]
    refused = [n for n, result in enumerate(results) if "ErrorCode" in result]
    assert len(results) == 10 and 0 < answer["FailedEntryCount"] == len(refused) < 10
    assert {results[n]["ErrorCode"] for n in refused} <= {"ThrottlingException", "InternalFailure"}
    assert all("EventId" in result for n, result in enumerate(results) if n not in refused)
    assert moto.faults()[1]["injected"] == {"events.PutEvents": {"FailedEntries": 1}}
    moto.arm("")
    assert received(moto, queue) == [n for n in range(10) if n not in refused]
