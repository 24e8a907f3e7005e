"""Make moto's DynamoDB writes atomic, as DynamoDB's are.

DynamoDB evaluates a condition and applies the write (or a whole transaction) atomically. moto
checks and writes in plain Python, so two threads can both pass the same condition. Tests of
concurrent confirms would then measure moto, not this service. One lock around moto's write
operations restores DynamoDB's guarantee; it adds nothing our code could lean on beyond it.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def make_dynamodb_writes_atomic() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_atomic", False):
            continue

        @functools.wraps(original)
        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(self, *args, **kwargs)

        locked._atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)
