"""AWS clients, created once per execution environment and shared.

botocore, not boto3: the resource layer costs import time and is not used. One botocore session
per thread serves every client, pynamodb's included: each new session loads botocore's endpoint
and service data again (a large part of a cold start each, see ``bench/results.md``), and
pynamodb would otherwise make one
per model. Sessions are per thread because creating clients from one session is not thread safe
(Lambda runs one thread; the local stack runs several).

One DynamoDB client serves the whole process: every model, every transaction and the package's own
calls (rate limits, batch reads, powertools' idempotency records) go through one pynamodb
``Connection``. pynamodb would otherwise make a client per model, each with its own connection
pool: on Lambda every extra client is another TLS handshake on the first request.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, get_args

from pwreset.core.config import settings

if TYPE_CHECKING:
    from pynamodb.connection import Connection

Service = Literal["dynamodb", "sesv2", "sqs"]
# The services the functions call: the layer ships botocore's data for these alone (see
# buildsteps.botocore_data), so a client for any other fails until it is added here.
SERVICES: tuple[str, ...] = get_args(Service)

_local = threading.local()
_create_lock = threading.Lock()


def session() -> Any:
    found = getattr(_local, "session", None)
    if found is None:
        # deferred: the page function makes no AWS call and never pays for botocore
        import botocore.session

        found = _local.session = botocore.session.get_session()
    return found


def client(service: Service) -> Any:
    """A client for ``service``; clients are safe to share between threads once created."""
    if service == "dynamodb":
        return dynamodb_client()
    return _client(service)


@cache
def _client(service: str) -> Any:
    with _create_lock:
        return session().create_client(service)


def dynamodb_client() -> Any:
    return dynamodb_connection().client


@cache
def dynamodb_connection() -> Connection:
    """The pynamodb connection (and with it the botocore DynamoDB client) of the process."""
    # deferred: as botocore above
    import pynamodb.connection.base as pynamodb_base

    # pynamodb asks ``botocore.session.get_session`` (imported into its connection module) for a
    # new session per connection; give it this module's session instead.
    pynamodb_base.get_session = session
    with _create_lock:
        connection = pynamodb_base.Connection(region=settings().aws_region)
        connection.client  # noqa: B018 - made here, under the lock, not by two threads at once
    return connection


def forget_clients() -> None:
    """Tests switch mocks between cases; cached clients belong to the previous one."""
    _client.cache_clear()
    dynamodb_connection.cache_clear()
    _local.__dict__.clear()
