"""The layer's pruned botocore: the services the functions call work exactly as with the full data,
in every region of every partition, and nothing else is shipped."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader
from buildsteps.botocore_data import copy_pruned, prune

from pwreset.core.aws import SERVICES

INSTALLED = Path(botocore.__file__).parent
# One cheap read call per service: what goes on the wire (URL, signing scope) is compared.
PROBE = {
    "dynamodb": "describe_limits",
    "sesv2": "get_account",
    "sqs": "list_queues",
    "secretsmanager": "list_secrets",
    "ssm": "describe_parameters",
    "events": "list_event_buses",
}
EU_CENTRAL = {
    "dynamodb": "https://dynamodb.eu-central-1.amazonaws.com",
    "sesv2": "https://email.eu-central-1.amazonaws.com",
    "sqs": "https://sqs.eu-central-1.amazonaws.com",
    "secretsmanager": "https://secretsmanager.eu-central-1.amazonaws.com",
    "ssm": "https://ssm.eu-central-1.amazonaws.com",
    "events": "https://events.eu-central-1.amazonaws.com",
}


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("layer") / "botocore"
    copy_pruned(INSTALLED, target)
    return target


def _session(data: Path) -> Any:
    """A session that reads botocore's data from ``data`` alone (not the installed package's)."""
    session = botocore.session.Session()
    loader = Loader(
        extra_search_paths=[str(data)], include_default_search_paths=False, include_default_extras=False
    )
    session.register_component("data_loader", loader)
    session.set_credentials("AKIDEXAMPLE", "secret", "session-token")
    return session


class _Wire:
    """Answers every request itself (no network) and records where it went and how it was signed."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        authorization = request.headers["Authorization"].decode()
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/", 2)[2]
        self.seen.append((request.url, scope))  # scope: date dropped, region/service/aws4_request
        return AWSResponse(request.url, 200, {}, _EmptyJson())


class _EmptyJson:
    """The raw body of a response: ``{}``, which every probe call accepts."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b"{}"


def _regions() -> list[tuple[str, str]]:
    endpoints = json.loads((INSTALLED / "data" / "endpoints.json").read_text())
    return [(p["partition"], region) for p in endpoints["partitions"] for region in p["regions"]]


def _on_the_wire(session: Any, service: str, regions: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    wire, seen = _Wire(), []
    for _, region in regions:
        client = session.create_client(service, region_name=region)
        client.meta.events.register("before-send", wire)
        getattr(client, PROBE[service])()
        signer = client._request_signer
        seen.append(
            (client.meta.endpoint_url, f"{signer._signing_name}@{signer._region_name}", wire.seen[-1][1])
        )
        assert wire.seen[-1][0].startswith(client.meta.endpoint_url)
    return seen


@pytest.mark.parametrize("service", SERVICES)
def test_clients_on_the_pruned_data_are_those_of_the_full_data_in_every_region(
    pruned: Path, service: str
) -> None:
    regions = _regions()
    assert {p for p, _ in regions} >= {"aws", "aws-cn", "aws-us-gov"}
    full = _on_the_wire(_session(INSTALLED / "data"), service, regions)
    slim = _on_the_wire(_session(pruned / "data"), service, regions)
    assert EU_CENTRAL[service] in {endpoint for endpoint, _, _ in full}
    assert slim == full


def test_other_services_are_not_shipped(pruned: Path) -> None:
    session = _session(pruned / "data")
    with pytest.raises(UnknownServiceError):
        session.create_client("s3", region_name="eu-central-1")
    assert sorted(session.get_available_services()) == sorted(SERVICES)
    assert _size(pruned / "data") < _size(INSTALLED / "data") / 10


def test_pruning_in_place_leaves_what_the_pruned_copy_holds(pruned: Path, tmp_path: Path) -> None:
    """The layer's Makefile prunes in place, the benchmark copies: both must ship the same data."""
    in_place = tmp_path / "botocore"
    shutil.copytree(INSTALLED / "data", in_place / "data")
    removed = prune(in_place)
    assert "s3" in removed and not set(SERVICES) & set(removed)
    assert _tree(in_place / "data") == _tree(pruned / "data")


def test_a_service_botocore_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-service"):
        copy_pruned(INSTALLED, tmp_path / "botocore", services=("dynamodb", "no-such-service"))


def _size(root: Path) -> int:
    return sum(os.path.getsize(Path(d) / f) for d, _, files in os.walk(root) for f in files)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
