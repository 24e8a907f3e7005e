"""Throwaway functions (``tests/fixtures/probe_*``) and queues, as template resources for
``helpers.template_copy``: the pool's API probe and the SQS probe with its queue and dead-letter
queue."""

from __future__ import annotations

from typing import Any

from support.template_copies import api_event, probe_function

POOL_PROBE = "ProbePoolFunction"
POOL_PROBE_PATH = "/v1/probe-pool"
RESOLVER_PROBE = "ProbeResolverFunction"
RESOLVER_PROBE_PATH = "/v1/probe-resolver"
QUEUE_PROBE = "ProbeQueueFunction"
PROBE_QUEUE = "ProbeQueue"
PROBE_DLQ = "ProbeDeadLetterQueue"


def probe_pool_function(**properties: Any) -> dict[str, Any]:
    """``tests/fixtures/probe_pool`` behind ``GET /v1/probe-pool`` (no authorizer)."""
    return probe_function("probe_pool", {"Probe": api_event(POOL_PROBE_PATH)}, **properties)


def probe_resolver_function() -> dict[str, Any]:
    """``tests/fixtures/probe_resolver`` (powertools' REST resolver) behind ``GET /v1/probe-resolver``."""
    return probe_function("probe_resolver", {"Probe": api_event(RESOLVER_PROBE_PATH)})


def probe_queue_resources(
    *,
    visibility_timeout: int = 1,
    max_receive_count: int = 2,
    function_properties: dict[str, Any] | None = None,
    **event_properties: Any,
) -> dict[str, Any]:
    """``tests/fixtures/probe_queue`` subscribed to a new queue (``Type: SQS`` with
    ``event_properties``) whose redrive policy sends a message to a new dead-letter queue after
    ``max_receive_count`` receives. The function's timeout fits the visibility timeout, as Lambda
    requires."""
    return {
        PROBE_DLQ: {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}},
        PROBE_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": visibility_timeout,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [PROBE_DLQ, "Arn"]},
                    "maxReceiveCount": max_receive_count,
                },
            },
        },
        QUEUE_PROBE: probe_function(
            "probe_queue",
            {
                "Queue": {
                    "Type": "SQS",
                    "Properties": {"Queue": {"Fn::GetAtt": [PROBE_QUEUE, "Arn"]}, **event_properties},
                }
            },
            # A function's own properties may override its timeout (start-up must then refuse it).
            **{"Timeout": visibility_timeout, **(function_properties or {})},
        ),
    }
