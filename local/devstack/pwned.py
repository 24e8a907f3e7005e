"""A local stand-in for Have I Been Pwned's Pwned Passwords range API, for ``make dev``, the tests
and the bench: ``GET /range/{5 hex}`` answers ``SUFFIX:COUNT`` lines (CRLF, sorted), padded with
made-up suffixes of count 0 to 800-1,000 lines when asked with ``Add-Padding: true``, as the real
API answers.

The corpus is made when the fake starts, from nothing downloaded:

* every entry of the service's own blocklist (``pwreset/credentials/data/common-passwords.txt.gz``,
  Django's and zxcvbn's lists, see its NOTICE.md), with a count that falls with its rank, since
  every common password is in the real breach corpus too (the local rules refuse them first, so
  the service never asks about these);
* :data:`BREACHED_PASSPHRASES`, made up here: passphrases that pass every local rule (for every
  demo account) and still count as breached, so the ``breached`` answer can be tried end to end.
  ``local/demo_data.json`` → ``breached_password_example`` names one of them.

Every request is kept in an access log (path, headers, the client's port) that tests read to see
what left the service. A test can make the fake slow to answer (:attr:`FakeRangeApi.delay`) or to
finish its answer (:attr:`FakeRangeApi.trickle`), fail (:attr:`FakeRangeApi.status`) or answer
garbage (:attr:`FakeRangeApi.body`).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BLOCKLIST = (
    Path(__file__).resolve().parents[2]
    / "layers"
    / "pwreset"
    / "pwreset"
    / "credentials"
    / "data"
    / "common-passwords.txt.gz"
)

# Made-up "breached" passphrases: each at least 15 code points, no run of three repeated or
# sequential characters, not on the blocklist, no blocklisted word twice, no demo name, address or
# firm (tests/unit/test_pwned_fake.py holds them to that). Counts as the real API would show them.
BREACHED_PASSPHRASES: Mapping[str, int] = {
    "Blaue-Tulpe-Regenschirm": 1842,
    "purple monkey dishwasher": 3117,
    "Leuchtturm-Nordsee-Wind": 529,
}

# The real API pads every answer to between 800 and 1,000 lines.
PADDED_LINES = (800, 1000)
_PREFIX = re.compile(r"[0-9A-Fa-f]{5}")
_TOP_COUNT = 5_000_000  # the blocklist's first entry's count; the n-th gets about 1/n of it


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def blocklist() -> list[str]:
    return gzip.decompress(BLOCKLIST.read_bytes()).decode("utf-8").split()


class Corpus:
    """Password hashes by their 5-character prefix: ``{prefix: {suffix: count}}``."""

    def __init__(self, seen: Mapping[str, int]) -> None:
        self._ranges: dict[str, dict[str, int]] = {}
        for password, count in seen.items():
            digest = sha1_hex(password)
            self._ranges.setdefault(digest[:5], {})[digest[5:]] = count

    @classmethod
    def build(cls, extra: Mapping[str, int] = BREACHED_PASSPHRASES) -> Corpus:
        """The blocklist, ranked, plus ``extra`` (about 40 ms for the 40,000 hashes)."""
        ranked = {entry: max(1, _TOP_COUNT // rank) for rank, entry in enumerate(blocklist(), start=1)}
        return cls({**ranked, **extra})

    def __len__(self) -> int:
        return sum(len(suffixes) for suffixes in self._ranges.values())

    def __contains__(self, password: object) -> bool:
        if not isinstance(password, str):
            return False
        digest = sha1_hex(password)
        return digest[5:] in self._ranges.get(digest[:5], {})

    def lines(self, prefix: str, *, padding: bool) -> list[str]:
        """The answer's lines for ``prefix``, sorted; with ``padding``, 800-1,000 of them."""
        found = dict(self._ranges.get(prefix.upper(), {}))
        if padding:
            low, high = PADDED_LINES
            wanted = max(len(found), low + secrets.randbelow(high - low + 1))
            while len(found) < wanted:
                found.setdefault(secrets.token_hex(18)[:35].upper(), 0)
        return [f"{suffix}:{count}" for suffix, count in sorted(found.items())]


@dataclass(frozen=True)
class RangeRequest:
    """One request the fake received, as it arrived."""

    path: str
    headers: dict[str, str]
    client_port: int | None
    at: float

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "headers": self.headers, "client_port": self.client_port, "at": self.at}


@dataclass
class FakeRangeApi:
    """The range API's behaviour, whoever serves it (:class:`RangeServer` or the local stack's
    ``/_dev/pwned/``). The knobs apply to every request from when they are set."""

    corpus: Corpus
    delay: float = 0.0  # seconds from receiving a request to answering it (making the answer included)
    status: int = 200  # anything else answers with this status and a short text
    body: bytes | None = None  # answered instead of the range (a garbage answer)
    trickle: float = 0.0  # seconds between 1 kB pieces of the body (RangeServer only)
    _requests: list[RangeRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self) -> list[RangeRequest]:
        with self._lock:
            return list(self._requests)

    def answer(
        self, path: str, headers: Iterable[tuple[str, str]], client_port: int | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) for ``GET {path}``, ``path`` relative to the API's root."""
        received = dict(headers)
        with self._lock:
            self._requests.append(RangeRequest(path, received, client_port, time.time()))
        answered_at = time.monotonic() + self.delay
        status, headers, body = self._answer(path, received)
        time.sleep(max(0.0, answered_at - time.monotonic()))  # a fixed latency, however long the padding took
        return status, headers, body

    def _answer(self, path: str, received: Mapping[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        plain = [("Content-Type", "text/plain")]
        if self.status != 200:
            return self.status, plain, b"fake range API: failing on purpose\n"
        if self.body is not None:
            return 200, plain, self.body
        prefix = path.removeprefix("/range/")
        if not path.startswith("/range/") or not _PREFIX.fullmatch(prefix):
            return 400, plain, b"The hash prefix was not in a valid format\n"
        lowered = {name.lower(): value for name, value in received.items()}
        padding = lowered.get("add-padding", "").strip().lower() == "true"
        return 200, plain, "\r\n".join(self.corpus.lines(prefix, padding=padding)).encode("ascii")


class RangeServer(ThreadingHTTPServer):
    """:class:`FakeRangeApi` on its own loopback port (tests, the bench); keeps connections alive,
    as the real API does, so a client's pooled connection is reused."""

    daemon_threads = True

    def __init__(self, api: FakeRangeApi) -> None:
        self.api = api
        super().__init__(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, name="fake-range-api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> RangeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self._thread.join(5)
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RangeServer
    # The headers and the body leave in two writes: with Nagle's algorithm the second would wait
    # for the client's delayed ACK (about 40 ms on Linux), a latency no real API has.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        status, headers, body = self.server.api.answer(
            self.path, self.headers.items(), client_port=self.client_address[1]
        )
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        pause = self.server.api.trickle
        piece = 1024 if pause else max(1, len(body))
        with contextlib.suppress(OSError):  # the client gave up (its timeout): nothing to tell
            for start in range(0, len(body), piece):
                if start:
                    time.sleep(pause)
                self.wfile.write(body[start : start + piece])
                self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the access log is FakeRangeApi's


@contextlib.contextmanager
def serve(corpus: Corpus, **knobs: Any) -> Iterator[tuple[RangeServer, FakeRangeApi]]:
    """A fake range API on a free loopback port for the ``with`` block."""
    api = FakeRangeApi(corpus, **knobs)
    with RangeServer(api) as server:
        yield server, api
