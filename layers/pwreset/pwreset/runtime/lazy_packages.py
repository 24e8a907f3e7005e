"""Package initialisers that only re-export, run lazily: a cold start imports what it uses.

``aws_lambda_powertools.event_handler/__init__.py`` imports every resolver powertools has (AppSync
with asyncio, Bedrock agents, VPC Lattice, function URLs, an HTTP server resolver...) and
``aws_lambda_powertools.utilities.data_classes/__init__.py`` every event class, though a function
here uses one resolver and a handful of classes; Python runs a package's ``__init__`` before any of
its submodules, so no narrower import avoids them (``bench/results.md`` measures what they cost).

:func:`defer` puts an empty module in the package's place: submodules import as usual, and a name
the initialiser would have re-exported (``from aws_lambda_powertools.event_handler import
Response``) imports only the submodule it comes from, found by reading the initialiser's own
``from .x import Name`` lines. Anything else asked of the package (a name it defines itself,
``__all__``) runs the real initialiser then, so every import that worked still works, only later.
A package already imported is left alone.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["defer"]


def _exported(init: Path, package: str) -> dict[str, str]:
    """name -> absolute submodule, for each ``from <submodule> import name`` of the initialiser."""
    found: dict[str, str] = {}
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.ImportFrom) or node.module is None:
            continue
        module = node.module if node.level == 0 else f"{package}.{node.module}"
        if not module.startswith(package + "."):
            continue
        for alias in node.names:
            found[alias.asname or alias.name] = module
    return found


def defer(*packages: str) -> None:
    for package in packages:
        if package in sys.modules:
            continue
        spec = importlib.util.find_spec(package)
        if spec is None or spec.loader is None or spec.origin is None or not spec.submodule_search_locations:
            continue
        module = importlib.util.module_from_spec(spec)
        module.__getattr__ = _lazy_getattr(module, spec, _exported(Path(spec.origin), package))  # type: ignore[method-assign]
        sys.modules[package] = module
        parent, _, child = package.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, module)


def _lazy_getattr(module: ModuleType, spec: Any, exported: dict[str, str]) -> Any:
    initialised = False

    def __getattr__(name: str) -> Any:
        nonlocal initialised
        if name in exported and not initialised:
            value = getattr(importlib.import_module(exported[name]), name)
            setattr(module, name, value)
            return value
        if not name.startswith("__") and not initialised:
            try:
                return importlib.import_module(f"{spec.name}.{name}")
            except ModuleNotFoundError as missing:
                if missing.name != f"{spec.name}.{name}":
                    raise
        if initialised:
            raise AttributeError(f"module {spec.name!r} has no attribute {name!r}")
        initialised = True
        del module.__dict__["__getattr__"]
        spec.loader.exec_module(module)  # the real initialiser, into the same module
        return getattr(module, name)

    return __getattr__
