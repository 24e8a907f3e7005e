"""Before any test imports pwreset: the environment every function gets from the template."""

from __future__ import annotations

import support.environment  # noqa: F401 - sets the environment as a side effect
