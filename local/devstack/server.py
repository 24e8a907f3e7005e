"""The local stack's HTTP server: a threaded stdlib server in front of :class:`Gateway`.

Every path is the template's (through the gateway) except ``/_dev/...``, which exists only here:
the mailbox (``/_dev/mail``, ``/_dev/mail.json``), the reference portal (``/_dev/portal``: staff
and client screens on the public API, ``static/portal.*``) and a readiness probe (``/_dev/health``).
Nothing under ``/_dev/`` may ever appear in ``template.yaml``.

The stack seeds its demo data through the API, so the server serves before the stack is ready;
until it is (:meth:`DevServer.mark_ready`), every API route answers ``503`` with ``Retry-After: 1``
in the contract's error shape, and only the stack's own seeding requests (carrying
:attr:`DevServer.seed_key`, a secret of this process) get through. A sign-in in the first second
after the port opened would otherwise be refused for a demo account not written yet.
"""

from __future__ import annotations

import errno
import hmac
import html
import json
import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from devstack.gateway import MAX_REQUEST_BYTES, Gateway, HttpRequest, HttpResponse
from devstack.mailbox import Mailbox, MailMessage

log = logging.getLogger("devstack.http")

DEV_PREFIX = "/_dev/"
STATIC_DIR = Path(__file__).resolve().parent / "static"
_STATIC = {
    "/_dev/dev.css": ("dev.css", "text/css; charset=utf-8"),
    "/_dev/portal.js": ("portal.js", "text/javascript; charset=utf-8"),
    "/_dev/portal.css": ("portal.css", "text/css; charset=utf-8"),
    "/_dev/portal-texts.json": ("portal-texts.json", "application/json; charset=utf-8"),
    "/_dev/mail.js": ("mail.js", "text/javascript; charset=utf-8"),
}
_MAIL_DOC = re.compile(r"^/_dev/mail/([A-Za-z0-9._@+=-]{1,200})\.html$")

# The dev pages run no inline script or style and load nothing from elsewhere.
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# A mail is someone else's HTML: no script, no network, only its own inline styles and data: images.
_MAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
)
_COMMON_HEADERS = [
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
]

DevRoute = Callable[[HttpRequest], HttpResponse]

# The header the stack's own seeding requests carry while the server is not ready yet.
SEED_HEADER = "X-Devstack-Seed"
# How long a client waits before trying again while the stack starts.
NOT_READY_RETRY_AFTER_S = 1
NOT_READY_BODY = {
    "error": {
        "code": "internal_error",
        "message": "The service is starting; please try again in a moment. / "
        "Der Dienst startet gerade; bitte versuchen Sie es gleich noch einmal.",
    }
}


class PortInUseError(OSError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"{host}:{port} is already in use")
        self.host = host
        self.port = port


@dataclass
class DevPages:
    """What the ``/_dev/`` pages need to know about the stack they belong to."""

    mailbox: Mailbox
    reset_page_url: str
    health: Callable[[], dict[str, Any]]


class DevServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # a restart right after a stop must not fail on TIME_WAIT
    request_queue_size = 64

    def __init__(self, host: str, port: int, gateway: Gateway, pages: DevPages) -> None:
        self.gateway = gateway
        self.pages = pages
        self.dev_routes: dict[tuple[str, str], DevRoute] = {}
        # Not ready until the stack says so (its demo data is in); see the module's docstring.
        self.ready = threading.Event()
        self.seed_key = secrets.token_urlsafe(32)
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(host, port) from exc
            raise
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def mark_ready(self) -> None:
        """From now on every API route is served (the stack's demo data is in)."""
        self.ready.set()

    def admits(self, request: HttpRequest) -> bool:
        """Whether an API request is served now: always once ready, before that only the stack's
        own seeding requests (whose key header is removed before the gateway sees them)."""
        if self.ready.is_set():
            return True
        presented = [v for k, v in request.headers if k.lower() == SEED_HEADER.lower()]
        request.headers = [(k, v) for k, v in request.headers if k.lower() != SEED_HEADER.lower()]
        return len(presented) == 1 and hmac.compare_digest(presented[0].encode(), self.seed_key.encode())

    def add_route(self, method: str, path: str, handler: DevRoute) -> None:
        """Serve ``method path`` (which must start with ``/_dev/``) with ``handler``."""
        if not path.startswith(DEV_PREFIX):
            raise ValueError("dev-only routes live under /_dev/ so they can never shadow the template's")
        self.dev_routes[(method.upper(), path)] = handler

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
        self.server_close()


def ensure_port_free(host: str, port: int) -> None:
    """Fail early, with the port's number, when something already listens on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(host, port) from exc
            raise


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: DevServer
    server_version = "devstack"

    def __getattr__(self, name: str) -> Any:
        # API Gateway answers any other method too (TRACE, QUERY, ...: no such route, the
        # template's 404), never a bare 501.
        if name.startswith("do_") and name[3:].isalpha():
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self) -> None:
        started = time.monotonic()
        raw_path, _, query = self.path.partition("?")
        path = unquote(raw_path) or "/"
        headers = list(self.headers.items())
        response: HttpResponse | None = None
        try:
            body = self._read_body()
        except ValueError:  # a Content-Length or chunk size that is not a number
            body, response = b"", self.server.gateway.gateway_response("BAD_REQUEST_BODY", 400)
            self.close_connection = True
        if body is None:
            response = self.server.gateway.gateway_response("REQUEST_TOO_LARGE", 413)
            self.close_connection = True  # the unread body must not be taken for the next request
        if response is None:
            request = HttpRequest(
                method=self.command,
                path=path,
                headers=headers,
                body=body or b"",
                query=query,
                source_ip=self.client_address[0],
                scheme="http",
                port=self.server.port,
            )
            try:
                response = self._route(request)
            except Exception:
                log.exception("dev server error on %s %s", self.command, path)
                response = self.server.gateway.gateway_response("DEFAULT_5XX", 500)
        self._send(response)
        log.info(
            "%s %s %d %.0f ms", self.command, raw_path, response.status, (time.monotonic() - started) * 1000
        )

    # The methods API Gateway routes; any other reaches _dispatch through __getattr__.
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is over API Gateway's limit (read no further then)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _route(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/_dev" or request.path.startswith(DEV_PREFIX):
            return self._dev(request)
        if not self.server.admits(request):
            return not_ready()
        return self.server.gateway.handle(request)

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    # ------------------------------------------------------------------ /_dev/
    def _dev(self, request: HttpRequest) -> HttpResponse:
        pages = self.server.pages
        method, path = request.method.upper(), request.path
        custom = self.server.dev_routes.get((method, path))
        if custom is not None:
            return custom(request)
        if method not in ("GET", "HEAD"):
            return _text(405, "Method not allowed")
        if path in ("/_dev", "/_dev/"):
            return _page(render_index(pages.reset_page_url))
        if path == "/_dev/health":
            health = pages.health()
            return _json(200 if health.get("status") == "ok" else 503, health)
        if path == "/_dev/mail.json":
            return _json(200, {"messages": [m.as_json() for m in pages.mailbox.messages()]})
        if path == "/_dev/mail":
            return _page(render_mailbox(pages.mailbox.messages(), pages.reset_page_url))
        if path == "/_dev/portal":
            return _page((STATIC_DIR / "portal.html").read_text(encoding="utf-8"))
        if path in _STATIC:
            name, content_type = _STATIC[path]
            return HttpResponse(
                200, [("Content-Type", content_type), *_COMMON_HEADERS], (STATIC_DIR / name).read_bytes()
            )
        found = _MAIL_DOC.match(path)
        if found:
            message = pages.mailbox.get(found.group(1))
            if message is None:
                return _text(404, "No such mail / Diese E-Mail gibt es nicht")
            return HttpResponse(
                200,
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Security-Policy", _MAIL_CSP),
                    ("X-Frame-Options", "SAMEORIGIN"),
                    *_COMMON_HEADERS,
                ],
                (message.html or "<p>(no HTML part)</p>").encode("utf-8"),
            )
        return _text(404, "No such dev page / Diese Entwicklerseite gibt es nicht")


def not_ready() -> HttpResponse:
    """What every API route answers while the stack starts: the contract's error shape, a 503
    and when to try again."""
    response = _json(503, NOT_READY_BODY)
    response.headers.append(("Retry-After", str(NOT_READY_RETRY_AFTER_S)))
    return response


def _page(body: str) -> HttpResponse:
    return HttpResponse(
        200,
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Security-Policy", _PAGE_CSP),
            *_COMMON_HEADERS,
        ],
        body.encode("utf-8"),
    )


def _json(status: int, body: Any) -> HttpResponse:
    return HttpResponse(
        status,
        [("Content-Type", "application/json"), *_COMMON_HEADERS],
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
    )


def _text(status: int, body: str) -> HttpResponse:
    return HttpResponse(
        status, [("Content-Type", "text/plain; charset=utf-8"), *_COMMON_HEADERS], body.encode("utf-8")
    )


_HEAD = """<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="/_dev/dev.css">
{scripts}</head>
"""
_NAV = """<header>
  <h1>{title}</h1>
  <a href="/_dev/mail">Postfach / Mailbox</a>
  <a href="/_dev/portal">Portal</a>
</header>
"""


def render_index(reset_page_url: str) -> str:
    title = "Lokaler Stack / Local stack"
    return (
        _HEAD.format(title=title, scripts="")
        + "<body>\n"
        + _NAV.format(title=title)
        + '<main>\n<section class="card">\n<ul>\n'
        + '<li><a href="/_dev/mail">Postfach: jede gesendete E-Mail / Mailbox: every mail sent</a></li>\n'
        + '<li><a href="/_dev/mail.json">/_dev/mail.json</a></li>\n'
        + '<li><a href="/_dev/events.json">/_dev/events.json</a>: '
        + "Ereignisse für das CRM / events for the CRM</li>\n"
        + '<li><a href="/_dev/portal">Referenzportal / Reference portal</a></li>\n'
        + f"<li>Reset-Seite / Reset page: <code>{html.escape(reset_page_url)}#token=…</code></li>\n"
        + "</ul>\n</section>\n</main>\n</body>\n</html>\n"
    )


def render_mailbox(messages: list[MailMessage], reset_page_url: str) -> str:
    """The mailbox page, newest first; each mail's HTML sits in a sandboxed frame of its own."""
    title = "Postfach / Mailbox"
    newest = html.escape(messages[0].id) if messages else ""
    parts = [
        _HEAD.format(title=title, scripts='<script src="/_dev/mail.js" defer></script>\n'),
        f'<body data-newest="{newest}">\n',
        _NAV.format(title=title),
        "<main>\n",
        '<p class="note">Jede E-Mail, die der lokale Stack über SES sendet, neueste zuerst. '
        "Diese Seite lädt neu, sobald eine neue ankommt.<br>"
        "Every e-mail the local stack sends through SES, newest first. "
        "This page reloads when a new one arrives.</p>\n",
    ]
    if not messages:
        parts.append('<section class="card"><p>Noch keine E-Mails. / No mail yet.</p></section>\n')
    for message in messages:
        parts.append(_render_message(message, reset_page_url))
    parts.append("</main>\n</body>\n</html>\n")
    return "".join(parts)


def _render_message(message: MailMessage, reset_page_url: str) -> str:
    esc = html.escape
    links = []
    for link in message.links:
        if link.startswith(reset_page_url):
            links.append(
                f'<a class="reset" href="{esc(link)}" rel="noopener noreferrer">'
                "Reset-Link öffnen / Open reset link</a>"
            )
        else:
            links.append(f'<a href="{esc(link)}" rel="noopener noreferrer">{esc(link)}</a>')
    meta = [
        ("An / To", ", ".join(message.to)),
        ("Von / From", message.sender),
        ("Gesendet / Sent", message.sent_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("Message-ID", message.id),
    ]
    if message.cc:
        meta.insert(1, ("Cc", ", ".join(message.cc)))
    if message.tags:
        meta.append(("Tags", ", ".join(f"{k}={v}" for k, v in message.tags.items())))
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta)
    frame = ""
    if message.html:
        frame = (
            f'<iframe class="mail" title="{esc(message.subject)}" '
            f'src="/_dev/mail/{esc(message.id)}.html" '
            'sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer"></iframe>\n'
        )
    text = ""
    if message.text:
        text = (
            "<details><summary>Textteil / Text part</summary>"
            f'<pre class="text">{esc(message.text)}</pre></details>\n'
        )
    return (
        f'<article class="card" id="mail-{esc(message.id)}">\n'
        f"<h2>{esc(message.subject)}</h2>\n"
        f'<dl class="meta">{rows}</dl>\n'
        + (f'<p class="links">{"".join(links)}</p>\n' if links else "")
        + frame
        + text
        + "</article>\n"
    )
