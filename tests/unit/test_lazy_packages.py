"""powertools' re-exporting package initialisers run lazily (``pwreset.runtime.lazy_packages``): an API
function's cold start imports the one resolver and the few event classes it uses, and every import
that worked before still works."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.environment import API_FUNCTIONS, TEMPLATE
from support.processes import HANDLER_PATH, run_python


def _fresh(code: str, *path: Path) -> str:
    done = run_python(["-c", "import support.environment\n" + code], path=(*path, *HANDLER_PATH))
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_an_api_function_imports_only_the_resolver_and_event_classes_it_uses(function: str) -> None:
    unused = (
        "aws_lambda_powertools.event_handler.appsync",
        "aws_lambda_powertools.event_handler.bedrock",
        "aws_lambda_powertools.utilities.data_classes.sqs_event",
        "aws_lambda_powertools.utilities.batch.",  # the package itself stands deferred
    )
    loaded = json.loads(
        _fresh(
            "import sys, json, app\n"
            f"print(json.dumps(sorted(m for m in sys.modules\n"
            f"  if m == 'asyncio' or m.startswith({unused!r}))))",
            TEMPLATE.function_dir(function),
        )
    )
    assert loaded == []


def test_every_name_the_initialisers_export_still_imports() -> None:
    found = _fresh(
        "import pwreset\n"
        "from aws_lambda_powertools.event_handler import AppSyncResolver, APIGatewayRestResolver\n"
        "from aws_lambda_powertools.event_handler import content_types\n"
        "from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source\n"
        "import aws_lambda_powertools.event_handler as handlers\n"
        "print(AppSyncResolver.__name__, 'APIGatewayRestResolver' in handlers.__all__,\n"
        "      callable(event_source))"
    )
    assert found == "AppSyncResolver True True"


def test_a_package_imported_before_is_left_as_it_is() -> None:
    found = _fresh(
        "import aws_lambda_powertools.event_handler as before\n"
        "import pwreset, sys\n"
        "now = sys.modules['aws_lambda_powertools.event_handler']\n"
        "print(now is before, hasattr(before, 'AppSyncResolver'))"
    )
    assert found == "True True"
