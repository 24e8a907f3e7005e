"""What every hosted page (the reset page, the help article) answers with: HTML that is never
cached, under one Content-Security-Policy, with the ids its script and the browser tests use."""

from __future__ import annotations

from support.api import Result
from support.html_parsing import ParsedHtml

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data: https:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def assert_hosted_page(result: Result, dom_ids: set[str]) -> None:
    """``result`` is a hosted page with the security headers (no caching, no referrer, the CSP, no
    sniffing, no framing) and every id of ``dom_ids``."""
    assert result.status == 200
    assert result.header("Content-Type") == "text/html; charset=utf-8"
    assert result.header("Cache-Control") == "no-store"
    assert result.header("Referrer-Policy") == "no-referrer"
    assert result.header("Content-Security-Policy") == CSP
    assert result.header("X-Content-Type-Options") == "nosniff"
    assert result.header("X-Frame-Options") == "DENY"
    assert ParsedHtml(result.body).ids() >= dom_ids
