"""AWS clients, created once per execution environment and shared.

botocore, not boto3: the resource layer costs import time and is not used. One botocore session
per thread serves every client, pynamodb's included: each new session loads botocore's endpoint
and service data again (about 100 ms of a cold start each), and pynamodb would otherwise make one
per model. Sessions are per thread because creating clients from one session is not thread safe
(Lambda runs one thread; the local stack runs several).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

_local = threading.local()
_create_lock = threading.Lock()


def session() -> Any:
    found = getattr(_local, "session", None)
    if found is None:
        import botocore.session

        found = _local.session = botocore.session.get_session()
    return found


@cache
def client(service: str) -> Any:
    """A client for ``service``; clients are safe to share between threads once created."""
    with _create_lock:
        return session().create_client(service)


def dynamodb_client() -> Any:
    return client("dynamodb")


def share_session_with_pynamodb() -> None:
    """pynamodb asks ``botocore.session.get_session`` (imported into its connection module) for a
    new session per model; give it this module's session instead."""
    import pynamodb.connection.base as pynamodb_base

    pynamodb_base.get_session = session


@cache
def transaction_connection() -> Any:
    """The pynamodb connection every TransactWrite of the package uses (one, not one per module)."""
    from pynamodb.connection import Connection

    from pwreset.models import Account

    return Connection(region=Account.Meta.region)


def forget_clients() -> None:
    """Tests switch mocks between cases; cached clients belong to the previous one."""
    client.cache_clear()
    transaction_connection.cache_clear()
    _local.__dict__.clear()
