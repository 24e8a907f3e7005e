"""The committed sample events (``events/``, one per route, as ``sam local invoke -e`` takes them),
their shape, and the directory of the tests' own fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


def shape_of(value: Any) -> Any:
    """A JSON document with every value replaced by its type's name: a committed sample and a fresh
    record have the same shape when the code records nothing new."""
    if isinstance(value, dict):
        return {k: shape_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape_of(v) for v in value]
    return type(value).__name__
