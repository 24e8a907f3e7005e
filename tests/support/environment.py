"""The environment every function gets, read from ``template.yaml`` (as the local stack does), so
tests, local stack and infrastructure cannot drift apart. Imported for its side effect before any
pwreset module (the root ``conftest.py`` does it first)."""

from __future__ import annotations

import os

from devstack.template import SamTemplate

TEMPLATE = SamTemplate(name_prefix="test-")
# The functions a person waits for, API Gateway's routes and its authorizer: SnapStart (where the
# stage turns it on) restores them; the stream and queue functions are off the user's path.
API_FUNCTIONS = (
    "AuthorizerFunction",
    "RequestResetFunction",
    "ConfirmResetFunction",
    "ResetPageFunction",
    "SessionsFunction",
    "ProvisioningFunction",
    "SesEventsFunction",
)

# Every function's, as the local stack's one process has them (Globals, and what only the functions
# that set passwords get: the breached-password check, off here unless a test starts a fake).
for _function in TEMPLATE.functions():
    for _key, _value in TEMPLATE.function_environment(_function).items():
        os.environ.setdefault(_key, _value)
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
os.environ.setdefault("AWS_REGION", "eu-central-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
