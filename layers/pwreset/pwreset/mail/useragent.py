"""Operating system and browser, with versions, from a User-Agent string (ua-parser).

ua-parser 1.x runs its rules on ``ua-parser-rs``, a compiled (Rust) regex engine: linear time on
any input, which matters because a User-Agent is whatever the client sent. Nothing is imported or
compiled until the first :func:`describe`, and then only the browser and OS rule sets: the device
rules (about half of all rules) are never built, because the mails do not show the device.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from pwreset.core.observability import logger

if TYPE_CHECKING:
    # deferred: as ua_parser_rs above
    from ua_parser import Domain, Matchers, PartialResult, Resolver

__all__ = ["Software", "backend", "describe"]

# A User-Agent longer than this is cut before parsing (the confirm path already stores at most 512).
MAX_LENGTH = 512
RS_BACKEND = "ua-parser-rs"
PURE_PYTHON_BACKEND = "ua-parser (pure Python)"


@dataclass(frozen=True)
class Software:
    """``Windows 10`` / ``Chrome 131.0.6778.86``; ``None`` where the string says nothing usable."""

    os: str | None
    browser: str | None


def _name(family: str | None, *parts: str | None) -> str | None:
    if not family or family == "Other":
        return None
    version = ".".join(p for p in parts if p)
    return f"{family} {version}" if version else family


class _BrowserAndOsResolver:
    """A ua-parser ``Resolver`` on ``ua-parser-rs`` that builds each domain's extractor on first
    need (ua-parser's own ``regex.Resolver`` builds all three up front, device rules included)."""

    def __init__(self, matchers: Matchers) -> None:
        self._matchers = matchers
        self._lock = threading.Lock()
        self._ua: Any = None
        self._os: Any = None

    def _extractors(self) -> tuple[Any, Any]:
        with self._lock:
            if self._ua is None:
                # deferred: the rules and the compiled backend load at the first parse
                import ua_parser_rs

                fields = ("regex", "family", "major", "minor", "patch", "patch_minor")
                ua_rules, os_rules, _device_rules = self._matchers
                self._ua = ua_parser_rs.UserAgentExtractor(
                    tuple(getattr(m, f) for f in fields) for m in ua_rules
                )
                self._os = ua_parser_rs.OSExtractor(tuple(getattr(m, f) for f in fields) for m in os_rules)
            return self._ua, self._os

    def __call__(self, ua: str, domains: Domain, /) -> PartialResult:
        # deferred: as ua_parser_rs above
        from ua_parser import OS, Domain, PartialResult, UserAgent

        ua_extractor, os_extractor = self._extractors()
        user_agent = os = None
        if Domain.USER_AGENT in domains and (m := ua_extractor.extract(ua)):
            user_agent = UserAgent(m.family, m.major, m.minor, m.patch, m.patch_minor)
        if Domain.OS in domains and (m := os_extractor.extract(ua)):
            os = OS(m.family, m.major, m.minor, m.patch, m.patch_minor)
        # Device is never asked for; report it resolved-and-empty rather than build its rules.
        return PartialResult(domains=domains, string=ua, user_agent=user_agent, os=os, device=None)


@cache
def _resolver() -> tuple[Resolver, str]:
    # deferred: as ua_parser_rs above
    import ua_parser

    try:
        # deferred: the rules and the compiled backend load at the first parse
        import ua_parser_rs  # noqa: F401 - only checks that the compiled backend is installed
    except ImportError:  # a broken build: still mail, slower, and say so
        logger.warning("ua-parser-rs missing, using the pure-Python ua-parser backend")
        return ua_parser.BasicResolver(ua_parser.load_builtins()), PURE_PYTHON_BACKEND
    return _BrowserAndOsResolver(ua_parser.load_lazy_builtins()), RS_BACKEND


def backend() -> str:
    """Which engine parses (builds the parser if needed): ``ua-parser-rs`` when installed."""
    return _resolver()[1]


def describe(user_agent: str | None) -> Software:
    """Parse ``user_agent``; empty or unrecognised parts come back as ``None`` (shown as unknown)."""
    text = (user_agent or "").strip()[:MAX_LENGTH]
    if not text:
        return Software(os=None, browser=None)
    # deferred: as ua_parser_rs above
    from ua_parser import Domain

    resolver, _ = _resolver()
    result = resolver(text, Domain.USER_AGENT | Domain.OS)
    browser = result.user_agent
    os = result.os
    return Software(
        os=_name(os.family, os.major, os.minor, os.patch, os.patch_minor) if os else None,
        browser=_name(browser.family, browser.major, browser.minor, browser.patch, browser.patch_minor)
        if browser
        else None,
    )
