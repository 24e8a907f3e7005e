"""Makes moto's DynamoDB as atomic as DynamoDB across threads.

moto applies a ``TransactWriteItems`` operation by operation and, when a condition fails, restores
a deep copy of the tables taken when the transaction began, undoing whatever other threads wrote in
between. Twenty concurrent confirms of one reset link could then all "win". DynamoDB serializes
conflicting transactions; running every call into moto's DynamoDB backend under one lock gives the
same outcome. Used by the in-process tests and by the local stack's moto server.

The restored copy also breaks the table's stream: the copy carries a copy of the stream shard, so
records written afterwards go to a shard no open iterator reads (a stream poller sees nothing
more, ever), while the old shard keeps the records of the writes the cancellation undid (a poller
delivers events that never happened). In DynamoDB a cancelled transaction writes no stream record.
So a cancelled transaction here puts the original shard back on the restored table, without the
records it added.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()


def serialize_dynamodb() -> None:
    """Wrap each public method of moto's DynamoDB backend in one process-wide lock (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_devstack_serialized", False):
        return
    for name, attribute in list(vars(DynamoDBBackend).items()):
        if (
            name.startswith("_")
            or not callable(attribute)
            or isinstance(attribute, staticmethod | classmethod)
        ):
            continue
        if name == "transact_write_items":
            attribute = _streams_survive_cancellation(attribute)
        setattr(DynamoDBBackend, name, _locked(attribute))
    DynamoDBBackend._devstack_serialized = True  # type: ignore[attr-defined]


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return call


def _streams_survive_cancellation(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def transact(backend: Any, *args: Any, **kwargs: Any) -> Any:
        shards = {
            name: (table.stream_shard, len(table.stream_shard.items))
            for name, table in backend.tables.items()
            if table.stream_shard is not None
        }
        try:
            return method(backend, *args, **kwargs)
        except BaseException:
            for name, (shard, length) in shards.items():
                table = backend.tables.get(name)
                if table is None:
                    continue
                del shard.items[length:]  # the records of writes the cancellation undid
                shard.table = table
                table.stream_shard = shard
            raise

    return transact
