"""botocore's data, pruned to the AWS services the functions call (a build step of the layer).

The layer ships its own botocore (pynamodb needs it, and it shadows the runtime's), and botocore
ships the models and endpoints of some 450 services: most of its size in the layer. Worse, a cold
start pays for them. Creating the first client lists every service directory (hundreds of
``listdir`` and ``stat`` calls) and parses ``endpoints.json`` (every service in every partition),
for data about services the functions never call. What that costs and what pruning saves, in size
and start-up time: ``bench/results.md`` (``make bench`` measures both).

The layer's Makefile runs ``python -m buildsteps.botocore_data <botocore dir>`` after ``pip install``:
it removes the directories of every service not in :data:`pwreset.core.aws.SERVICES` and keeps only
those services' entries in ``endpoints.json``. The partitions, regions and defaults stay as they
are, and the kept services' models, endpoint rules and endpoints are untouched. Their clients are
the same as with the full data (``tests/unit/test_botocore_data.py`` checks this in every region).
A client for any other service fails with botocore's ``UnknownServiceError``.
``pwreset.core.aws.client`` only accepts a name from :data:`~pwreset.core.aws.SERVICES`, so a new service
must be added there, and mypy says so.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

from pwreset.core.aws import SERVICES

ENDPOINTS_FILE = "endpoints.json"


def prune(botocore_dir: Path, services: Iterable[str] = SERVICES) -> list[str]:
    """Remove the data of every service but ``services`` from the botocore package at
    ``botocore_dir``, in place; returns the names of the service directories removed."""
    data = botocore_dir / "data"
    removed = sorted(_other_services(data, set(services)))
    for name in removed:
        shutil.rmtree(data / name)
    _trim_endpoints(data, services)
    return removed


def copy_pruned(botocore_dir: Path, target: Path, services: Iterable[str] = SERVICES) -> None:
    """Copy the botocore package at ``botocore_dir`` to ``target``, without the other services'
    data: what :func:`prune` would leave, without copying all of it first. Modification times are
    kept, so the copied bytecode stays valid."""
    data = botocore_dir / "data"
    dropped = _other_services(data, set(services))

    def ignore(directory: str, names: list[str]) -> set[str]:
        return dropped & set(names) if Path(directory) == data else set()

    shutil.copytree(botocore_dir, target, ignore=ignore, symlinks=True)
    _trim_endpoints(target / "data", services)


def _other_services(data: Path, services: set[str]) -> set[str]:
    present = {p.name for p in data.iterdir() if p.is_dir()} - {"__pycache__"}
    if missing := services - present:
        raise FileNotFoundError(f"botocore at {data} has no data for {sorted(missing)}")
    return present - services


def _trim_endpoints(data: Path, services: Iterable[str]) -> None:
    """Keep the entries of ``services`` in ``endpoints.json`` (keyed by each model's endpoint
    prefix, which is not always the service's name: sesv2's is ``email``)."""
    prefixes = {_endpoint_prefix(data / service) for service in services}
    path = data / ENDPOINTS_FILE
    endpoints = json.loads(path.read_text(encoding="utf-8"))
    for partition in endpoints["partitions"]:
        partition["services"] = {k: v for k, v in partition["services"].items() if k in prefixes}
    path.write_text(json.dumps(endpoints, separators=(",", ":")), encoding="utf-8")


def _endpoint_prefix(service_dir: Path) -> str:
    # botocore's choice too: the newest API version (directories are ISO dates) with a model.
    models = sorted(service_dir.glob("*/service-2.json*"))
    text = models[-1].read_bytes()
    if models[-1].suffix == ".gz":
        text = gzip.decompress(text)
    return str(json.loads(text)["metadata"]["endpointPrefix"])


if __name__ == "__main__":
    # python -m buildsteps.botocore_data <botocore package dir>: what the layer's Makefile runs.
    removed = prune(Path(sys.argv[1]))
    print(f"botocore data: kept {', '.join(SERVICES)}; removed {len(removed)} other services")
