"""The committed sample events (``events/``, one per route, as ``sam local invoke -e`` takes them)
and the directory of the tests' own fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
