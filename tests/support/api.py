"""An in-process HTTP client over the template-driven gateway: requests go through the routes,
authorizer and handlers ``template.yaml`` describes, as the local stack serves them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devstack.gateway import Gateway, HttpRequest, HttpResponse
from devstack.seed import key_pair, load_demo_data, signed_headers
from devstack.sigv4 import KeyPair
from support.environment import TEMPLATE
from support.leaks import THIS_TEST
from support.queues import QueueMapping

_GATEWAY: QueueDrainingGateway | None = None
# The key pair the gateway accepts on AWS_IAM routes, as make dev does.
PROVISIONING_KEY = key_pair(load_demo_data())
API_HOST = "api.local"


class QueueDrainingGateway(Gateway):
    """The gateway, and after each request the template's queue-triggered functions, run on what
    that request queued (as Lambda's SQS event source would, moments later): a test reads the
    outcome (the self-service link's mail) right after the request, as a person would a little
    later."""

    _mappings: list[QueueMapping] | None = None  # made in each test's mock, see forget_queues

    def handle(self, request: HttpRequest) -> HttpResponse:
        response = super().handle(request)
        if self._mappings is None:
            self._mappings = [
                QueueMapping(self.template, subscription.function, self._invoker(subscription.function))
                for subscription in self.template.queue_subscriptions()
            ]
        for mapping in self._mappings:
            mapping.run()
        return response

    def forget_queues(self) -> None:
        """Tests switch mocks between cases; the queue mappings' client belongs to the previous one."""
        self._mappings = None

    def _invoker(self, function: str) -> Callable[[dict[str, Any]], Any]:
        return lambda event: self.runner.invoke(function, event)


def forget_queues() -> None:
    if _GATEWAY is not None:
        _GATEWAY.forget_queues()


def gateway() -> Gateway:
    """One gateway (and so one import of each handler) per test session, like a warm Lambda."""
    global _GATEWAY
    if _GATEWAY is None:
        _GATEWAY = QueueDrainingGateway(TEMPLATE, iam_key=PROVISIONING_KEY)
    return _GATEWAY


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
            with contextlib.suppress(ValueError, RecursionError):  # a hand-made JSON body has secrets too
                THIS_TEST.remember(json.loads(raw_body))
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        THIS_TEST.remember(json_body)
        if token:
            THIS_TEST.add(token)
        path, _, query = path.partition("?")  # as a browser sends it: the query apart from the path
        response = gateway().handle(
            HttpRequest(
                method=method,
                path=path,
                query=query,
                headers=list(hdrs.items()),
                body=body,
                source_ip=source_ip or self.source_ip,
            )
        )
        try:
            parsed = response.json()
        except ValueError:
            parsed = response.body.decode("utf-8", "replace")
        THIS_TEST.remember(parsed)
        return Result(response.status, parsed, response)

    def post(self, path: str, body: Any = None, **kw: Any) -> Result:
        return self.request("POST", path, json_body=body, **kw)

    def get(self, path: str, **kw: Any) -> Result:
        return self.request("GET", path, **kw)

    def delete(self, path: str, **kw: Any) -> Result:
        return self.request("DELETE", path, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Result:
        return self.request("PUT", path, json_body=body, **kw)

    def signed(
        self, method: str, path: str, body: Any = None, *, key: KeyPair = PROVISIONING_KEY, **kw: Any
    ) -> Result:
        """A provisioning request, signed with SigV4 as the CRM's backend signs it (botocore)."""
        THIS_TEST.remember(body)
        raw = json.dumps(body).encode("utf-8") if body is not None else b""
        headers = {"Host": API_HOST, **({"Content-Type": "application/json"} if body is not None else {})}
        headers = signed_headers(key, method, f"https://{API_HOST}{path}", raw, headers)
        return self.request(method, path, raw_body=raw, headers={**headers, **kw.pop("headers", {})}, **kw)

    def provision(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """What :func:`devstack.seed.seed` calls to provision data through the API."""
        result = self.signed(method, path, body)
        return result.status, result.body

    # -- flows used by many tests
    def put_client(self, account_id: str, *, firm_id: str, email: str, name: str, **fields: Any) -> Result:
        """The CRM's PUT of a client account (``fields``: locale, status, send_invitation, ...),
        signed as its backend signs it."""
        body = {"firm_id": firm_id, "role": "client", "email": email, "name": name, **fields}
        return self.signed("PUT", f"/v1/admin/accounts/{account_id}", body)

    def sign_in(self, email: str, password: str, *, firm_id: str | None = None) -> str:
        body = {"email": email, "password": password, **({"firm_id": firm_id} if firm_id else {})}
        result = self.post("/v1/sessions", body)
        assert result.status == 201, result.body
        return str(result.body["session"]["token"])

    def sign_in_as(self, account: dict[str, Any]) -> str:
        """Sign in as a demo account (its ``email`` and ``password``, as the demo data has them, in
        its firm: a login with accounts at several firms acts as the one named)."""
        return self.sign_in(account["email"], account["password"], firm_id=account.get("firm_id"))

    def staff_link(self, staff: dict[str, Any], account_id: str) -> str:
        """``staff`` (a demo account) signs in and sends ``account_id`` a reset link: the link's
        token, from the mail."""
        from support.sent_mail import sent_messages, token_from

        sent = self.post(f"/v1/accounts/{account_id}/password-reset", token=self.sign_in_as(staff))
        assert sent.status == 202, sent.body
        return token_from(sent_messages()[-1])

    def confirm(self, raw: str, password: str, **kw: Any) -> Result:
        """Set ``password`` with a link's token (``kw``: the request's headers, source_ip); it
        must work."""
        done = self.post("/v1/password-resets/confirm", {"token": raw, "password": password}, **kw)
        assert done.status == 200, done.body
        return done
