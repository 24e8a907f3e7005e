"""Test helpers: an in-process API client over the template-driven gateway, the mailbox that
moto's SES keeps, reading events from ``events/``, and copies of ``template.yaml`` with throwaway
resources added."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack.gateway import Gateway, HttpRequest, HttpResponse
from devstack.seed import key_pair, load_demo_data, signed_headers
from devstack.sigv4 import KeyPair
from devstack.template import TEMPLATE_PATH, load_yaml
from testenv import TEMPLATE

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
TOKEN_IN_LINK = re.compile(r"#token=([A-Za-z0-9_-]{43})")

_GATEWAY: Gateway | None = None
# The key pair the gateway accepts on AWS_IAM routes, as make dev does.
PROVISIONING_KEY = key_pair(load_demo_data())
API_HOST = "api.local"


def gateway() -> Gateway:
    """One gateway (and so one import of each handler) per test session, like a warm Lambda."""
    global _GATEWAY
    if _GATEWAY is None:
        _GATEWAY = Gateway(TEMPLATE, iam_key=PROVISIONING_KEY)
    return _GATEWAY


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


@dataclass
class Result:
    status: int
    body: Any
    raw: HttpResponse

    def header(self, name: str) -> str | None:
        return self.raw.header(name)

    @property
    def error_code(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None


class Api:
    """Speaks HTTP semantics to the gateway in-process: JSON in, status and JSON out."""

    def __init__(self, source_ip: str = "198.51.100.20") -> None:
        self.source_ip = source_ip

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_body: bytes | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        source_ip: str | None = None,
    ) -> Result:
        hdrs = {"Accept": "application/json", "User-Agent": "pytest"}
        body = b""
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if raw_body is not None:
            body = raw_body
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        response = gateway().handle(
            HttpRequest(
                method=method,
                path=path,
                headers=list(hdrs.items()),
                body=body,
                source_ip=source_ip or self.source_ip,
            )
        )
        try:
            parsed = response.json()
        except ValueError:
            parsed = response.body.decode("utf-8", "replace")
        return Result(response.status, parsed, response)

    def post(self, path: str, body: Any = None, **kw: Any) -> Result:
        return self.request("POST", path, json_body=body, **kw)

    def get(self, path: str, **kw: Any) -> Result:
        return self.request("GET", path, **kw)

    def delete(self, path: str, **kw: Any) -> Result:
        return self.request("DELETE", path, **kw)

    def signed(
        self, method: str, path: str, body: Any = None, *, key: KeyPair = PROVISIONING_KEY, **kw: Any
    ) -> Result:
        """A provisioning request, signed with SigV4 as the CRM's backend signs it (botocore)."""
        raw = json.dumps(body).encode("utf-8") if body is not None else b""
        headers = {"Host": API_HOST, **({"Content-Type": "application/json"} if body is not None else {})}
        headers = signed_headers(key, method, f"https://{API_HOST}{path}", raw, headers)
        return self.request(method, path, raw_body=raw, headers={**headers, **kw.pop("headers", {})}, **kw)

    def provision(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """What :func:`devstack.seed.seed` calls to provision data through the API."""
        result = self.signed(method, path, body)
        return result.status, result.body

    # -- flows used by many tests
    def sign_in(self, email: str, password: str) -> str:
        result = self.post("/v1/sessions", {"email": email, "password": password})
        assert result.status == 201, result.body
        return str(result.body["session"]["token"])


def sent_messages() -> list[Any]:
    """Every message moto's SES accepted in this mock, oldest first."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-central-1"].sent_messages)


def message_body(message: Any) -> str:
    return str(getattr(message, "body", "") or getattr(message, "html", ""))


def token_from(message: Any) -> str:
    found = TOKEN_IN_LINK.search(message_body(message))
    assert found, "no reset link in the mail"
    return found.group(1)


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


def probe_stream_function(table: str = "EventsTable", **event_properties: Any) -> dict[str, Any]:
    """A ``tests/fixtures/probe_stream`` function subscribed to ``table``'s stream."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": str(FIXTURES_DIR / "probe_stream"),
            "Events": {
                "Stream": {
                    "Type": "DynamoDB",
                    "Properties": {
                        "Stream": {"Fn::GetAtt": [table, "StreamArn"]},
                        "StartingPosition": "TRIM_HORIZON",
                        **event_properties,
                    },
                }
            },
        },
    }
