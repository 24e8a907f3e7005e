"""Root fixtures: the template-derived environment is set before any test imports pwreset."""

from __future__ import annotations

import testenv  # noqa: F401 - sets the environment as a side effect
