"""The domain package's layout: areas in a fixed order, no import cycles, deferred imports labelled.

Read from the source with ``ast`` (nothing is imported), so a cycle hidden inside a function, where
Python would only trip over it at run time, fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "layers" / "pwreset" / "pwreset"
# The order in pwreset/__init__.py's docstring: an area may import only itself and those before it.
# ``runtime`` comes first: Lambda plumbing that knows nothing of the service, on which ``core``'s
# observability and AWS clients build.
AREAS = ("runtime", "core", "storage", "mail", "delivery", "credentials", "accounts", "crm", "api")
DEFERRED_LABEL = "# deferred:"


@dataclass(frozen=True)
class ImportSite:
    module: str  # the importing module, e.g. pwreset.credentials.resets
    target: str  # the imported module, e.g. pwreset.storage.models
    line: int
    top_level: bool
    type_checking: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, modules: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.level or not node.module:
        raise AssertionError(f"relative import on line {node.lineno}: use absolute pwreset imports")
    else:
        # ``from pwreset.core import aws`` imports the module pwreset.core.aws.
        names = [
            f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
            for a in node.names
        ]
    for name in names:
        if name == "pwreset" or name.startswith("pwreset."):
            yield name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_sites(name: str, path: Path, modules: set[str]) -> list[ImportSite]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    sites: list[ImportSite] = []

    def visit(node: ast.AST, *, top_level: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(child, modules):
                    sites.append(ImportSite(name, target, child.lineno, top_level, type_checking))
                continue
            nested = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)
            guarded = isinstance(child, ast.If) and _is_type_checking(child.test)
            visit(child, top_level=top_level and not nested, type_checking=type_checking or guarded)

    visit(tree, top_level=True, type_checking=False)
    return sites


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the list of nodes it passes (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := walk(start)):
            return found
    return None


def all_sites() -> list[ImportSite]:
    modules = package_modules()
    return [site for name, path in modules.items() for site in import_sites(name, path, set(modules))]


def area(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else None


def test_the_finder_sees_a_cycle_through_three_modules() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "d": {"a"}}) is None


def test_the_finder_reads_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from pwreset.core import aws  # deferred: test\n", encoding="utf-8")
    [site] = import_sites("pwreset.x.m", source, {"pwreset.core.aws"})
    assert (site.target, site.top_level) == ("pwreset.core.aws", False)


def test_no_module_of_pwreset_imports_another_in_a_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for site in all_sites():
        if site.target != site.module:
            edges.setdefault(site.module, set()).add(site.target)
    assert len(edges) > 20, "the package's imports were not found"
    assert find_cycle(edges) is None, f"import cycle: {' -> '.join(find_cycle(edges) or [])}"


def test_every_area_imports_only_itself_and_the_areas_before_it() -> None:
    wrong = []
    for site in all_sites():
        source, target = area(site.module), area(site.target)
        if source in AREAS and target in AREAS and AREAS.index(target) > AREAS.index(source):
            wrong.append(f"{site.module}:{site.line} imports {site.target}")
    assert not wrong, "imports against the area order " + " < ".join(AREAS) + ":\n" + "\n".join(wrong)


def test_only_storage_imports_pynamodb() -> None:
    """The flows read and write through ``storage`` (models, ``get_or_none``, ``transaction``); the
    one connection itself is made in ``core.aws``."""
    wrong = []
    for name, path in package_modules().items():
        if area(name) == "storage" or name == "pwreset.core.aws":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                wrong += [f"{name}:{node.lineno}" for n in names if n.split(".")[0] == "pynamodb"]
    assert not wrong, "pynamodb imported outside storage: " + ", ".join(wrong)


def test_the_areas_are_the_packages_subpackages() -> None:
    found = {p.name for p in PACKAGE_DIR.iterdir() if (p / "__init__.py").is_file()}
    assert found == set(AREAS)


@pytest.mark.parametrize("name", sorted(package_modules()))
def test_an_import_inside_a_function_says_why_it_is_deferred(name: str) -> None:
    """Imports go to the top, except those deferred to keep a cold start from paying for what only
    one path needs; those carry ``# deferred: <why>`` on their line or the line above."""
    path = package_modules()[name]
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    unlabelled = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import | ast.ImportFrom):
                here = lines[inner.lineno - 1]
                above = lines[inner.lineno - 2] if inner.lineno > 1 else ""
                if DEFERRED_LABEL not in here and DEFERRED_LABEL not in above.strip():
                    unlabelled.append(f"{path.name}:{inner.lineno}: {here.strip()}")
    assert not unlabelled, "imports inside functions without a '# deferred: why' label:\n" + "\n".join(
        unlabelled
    )
