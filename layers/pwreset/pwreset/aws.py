"""AWS clients, created once per execution environment and shared (botocore, not boto3: the
resource layer costs import time and is not used)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@cache
def client(service: str) -> Any:
    return _session().create_client(service)


def dynamodb_client() -> Any:
    return client("dynamodb")


def forget_clients() -> None:
    """Tests switch mocks between cases; cached clients belong to the previous one."""
    client.cache_clear()
    _session.cache_clear()
