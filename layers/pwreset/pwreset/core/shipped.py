"""Files the layer ships inside the package (the templates, the OpenAPI document), or their
sources in the repository when the package runs from there (tests, the local stack)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# layers/pwreset/pwreset -> the repository, when running from source.
REPO_ROOT = PACKAGE_DIR.parents[2]


def shipped_path(packaged: str, source: str) -> Path:
    """``packaged`` inside the package when the layer's build put it there, else the repository's
    ``source``."""
    candidate = PACKAGE_DIR / packaged
    return candidate if candidate.exists() else REPO_ROOT / source
