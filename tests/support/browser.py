"""For the browser tests: Debian's Chromium as playwright must start it here, and where the
screenshots go."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google on this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
# Screenshots of the browser tests (emptied once per test session by the browser fixture).
BROWSER_OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
