"""Copies of ``template.yaml`` with throwaway resources added (the functions in
``tests/fixtures/probe_*``), to show that the local stack serves and triggers whatever the
template describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devstack.template import TEMPLATE_PATH, load_yaml
from support.samples import FIXTURES_DIR


def template_copy(
    directory: Path,
    resources: dict[str, Any],
    *,
    api_properties: dict[str, Any] | None = None,
) -> Path:
    """Write ``template.yaml`` plus ``resources`` (and extra ``PortalApi`` properties) to
    ``directory``; code paths become absolute so the copy works from anywhere. Intrinsics are
    written in their long form (``{"Ref": ...}``), which the template reader treats the same."""
    doc = load_yaml(TEMPLATE_PATH)
    for resource in doc["Resources"].values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = str((TEMPLATE_PATH.parent / props[key]).resolve())
    doc["Resources"].update(resources)
    if api_properties:
        doc["Resources"]["PortalApi"]["Properties"].update(api_properties)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "template.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def probe_function(code: str, events: dict[str, Any], **properties: Any) -> dict[str, Any]:
    """The function in ``tests/fixtures/<code>``, triggered by ``events``, with ``properties``."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {"CodeUri": str(FIXTURES_DIR / code), "Events": events, **properties},
    }


def api_event(path: str, method: str = "GET", *, authorizer: bool = False) -> dict[str, Any]:
    """A route of the portal's API; without the template's authorizer unless ``authorizer``."""
    properties: dict[str, Any] = {"RestApiId": {"Ref": "PortalApi"}, "Path": path, "Method": method}
    if not authorizer:
        properties["Auth"] = {"Authorizer": "NONE"}
    return {"Type": "Api", "Properties": properties}


def probe_stream_function(table: str = "EventsTable", **event_properties: Any) -> dict[str, Any]:
    """A ``tests/fixtures/probe_stream`` function subscribed to ``table``'s stream."""
    stream = {"Stream": {"Fn::GetAtt": [table, "StreamArn"]}, "StartingPosition": "TRIM_HORIZON"}
    return probe_function(
        "probe_stream", {"Stream": {"Type": "DynamoDB", "Properties": {**stream, **event_properties}}}
    )
