"""What every event source mapping of the local stack holds, a table's stream or a queue feeding one
function (``devstack.streams``, ``devstack.queues``): the template, the subscription, the runner
that invokes the function, the subscription's filters, and the thread that polls."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from typing import Any

from devstack.filters import parse_patterns
from devstack.gateway import Runner
from devstack.template import QueueSubscription, SamTemplate, StreamSubscription


class EventSourceMapping[S: (QueueSubscription, StreamSubscription)]:
    thread_prefix = ""  # the polling thread's name is this and the mapping's

    def __init__(self, template: SamTemplate, subscription: S, runner: Runner, *, region: str) -> None:
        self.template = template
        self.sub: S = subscription
        self.runner = runner
        self.region = region
        self.patterns = parse_patterns(subscription.filter_patterns)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.invocations = 0

    @property
    def name(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"{self.thread_prefix}:{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError

    def reported_failures(
        self, result: Any, identifiers: Collection[str], log: logging.Logger
    ) -> list[str] | None:
        """The records the function reported failed (``batchItemFailures``, where the mapping asks
        for them), by identifier: [] for none; None, the whole batch failed, for an answer that
        names no record or one not in the batch, as Lambda takes it."""
        if not self.sub.report_batch_item_failures or not isinstance(result, dict):
            return []
        failed: list[str] = []
        for failure in result.get("batchItemFailures") or []:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in identifiers:
                log.warning(
                    "invalid batchItemFailures: the whole batch is retried",
                    extra={"function": self.sub.function, "item": failure},
                )
                return None
            failed.append(identifier)
        return failed
