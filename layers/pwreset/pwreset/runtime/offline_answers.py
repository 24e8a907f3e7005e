"""Offline answers for warm-ups: calls made before a SnapStart snapshot that never reach AWS.

A warm-up prepares what a first request would pay for (operation models, parameter validation,
serialisation, endpoint rules, signing, response parsing) by making real calls through real
clients. :func:`answering` answers each of them inside the process with an empty success (a
``before-send`` handler), so nothing a warm-up does changes anything anywhere; :func:`rehearse`
makes one call of each operation the functions use; :func:`active` tells tracing to record none
of them. Which clients, and when, is the caller's (``pwreset.core.aws``).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["active", "answering", "rehearse"]

_HANDLER_ID = "pwreset-offline"
_answering = threading.local()


@contextlib.contextmanager
def answering(clients: Sequence[Any]) -> Iterator[None]:
    """Every call made through ``clients`` meanwhile is answered in the process, never by AWS.

    The handler stays registered afterwards and lets every call through: botocore forgets every
    event's handler lookups whenever a handler is registered or unregistered, so unregistering it
    would leave a restored copy's first request to look them all up again. Registering it again
    under its id changes nothing."""
    for each in clients:
        each.meta.events.register_first("before-send", _offline_answer, unique_id=_HANDLER_ID)
    _answering.active = True
    try:
        yield
    finally:
        _answering.active = False


def active() -> bool:
    """True while calls are answered offline (tracing records none of them)."""
    return bool(getattr(_answering, "active", False))


def rehearse(client: Any, service: str) -> None:
    """One call of each operation the functions make with ``service``, through ``client`` (inside
    :func:`answering`, so none reaches AWS). Each is answered as AWS answers a success, with every
    kind of value the functions read: parsing the answer builds the output shapes' members (botocore
    resolves a shape's members when it first parses one), so the first real answer finds them."""
    _answering.rehearsing = True
    try:
        for operation, params in _OFFLINE_CALLS[service].items():
            getattr(client, _snake(operation))(**params)
    finally:
        _answering.rehearsing = False


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


class _Body:
    def __init__(self, content: bytes = b"{}") -> None:
        self.content = content

    def stream(self, **_: Any) -> Any:
        return iter((self.content,))


def _offline_answer(request: Any, event_name: str = "", **_: Any) -> Any:
    if not active():
        return None  # botocore sends the request
    # deferred: a function that makes no AWS call never pays for botocore
    from botocore.awsrequest import AWSResponse

    # Only rehearse()'s own calls get a full answer: a route's warm-up request must find nothing,
    # as it always has, so its path stays the one it is known to take.
    answer = (
        _ANSWERS.get(event_name.rpartition(".")[2], b"{}")
        if getattr(_answering, "rehearsing", False)
        else b"{}"
    )
    return AWSResponse(request.url, 200, {"x-amzn-requestid": "warm-up"}, _Body(answer))


# Every kind of attribute value the functions store: what a rehearsal writes, and what AWS answers.
_ITEM = {
    "pk": {"S": "warm-up"},
    "count": {"N": "1"},
    "flag": {"BOOL": True},
    "none": {"NULL": True},
    "detail": {"M": {"key": {"S": "value"}}},
    "list": {"L": [{"S": "value"}]},
    "names": {"SS": ["value"]},
}

_KEY = {"pk": {"S": "warm-up"}}
_TABLE = "warm-up"  # never reached: the calls are answered in the process
# Every member the functions pass (botocore resolves an input shape's members when it first
# serialises one, and validates each parameter kind): the first real call finds them resolved.
_NAMES = {"#status": "status"}
_VALUES = {":s": {"S": "warm-up"}, ":n": {"N": "1"}, ":l": {"L": [{"S": "warm-up"}]}}
_CONDITION = "attribute_exists(pk) AND #status = :s"
_OFFLINE_CALLS: dict[str, dict[str, dict[str, Any]]] = {
    "dynamodb": {
        "GetItem": {
            "TableName": _TABLE,
            "Key": _KEY,
            "ConsistentRead": True,
            "ReturnConsumedCapacity": "NONE",
        },
        "BatchGetItem": {"RequestItems": {_TABLE: {"Keys": [_KEY], "ConsistentRead": True}}},
        "Query": {
            "TableName": _TABLE,
            "IndexName": "by_warm_up",
            "KeyConditionExpression": "pk = :s",
            "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": _VALUES,
            "ConsistentRead": False,
            "Limit": 1,
            "ReturnConsumedCapacity": "NONE",
        },
        "PutItem": {
            "TableName": _TABLE,
            "Item": _ITEM,
            "ConditionExpression": _CONDITION,
            "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": _VALUES,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
        "UpdateItem": {
            "TableName": _TABLE,
            "Key": _KEY,
            "UpdateExpression": "ADD hits :n SET #status = :s, seen = :l",
            "ConditionExpression": _CONDITION,
            "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": _VALUES,
            "ReturnValues": "UPDATED_NEW",
            "ReturnConsumedCapacity": "NONE",
        },
        "DeleteItem": {"TableName": _TABLE, "Key": _KEY},
        "TransactWriteItems": {
            "TransactItems": [
                {
                    "ConditionCheck": {
                        "TableName": _TABLE,
                        "Key": _KEY,
                        "ConditionExpression": _CONDITION,
                        "ExpressionAttributeNames": _NAMES,
                        "ExpressionAttributeValues": _VALUES,
                    }
                },
                {
                    "Put": {
                        "TableName": _TABLE,
                        "Item": _ITEM,
                        "ConditionExpression": "attribute_not_exists(#status)",
                        "ExpressionAttributeNames": _NAMES,
                    }
                },
                {
                    "Update": {
                        "TableName": _TABLE,
                        "Key": _KEY,
                        "UpdateExpression": "SET #status = :s, seen = :l ADD hits :n",
                        "ConditionExpression": _CONDITION,
                        "ExpressionAttributeNames": _NAMES,
                        "ExpressionAttributeValues": _VALUES,
                    }
                },
                {"Delete": {"TableName": _TABLE, "Key": _KEY}},
            ],
            "ClientRequestToken": "warm-up",
            "ReturnConsumedCapacity": "NONE",
        },
    },
    "sesv2": {
        "SendEmail": {
            "FromEmailAddress": "warm-up@example.invalid",
            "Destination": {"ToAddresses": ["warm-up@example.invalid"]},
            "ReplyToAddresses": ["warm-up@example.invalid"],
            "Content": {
                "Simple": {
                    "Subject": {"Data": "-", "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": "-", "Charset": "UTF-8"},
                        "Html": {"Data": "-", "Charset": "UTF-8"},
                    },
                }
            },
            "EmailTags": [{"Name": "warm-up", "Value": "warm-up"}],
            "ConfigurationSetName": "warm-up",
        }
    },
    "sqs": {
        "SendMessage": {
            "QueueUrl": "https://sqs.eu-central-1.amazonaws.com/000000000000/warm-up",
            "MessageBody": "-",
        }
    },
    "events": {
        "PutEvents": {
            "Entries": [
                {"Source": "warm-up", "DetailType": "warm-up", "Detail": "{}", "EventBusName": "warm-up"}
            ]
        }
    },
}

# What AWS answers a success.
_ANSWERS: dict[str, bytes] = {
    operation: json.dumps(body).encode()
    for operation, body in {
        "GetItem": {"Item": _ITEM},
        "BatchGetItem": {"Responses": {_TABLE: [_ITEM]}, "UnprocessedKeys": {}},
        "Query": {"Items": [_ITEM], "Count": 1, "ScannedCount": 1, "LastEvaluatedKey": _KEY},
        "PutItem": {"Attributes": _ITEM},
        "UpdateItem": {"Attributes": _ITEM},
        "DeleteItem": {"Attributes": _ITEM},
        "TransactWriteItems": {},
        "SendEmail": {"MessageId": "warm-up"},
    }.items()
}
