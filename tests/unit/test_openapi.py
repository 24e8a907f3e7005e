"""The OpenAPI document is generated from the routes and committed; it must not drift."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from devstack.openapi import DOCUMENT_PATH, build_document, render
from pwreset.api.schemas import PRINTABLE_PATTERN
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


def test_no_operation_takes_a_password_hint_or_a_security_question() -> None:
    """ASVS 5.0 6.4.2, NIST SP 800-63B-4 3.1.1.2 (#24.13): no request body of any operation has a
    field for a password hint or for a question and its answer, so none is stored or asked."""
    document = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    names = {
        name
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
        for content in operation.get("requestBody", {}).get("content", {}).values()
        for name in property_names(document, content["schema"])
    }
    assert {"email", "password", "current_password", "new_password"} & names  # the walk finds fields
    assert not [name for name in names if re.search(r"hint|question|answer|reminder", name, re.I)]


# ------------------------------------------------------------------ what is accepted (issue #28)


def _document() -> dict[str, Any]:
    return dict(json.loads(DOCUMENT_PATH.read_text(encoding="utf-8")))


def test_a_token_field_says_the_one_shape_a_token_has() -> None:
    """A generated client (or the fuzzer) learns what a link's token looks like; the tokens the
    service issues have that shape."""
    from pwreset.credentials.tokens import default_token_generator

    schemas = _document()["components"]["schemas"]
    tokens = {
        name: s["properties"]["token"] for name, s in schemas.items() if "token" in s.get("properties", {})
    }
    requests = {name: spec for name, spec in tokens.items() if name.endswith("Body")}
    assert set(requests) >= {"VerifyBody", "ConfirmBody", "LockBody"}
    for name, spec in requests.items():
        assert (spec["pattern"], spec["minLength"], spec["maxLength"]) == ("^[A-Za-z0-9_-]{43}$", 43, 43), (
            name
        )
    issued = default_token_generator.make_token()
    assert re.fullmatch(requests["VerifyBody"]["pattern"], issued.raw)


def test_the_webhook_says_it_takes_an_sns_message_and_refuses_an_empty_body() -> None:
    from pwreset.delivery import sns

    document = _document()
    body = document["paths"]["/v1/webhooks/ses"]["post"]["requestBody"]
    assert body["required"] is True and "empty body" in body["description"]
    schema = body["content"]["text/plain"]["schema"]
    assert schema["discriminator"]["propertyName"] == "Type"
    schemas = document["components"]["schemas"]
    notification = schemas["SnsNotification"]
    confirmation = schemas["SnsConfirmation"]
    # What the description calls required is what the webhook's verifier refuses to go without.
    assert set(notification["required"]) == set(sns.REQUIRED_FIELDS[sns.NOTIFICATION])
    for kind in (sns.SUBSCRIPTION_CONFIRMATION, sns.UNSUBSCRIBE_CONFIRMATION):
        assert set(confirmation["required"]) == set(sns.REQUIRED_FIELDS[kind])
    assert set(confirmation["required"]) - set(notification["required"]) == {"SubscribeURL", "Token"}
    assert notification["properties"]["MessageId"]["minLength"] == 1


def test_the_provisioning_routes_are_described_as_sigv4_for_generated_clients() -> None:
    scheme = _document()["components"]["securitySchemes"]["sigv4"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")


def test_every_free_text_field_of_a_request_refuses_nul_in_the_document_too() -> None:
    schemas = _document()["components"]["schemas"]
    free = [
        (name, field)
        for name, schema in schemas.items()
        if name.endswith("Body")
        for field, spec in schema.get("properties", {}).items()
        for option in [spec, *spec.get("anyOf", [])]
        if option.get("type") == "string" and not {"enum", "const"} & set(option)
    ]
    assert free
    for name, field in free:
        spec = schemas[name]["properties"][field]
        pattern = next(o["pattern"] for o in [spec, *spec.get("anyOf", [])] if "pattern" in o)
        assert not re.search(pattern, "with a \x00 inside"), (name, field)
        if pattern == PRINTABLE_PATTERN:
            assert re.search(pattern, "Grüße aus Köln 🌞 \t"), (name, field)
