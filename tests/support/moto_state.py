"""moto's state saved and restored, so that the template's resources and the demo data are built
once per test process and each test still starts from its own copy.

Building them costs about a second per test (every table, queue and identity created from
``template.yaml``, every demo firm and account put through the signed provisioning API); a deep
copy of moto's backends costs a few milliseconds. A test restores into a fresh ``mock_aws``, so it
never sees what another test wrote.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict

# What the template and the demo data put into moto; the other services' backends (IAM's, made
# for every mock) hold nothing of ours and are left as the fresh mock has them.
SERVICES = frozenset({"dynamodb", "dynamodbstreams", "sqs", "ses", "sesv2", "secretsmanager", "events"})


@dataclass(frozen=True)
class MotoState:
    """Deep copies of moto's backends of :data:`SERVICES`, with where each one lives."""

    places: list[tuple[BackendDict[Any], str, str]]  # (service's backends, account, region)
    backends: list[Any]

    @classmethod
    def save(cls) -> MotoState:
        """The backends as they are now, in the running mock."""
        places, backends = [], []
        for service in BackendDict._instances:  # type: ignore[misc]
            if service.service_name not in SERVICES:
                continue
            for account_id, regions in service.items():
                for region, backend in dict.items(regions):
                    places.append((service, account_id, region))
                    backends.append(backend)
        return cls(places, _deep_copy(backends))

    def restore(self) -> None:
        """Put a copy of the saved backends in place of the running mock's (a fresh one)."""
        for (service, account_id, region), backend in zip(
            self.places, _deep_copy(self.backends), strict=True
        ):
            dict.__setitem__(service[account_id], region, backend)


def _deep_copy(backends: list[Any]) -> list[Any]:
    """One deep copy of all of them, so that what refers to another backend's objects still does.
    An SQS queue guards its messages with a lock, which cannot be copied: each copy gets a new one."""
    memo: dict[int, Any] = {}
    for backend in backends:
        for queue in getattr(backend, "queues", {}).values():
            lock = getattr(queue, "_messages_lock", None)
            if lock is not None:
                memo[id(lock)] = threading.Condition()
    return copy.deepcopy(backends, memo)
