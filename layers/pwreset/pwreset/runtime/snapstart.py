"""Lambda SnapStart: what a function prepares before Lambda snapshots it, and what every copy
restored from that snapshot renews.

With SnapStart (``template.yaml``: ``SnapStart`` on the API functions where ``SnapStartEnabled`` is
``true``), Lambda imports the handler once when a version is published, runs the
before-snapshot hooks, snapshots the process's memory and then starts any number of execution
environments from that one snapshot. So:

* **before the snapshot**, everything a first request would otherwise pay: imports that the code
  defers until a path needs them, pydantic validators built (the schemas use ``defer_build``), the
  resolver's routes and validation, templates compiled, the password blocklist loaded, botocore's
  models and clients, the User-Agent parser's rules;
* **after each restore**, whatever must not be shared between restored copies: network
  connections (every copy opens its own), AWS credentials (resolved again, not copied), Python's
  ``random`` state (reseeded; ``secrets`` and ``uuid4`` read the kernel's generator and need
  nothing), anything else that is credential- or time-derived.

Each area registers its own hooks here, and each handler module registers the warm-ups its paths
need (:func:`before_snapshot`); this module registers one hook of each kind with the runtime's
``snapshot_restore_py`` and runs the registered functions in registration order (the runtime
itself runs before-snapshot hooks in reverse order). Without SnapStart (the dev stage, the local
stack, the tests) nothing here runs unless a caller runs it, and a cold start pays every path
lazily, as before.

A warm-up must never fail a deployment: one that raises is logged and skipped, and the request
that needs the thing it prepared pays for it as without SnapStart. An after-restore hook that
raises is logged too: the copy then serves with what it has, and the first call renews lazily.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

try:  # part of Lambda's Python runtimes (and a dev requirement for the tests), not of the layer
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # pragma: no cover - elsewhere there is no runtime to hand the hooks to
    register_after_restore = register_before_snapshot = None

__all__ = [
    "Hook",
    "after_restore",
    "before_snapshot",
    "hooks",
    "run_after_restore",
    "run_before_snapshot",
]

# The standard library's logger: powertools' Logger lives in ``observability``, which imports
# this module's registrations; a warm-up failure is rare and goes to the function's log either way.
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hook:
    name: str
    run: Callable[[], Any]


_before: list[Hook] = []
_after: list[Hook] = []
_lock = threading.Lock()
_installed = False


def _name(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def before_snapshot(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    """Run ``fn(*args, **kwargs)`` before the snapshot (usable as a decorator). Registering the
    same function with the same arguments twice runs it once."""
    _register(_before, fn, args, kwargs)
    return fn


def after_restore(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    """Run ``fn(*args, **kwargs)`` in every restored copy, before its first request."""
    _register(_after, fn, args, kwargs)
    return fn


def _register(
    into: list[Hook], fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    name = _name(fn) + (f"{args!r}{kwargs!r}" if args or kwargs else "")
    with _lock:
        if all(hook.name != name for hook in into):
            into.append(Hook(name, (lambda: fn(*args, **kwargs)) if args or kwargs else fn))
    _install()


def _install() -> None:
    """Hand one hook of each kind to the Lambda runtime, once."""
    global _installed
    with _lock:
        if _installed or register_before_snapshot is None or register_after_restore is None:
            return
        _installed = True
    register_before_snapshot(run_before_snapshot)
    register_after_restore(run_after_restore)


def hooks() -> tuple[list[str], list[str]]:
    """Names of the registered (before-snapshot, after-restore) hooks, in the order they run."""
    with _lock:
        return [h.name for h in _before], [h.name for h in _after]


def _run(hooks_: list[Hook], phase: str) -> dict[str, float]:
    with _lock:
        todo = list(hooks_)
    took: dict[str, float] = {}
    for hook in todo:
        started = perf_counter()
        try:
            hook.run()
        except Exception:
            _log.exception("SnapStart %s hook %s failed; skipped", phase, hook.name)
        took[hook.name] = (perf_counter() - started) * 1000
    return took


def run_before_snapshot() -> dict[str, float]:
    """Every warm-up, in registration order, then the heap frozen; returns each warm-up's
    milliseconds (for the bench)."""
    took = _run(_before, "before-snapshot")
    _freeze_heap()
    return took


def _freeze_heap() -> None:
    """Everything built before the snapshot lives as long as the copy: moved to the collector's
    permanent generation (``gc.freeze``), the copy's collections never walk it. A restored copy
    pages its memory in from the snapshot as it touches it, so a first collection that walked the
    whole initialised heap would pay for pages the request never needs (as a fork pays copy-on-write
    for them, which is what the bench's restore model sees)."""
    gc.collect()
    gc.freeze()


def run_after_restore() -> dict[str, float]:
    """Every after-restore hook, in registration order; returns each one's milliseconds."""
    return _run(_after, "after-restore")


def _reseed_random() -> None:
    """A snapshot copies the Mersenne Twister's state into every copy: botocore's retry jitter
    (and anything else using ``random``) would draw the same numbers in all of them."""
    random.seed()


after_restore(_reseed_random)
