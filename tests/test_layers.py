"""podium's layers as DESIGN.md draws them: arrows point down only, and no module imports itself in a circle.

Read from the source with ``ast`` (every import, at module level or inside a function), so a cycle hidden in a
function-level import counts too."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
FRONTS = ("podium.cli", "podium.mcp_server", "podium.dashboard", "podium.demo", "podium.__main__")
SERVICE = ("podium.service",)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in (SRC / "podium").rglob("*.py")}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The podium modules ``name`` imports: ``from a import b`` is ``a.b`` when that is a module, else ``a``."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base
                                                                                                   else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in known else base)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(name, path, set(mods)) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_no_module_imports_itself_in_a_circle() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_arrows_point_down_only() -> None:
    edges = graph()
    upward = [(a, b) for a, targets in edges.items() for b in targets
              if (under(b, FRONTS) and not under(a, FRONTS))
              or (under(b, SERVICE) and not under(a, FRONTS + SERVICE))]
    assert upward == []


def test_the_fronts_hold_no_rules_of_their_own() -> None:
    """The CLI's command groups stay short, and the MCP server is a registration of the catalog."""
    for path in (SRC / "podium" / "cli").glob("*.py"):
        assert len(path.read_text().splitlines()) <= 170, path.name
    mcp = (SRC / "podium" / "mcp_server.py").read_text()
    assert "@server.tool" not in mcp and "for op in mcp_operations()" in mcp


def test_the_whole_catalog_is_every_module_that_registers_operations() -> None:
    """A command loads only its operation's module; the MCP tool list, ORCHESTRATOR.md and the plugin load the
    modules ``catalog.MODULES`` names: every module that registers an operation must be among them."""
    from podium.service.catalog import MODULES

    registering = sorted(path.stem for path in (SRC / "podium" / "service").glob("*.py")
                         if "@operation(" in path.read_text())
    assert sorted(MODULES) == registering


def test_podiums_own_plugins_are_the_entry_points_it_registers() -> None:
    """``plugins.BUILTIN`` (imported directly, without reading every distribution's metadata) names exactly the
    entry points pyproject.toml registers, so a third-party package sees the same registry podium uses."""
    from podium._compat import tomllib
    from podium.plugins import BUILTIN, load, registry

    declared = tomllib.loads((SRC.parent / "pyproject.toml").read_text())["project"]["entry-points"]
    assert declared == BUILTIN
    for group, plugins in BUILTIN.items():
        installed = {name: ep.value for name, ep in registry(group).items()}
        assert installed.items() >= plugins.items()  # the installed metadata says the same
        for name, target in plugins.items():
            assert load(group, "plugin", name, LookupError, LookupError).__name__ == target.rpartition(":")[2]
