"""Which module may import which: the domain never imports the store, the CLI or an outside
library that is another module's job, and no import cycle runs through the core, the store or the
CLI. Read from the source (every import, those inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
DOMAIN = (
    "venue.core",
    "venue.book",
    "venue.gates",
    "venue.ledger",
    "venue.resale",
    "venue.model",
    "venue.journal",
    "venue.orders",
    "venue.clock",
    "venue.messages",
    "venue.market_data",
    "venue.calendar",
)
# The operations every front end runs (the `venue` commands and the ops console): above the store
# and the domain, below the front ends, so the CLI and the console take one path to each change.
OPERATIONS = ("venue.operations",)
FRONT_ENDS = ("venue.cli", "venue.console", "venue.server", "click", "http")
# The outside things one module (or package) each owns (house style: one owner per outside thing).
OWNERS = {
    "quickfix": ("venue.fix_acceptor", "venue.fix_codec", "venue.fix_peer"),
    "web3": ("venue.chain",),
    "click": ("venue.cli",),
    # SQL: the store; the reports' read queries; APScheduler's job store on the venue's engine.
    "sqlalchemy": ("venue.store", "venue.reports.store", "venue.scheduler"),
}
# Modules that only catch the database's errors (to explain them), and write no SQL.
SQL_ERRORS_ONLY = {"venue.cli.common", "venue.chain.worker"}


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Module -> the modules (venue's and outside top-level packages) it imports anywhere."""
    graph: dict[str, set[str]] = {}
    for path in sorted((SRC / "venue").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        name = _module(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
                for alias in node.names:  # a submodule taken from its package: an import of the submodule
                    sub = f"{base}.{alias.name}"
                    found.add(sub if (SRC / Path(*sub.split("."))).with_suffix(".py").exists() else base)
        graph[name] = found
    return graph


def _venue_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    modules = set(graph)
    return {m: {t for t in targets if t in modules and t != m} for m, targets in graph.items()}


def _within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_domain_never_imports_the_store_the_cli_or_the_fix_engine():
    bad = {
        m: sorted(
            t
            for t in targets
            if _within(
                t,
                (
                    "venue.store",
                    "venue.cli",
                    "venue.server",
                    "venue.fix_acceptor",
                    "venue.fix_codec",
                    "venue.chain",
                    "sqlalchemy",
                    "quickfix",
                    "web3",
                ),
            )
        )
        for m, targets in imports().items()
        if _within(m, DOMAIN)
    }
    assert {m: t for m, t in bad.items() if t} == {}


def test_the_operations_never_import_a_front_end():
    bad = {m: sorted(t for t in targets if _within(t, FRONT_ENDS)) for m, targets in imports().items()}
    assert {m: t for m, t in bad.items() if t and _within(m, OPERATIONS)} == {}


def test_the_cli_and_the_console_never_import_each_other():
    """Each runs the operations; neither takes the other's way to a change."""
    graph = imports()
    for front, other in (("venue.cli", "venue.console"), ("venue.console", "venue.cli")):
        users = sorted(m for m in graph if _within(m, (front,)) and any(_within(t, (other,)) for t in graph[m]))
        assert users == [], f"{front} imports {other}"


def test_each_outside_library_is_imported_by_its_owner_only():
    for library, owners in OWNERS.items():
        users = sorted(
            m
            for m, targets in imports().items()
            if any(t == library or t.startswith(library + ".") for t in targets) and not _within(m, owners)
        )
        if library == "sqlalchemy":
            for m in SQL_ERRORS_ONLY:
                assert {t for t in imports()[m] if t.startswith("sqlalchemy")} == {"sqlalchemy.exc"}, m
            users = [m for m in users if m not in SQL_ERRORS_ONLY]
        assert users == [], f"{library} imported outside {owners}"


def test_no_import_cycle_runs_through_the_core_the_store_or_the_cli():
    edges = _venue_edges(imports())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    watched = [c for c in cycles if any(_within(m, ("venue.core", "venue.store", "venue.cli")) for m in c)]
    assert watched == []
