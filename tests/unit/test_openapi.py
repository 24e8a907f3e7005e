"""The OpenAPI document is generated from the routes and committed; it must not drift."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from devstack.openapi import DOCUMENT_PATH, build_document, render
from support.environment import TEMPLATE

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
PASSWORD_LIKE = re.compile(r"pass(word|phrase|wd)?|pwd|hash", re.I)
SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"session_cookie": []}]


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


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def property_names(document: dict[str, Any], schema: dict[str, Any]) -> Iterator[str]:
    """Every property a body may carry, nested ones and those of every alternative too."""
    schema = resolved(document, schema)
    for name, inner in schema.get("properties", {}).items():
        yield name
        yield from property_names(document, inner)
    for key in ("allOf", "anyOf", "oneOf"):
        for inner in schema.get(key, []):
            yield from property_names(document, inner)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from property_names(document, schema[key])


def test_only_the_holder_of_an_account_can_set_its_password() -> None:
    """ASVS 6.4.6, from the API's own description (served at /v1/openapi.json, and the same as the
    routes, see above): the operations that take a password are sign-in, confirming a link that was
    mailed to the holder, and a change on the caller's own session that proves the current one.
    None is about an account named in the path (staff routes), none is signed by the CRM."""
    document = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }
    bodies = {
        key: [resolved(document, c["schema"]) for c in op.get("requestBody", {}).get("content", {}).values()]
        for key, op in operations.items()
    }
    taking_a_password = {
        key
        for key, schemas in bodies.items()
        if any(PASSWORD_LIKE.search(name) for schema in schemas for name in property_names(document, schema))
    }

    assert taking_a_password == {
        ("POST", "/v1/sessions"),
        ("POST", "/v1/password-resets/confirm"),
        ("POST", "/v1/sessions/current/password"),
    }
    for key in taking_a_password:
        operation = operations[key]
        assert "{" not in key[1] and not [p for p in operation.get("parameters", []) if p["in"] == "path"], (
            key
        )
        assert {"sigv4"}.isdisjoint(name for s in operation.get("security", []) for name in s), key
    [sign_in] = bodies["POST", "/v1/sessions"]
    assert operations["POST", "/v1/sessions"].get("security") is None and set(sign_in["required"]) == {
        "email",
        "password",
    }
    [confirm] = bodies["POST", "/v1/password-resets/confirm"]
    assert "token" in confirm["required"]
    [change] = bodies["POST", "/v1/sessions/current/password"]
    assert operations["POST", "/v1/sessions/current/password"]["security"] == SIGNED_IN
    assert "current_password" in change["required"]
    # The CRM's operations (and the staff ones) are there, and none of them takes a password.
    provisioning = {key for key, op in operations.items() if op.get("security") == [{"sigv4": []}]}
    staff = {key for key in operations if "{account_id}" in key[1] and key not in provisioning}
    assert len(provisioning) >= 4 and len(staff) >= 3
    assert not (provisioning | staff) & taking_a_password
