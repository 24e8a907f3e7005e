"""Builds the service's OpenAPI document from the routes themselves: every API function named in
``template.yaml`` is loaded and its powertools resolver describes its routes; the pieces are merged
into one document (``docs/openapi.json``, committed, served at ``GET /v1/openapi.json``).

``python -m devstack.openapi`` writes it; ``--check`` fails when the committed copy is stale.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from devstack.gateway import FunctionRunner
from devstack.template import REPO_ROOT, SamTemplate

DOCUMENT_PATH = REPO_ROOT / "docs" / "openapi.json"
TITLE = "Portal password reset"
VERSION = "1.0.0"


def build_document(template: SamTemplate | None = None) -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    from pwreset.api.schemas import SECURITY_SCHEMES

    template = template or SamTemplate()
    runner = FunctionRunner(template)
    schemes: dict[str, Any] = {
        name: HTTPBearer()
        if spec["type"] == "http"
        else APIKey(
            **{"in": APIKeyIn(spec["in"]), "name": spec["name"]},
            description=spec.get("description"),
            # OpenAPI extensions (API Gateway's x-amazon-apigateway-authtype for SigV4)
            **{k: v for k, v in spec.items() if k.startswith("x-")},
        )
        for name, spec in SECURITY_SCHEMES.items()
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Password resets for the client portal. Every error has the shape "
            '{"error": {"code", "message"}}; messages follow the account\'s language, else '
            "Accept-Language (de or en).",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
    }
    functions = sorted({route.function for route in template.api_routes()})
    for function_id in functions:
        app = runner.module(function_id).app
        part = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION, security_schemes=schemes))
        for path, operations in part.get("paths", {}).items():
            document["paths"].setdefault(path, {}).update(operations)
        components = part.get("components", {})
        document["components"]["schemas"].update(components.get("schemas", {}))
        document["components"]["securitySchemes"].update(components.get("securitySchemes", {}))
    document["paths"] = dict(sorted(document["paths"].items()))
    for operations in document["paths"].values():
        for operation in operations.values():
            described = operation.pop("x-text-body", None)
            if described and "requestBody" not in operation:
                operation["requestBody"] = {
                    "description": described["description"],
                    "required": True,
                    "content": {"text/plain": {"schema": _schema_of(described["schema_model"], document)}},
                }
            # powertools documents its own 422 validation body; this API answers bad input with 400
            # in the one error shape instead, so that entry would be a lie.
            responses = operation.get("responses", {})
            if "422" in responses and "HTTPValidationError" in json.dumps(responses["422"]):
                del responses["422"]
    schemas = document["components"]["schemas"]
    _share_time_zones(schemas)
    used = json.dumps(document["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if name in schemas and f"/{name}" not in used:
            del schemas[name]
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def _share_time_zones(schemas: dict[str, Any]) -> None:
    """Every time zone field lists the same 598 names: once, as ``#/components/schemas/TimeZone``."""
    from pwreset.api.schemas import documented_time_zones

    zones = documented_time_zones()

    def shared(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("enum") == zones:
                kept = {k: v for k, v in node.items() if k in ("title", "description")}
                return {"$ref": "#/components/schemas/TimeZone", **kept}
            return {k: shared(v) for k, v in node.items()}
        if isinstance(node, list):
            return [shared(v) for v in node]
        return node

    for name in list(schemas):
        schemas[name] = shared(schemas[name])
    schemas["TimeZone"] = {
        "type": "string",
        "description": "An IANA time zone name, e.g. Europe/Berlin",
        "enum": zones,
    }


def _schema_of(dotted: str, document: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of the pydantic type ``module.Name`` (a body the resolver does not parse),
    its parts among the document's component schemas."""
    from pydantic import TypeAdapter

    module, _, name = dotted.rpartition(".")
    found = getattr(importlib.import_module(module), name)
    schema: dict[str, Any] = TypeAdapter(found).json_schema(ref_template="#/components/schemas/{model}")
    document["components"]["schemas"].update(schema.pop("$defs", {}))
    return schema


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json is stale")
    parser.add_argument("--output", type=Path, default=DOCUMENT_PATH)
    args = parser.parse_args(argv)
    template = SamTemplate()
    # The handlers read their configuration at import, as at a cold start: give them the template's.
    for key, value in template.function_environment().items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    text = render(build_document(template))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run 'make openapi'", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
