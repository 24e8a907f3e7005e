"""A pytest plugin that writes what a collection found: every test id and whether a skip or
skipif mark skips it. ``docs/security.md`` may cite only tests that run, and
``tests/unit/test_security_doc.py`` reads this to tell.

Loaded with ``-p support.collected``; it writes only when ``PWRESET_COLLECTED_JSON`` names a file
(``{"tests": {node_id: {"skipped": bool, "reason": str}}}``), and does nothing otherwise."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _pytest.skipping import evaluate_skip_marks

OUTPUT_VARIABLE = "PWRESET_COLLECTED_JSON"


def pytest_collection_finish(session: pytest.Session) -> None:
    output = os.environ.get(OUTPUT_VARIABLE)
    if not output:
        return
    tests: dict[str, dict[str, object]] = {}
    for item in session.items:
        # The marks as pytest evaluates them before running the test: a skipif whose condition holds
        # here (this interpreter, this environment) skips it.
        skip = evaluate_skip_marks(item)
        tests[item.nodeid] = {"skipped": skip is not None, "reason": skip.reason if skip else ""}
    Path(output).write_text(json.dumps({"tests": tests}, indent=1, sort_keys=True), encoding="utf-8")
