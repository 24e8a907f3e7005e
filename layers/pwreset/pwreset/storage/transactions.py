"""Writes that go together or not at all: DynamoDB transactions on the process's one connection.

The flows write their items through :func:`transaction` and catch :class:`TransactWriteError` from
here, so pynamodb stays a choice of the storage area: no module outside it imports pynamodb.
"""

from __future__ import annotations

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from pwreset.core import aws

__all__ = ["Action", "TransactWriteError", "transaction"]


def transaction() -> TransactWrite:
    """One transaction on the process's DynamoDB connection (``with transaction() as tx:``); it
    raises :class:`TransactWriteError` when a condition fails or a concurrent write wins."""
    return TransactWrite(connection=aws.dynamodb_connection())
