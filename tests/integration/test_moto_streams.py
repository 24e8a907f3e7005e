"""moto, as the tests and the local stack run it (``devstack.motolock``), keeps a table's stream as
DynamoDB keeps it when a transaction is cancelled: no record of the writes it undid, and the
records of later writes still reach a reader that was already following the stream. (moto alone
restores a copy of the table, stream shard included: the undone write shows up in the stream, and
nothing written afterwards does.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from devstack.motolock import serialize_dynamodb

TABLE = "stream-probe"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    serialize_dynamodb()
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        yield client


class StreamReader:
    """Follows the table's stream from its start, as a poller does, one iterator after the next."""

    def __init__(self, dynamodb: Any) -> None:
        self.streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        [shard] = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self.iterator = self.streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def read(self) -> list[str]:
        page = self.streams.get_records(ShardIterator=self.iterator)
        self.iterator = page["NextShardIterator"]
        return [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]]


def test_a_cancelled_transaction_leaves_no_record_and_later_writes_still_reach_the_reader(
    dynamodb: Any,
) -> None:
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "before"}})
    reader = StreamReader(dynamodb)
    assert reader.read() == ["before"]

    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "undone"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "before"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "after"}})

    assert reader.read() == ["after"]
    assert sorted(i["pk"]["S"] for i in dynamodb.scan(TableName=TABLE)["Items"]) == ["after", "before"]
