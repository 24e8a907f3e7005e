"""Throwaway functions (``tests/fixtures/probe_*``) as template resources for
``helpers.template_copy``: the execution-environment pool's API probe."""

from __future__ import annotations

from typing import Any

from helpers import FIXTURES_DIR

POOL_PROBE = "ProbePoolFunction"
POOL_PROBE_PATH = "/v1/probe-pool"


def probe_pool_function(**properties: Any) -> dict[str, Any]:
    """``tests/fixtures/probe_pool`` behind ``GET /v1/probe-pool`` (no authorizer)."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": str(FIXTURES_DIR / "probe_pool"),
            "Events": {
                "Probe": {
                    "Type": "Api",
                    "Properties": {
                        "RestApiId": {"Ref": "PortalApi"},
                        "Path": POOL_PROBE_PATH,
                        "Method": "GET",
                        "Auth": {"Authorizer": "NONE"},
                    },
                }
            },
            **properties,
        },
    }
