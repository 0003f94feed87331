"""The package's layout holds: data flows one way (views and CLI -> domain -> db), no
import cycle, and every module imports on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import flask_funnel

PACKAGE = Path(flask_funnel.__file__).resolve().parent
#: Sub-packages that only the outside (the package face, extension.py) may import.
# The outer layer: what a request, the command line or the server process comes in by.
ENTRY_POINTS = ("flask_funnel.views", "flask_funnel.cli", "flask_funnel.gunicorn_config")


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue  # Alembic revisions, loaded by Alembic
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        found[".".join(parts)] = path
    return found


def top_level_imports(path: Path) -> set[str]:
    """Modules of the package imported when ``path`` is imported (not inside functions,
    not under ``if TYPE_CHECKING``)."""
    return imported_modules(ast.parse(path.read_text("utf-8")).body)


def imported_modules(statements) -> set[str]:
    """``from a import b`` imports module ``a.b`` when there is one, else module ``a``."""
    known, names = modules(), set()
    for node in statements:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in known else node.module)
    return {name for name in names if name.startswith("flask_funnel")}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        module: {name for name in top_level_imports(path) if name in known and name != module}
        for module, path in known.items()
    }


def test_there_is_no_import_cycle():
    edges, state, cycles = graph(), {}, []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert sum(map(len, edges.values())) > 100  # the graph is really read
    assert cycles == []


def test_nothing_below_the_views_and_cli_imports_them():
    offenders = []
    for module, path in modules().items():
        if module.startswith(ENTRY_POINTS) or module in ("flask_funnel", "flask_funnel.extension"):
            continue
        for name in top_level_imports(path) | lazy_imports(path):
            if name.startswith(ENTRY_POINTS):
                offenders.append(f"{module} imports {name}")
    assert offenders == []


def test_only_the_package_face_imports_the_extension():
    importers = [
        module
        for module, path in modules().items()
        if any(
            n.startswith("flask_funnel.extension")
            for n in top_level_imports(path) | lazy_imports(path)
        )
    ]
    assert importers == ["flask_funnel"]


def test_the_state_module_is_a_leaf():
    assert top_level_imports(modules()["flask_funnel.state"]) == set()


def test_every_module_imports_on_its_own():
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('flask_funnel')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *modules()], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def lazy_imports(path: Path) -> set[str]:
    """Modules of the package imported anywhere in ``path`` at run time (inside functions
    too; type-checking-only imports left out)."""
    statements, pending = [], [ast.parse(path.read_text("utf-8"))]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            continue
        statements.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return imported_modules(statements)
