"""The OpenAPI document is generated from the routes and committed; it must not drift."""

from __future__ import annotations

import json

from devstack.openapi import DOCUMENT_PATH, build_document, render
from support.environment import TEMPLATE


def test_committed_document_matches_the_routes() -> None:
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == render(build_document(TEMPLATE)), (
        "docs/openapi.json is stale: run 'make openapi'"
    )


def test_every_template_route_is_documented_with_the_error_shape() -> None:
    document = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    for route in TEMPLATE.api_routes():
        operation = document["paths"][route.path][route.method.lower()]
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (route, status)
        if route.authorizer == "AWS_IAM":
            assert "403" in operation["responses"], route
            assert operation["security"] == [{"sigv4": []}], route
        elif route.authorizer:
            assert "401" in operation["responses"], route
            assert operation["security"] == [{"bearer": []}, {"session_cookie": []}], route


def test_no_validation_body_that_the_api_never_sends() -> None:
    text = DOCUMENT_PATH.read_text(encoding="utf-8")
    assert "HTTPValidationError" not in text
