"""Makes moto's DynamoDB as atomic as DynamoDB across threads.

moto applies a ``TransactWriteItems`` operation by operation and, when a condition fails, restores
a deep copy of the tables taken when the transaction began, undoing whatever other threads wrote in
between. Twenty concurrent confirms of one reset link could then all "win". DynamoDB serializes
conflicting transactions; running every call into moto's DynamoDB backend under one lock gives the
same outcome. Used by the in-process tests and by the local stack's moto server.
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
        setattr(DynamoDBBackend, name, _locked(attribute))
    DynamoDBBackend._devstack_serialized = True  # type: ignore[attr-defined]


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return call
