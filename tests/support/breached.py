"""The breached-password check in tests: the fake range API (``devstack.pwned``) on its own port,
pointed at by ``BREACHED_PASSWORD_RANGE_URL`` (the tests' environment leaves the check off), and
a spy on the metrics the service counts."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import pytest

from devstack.pwned import Corpus, FakeRangeApi, RangeRequest, serve
from devstack.seed import load_demo_data

# Exactly what the contract allows on the wire: the range route with 5 hex characters, upper case.
RANGE_PATH = re.compile(r"/range/[0-9A-F]{5}")


def breached_example() -> str:
    """``local/demo_data.json`` → ``breached_password_example``: in the fake's corpus, and good by
    every other rule."""
    return str(load_demo_data()["breached_password_example"])


@cache
def corpus() -> Corpus:
    """Made once per test session, as ``make dev`` makes it once per start."""
    return Corpus.build()


def forget_range_check() -> None:
    """The check and its setting are read once per process; a test that changes the URL drops both."""
    from pwreset.core.config import password_settings
    from pwreset.credentials import breached

    password_settings.cache_clear()
    breached.range_check.cache_clear()


@contextmanager
def range_check_at(monkeypatch: pytest.MonkeyPatch, url: str) -> Iterator[None]:
    """The service's check asks ``url`` ("" turns it off) inside the block; as before after it."""
    before = os.environ["BREACHED_PASSWORD_RANGE_URL"]
    monkeypatch.setenv("BREACHED_PASSWORD_RANGE_URL", url)
    forget_range_check()
    try:
        yield
    finally:
        monkeypatch.setenv("BREACHED_PASSWORD_RANGE_URL", before)
        forget_range_check()


@contextmanager
def fake_range_api(monkeypatch: pytest.MonkeyPatch, **knobs: Any) -> Iterator[FakeRangeApi]:
    """The fake on a free port, the service's check pointed at it."""
    with serve(corpus(), **knobs) as (server, api), range_check_at(monkeypatch, server.url):
        yield api


def leaked_in(request: RangeRequest, password: str) -> list[str]:
    """Which of the password, its SHA-1 and the SHA-1's suffix a request carried (path or any
    header, compared case-insensitively): none may leave the service."""
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    sent = " ".join([request.path, *(f"{name}: {value}" for name, value in request.headers.items())])
    secrets = {"password": password, "hash": digest, "suffix": digest[5:]}
    return [name for name, value in secrets.items() if value.upper() in sent.upper()]


def prefix_of(password: str) -> str:
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()[:5]


class MetricsSpy:
    """Every metric (and metadata) the service adds from its creation to the end of the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from pwreset.core.observability import metrics

        self.names: list[str] = []
        self.metadata: dict[str, Any] = {}
        add_metric, add_metadata = metrics.add_metric, metrics.add_metadata

        def spy_metric(*, name: str, **rest: Any) -> None:
            self.names.append(name)
            add_metric(name=name, **rest)

        def spy_metadata(*, key: str, value: Any) -> None:
            self.metadata[key] = value
            add_metadata(key=key, value=value)

        monkeypatch.setattr(metrics, "add_metric", spy_metric)
        monkeypatch.setattr(metrics, "add_metadata", spy_metadata)
