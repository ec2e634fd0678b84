"""The structure issue 10 asks for, read from the source (nothing here imports the project).

Imports are found by walking each module's AST: imports inside functions and classes count;
imports under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) do not, since they never
run. An import resolves to the deepest module of the project it names: ``import a.b.c`` and
``from a.b import c`` to ``a/b/c.py`` or ``a/b/c/__init__.py`` when that exists, else to the
nearest existing parent (``from a.b import name``, ``name`` not a submodule, is an edge to
``a.b``). Importing ``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py``, but no
edge is added for that: a package's ``__init__`` that re-exports its submodules would
otherwise put every package in a cycle with its own children, and such a cycle is harmless
(Python finishes the parent's ``__init__`` before the child's body needs it).
"""

from __future__ import annotations

import ast
import subprocess
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ledger", "api", "consensus", "keys")
WEB = frozenset({"api", "fastapi", "starlette", "httpx"})
# The modules of ledger/ that talk HTTP to a node or run a command line; nothing else may.
HTTP_ALLOWED = frozenset(
    {
        "ledger/client.py",  # LedgerClient: the Python client of a node's API (httpx)
        "ledger/cli.py",  # the `ledger` command (starts the API for `ledger node`)
        "ledger/audit_cli.py",  # `ledger export` and `ledger access-log`
        "ledger/audit_client.py",  # their HTTP side: signed requests, streamed downloads
    }
)
RECORD_DOMAINS = ("reopening", "bidding", "edu_card", "evidence")
SYSTEM_DOMAINS = ("member", "validator")
DOMAIN_MODULES = frozenset(
    {"__init__.py", "schemas.py", "rules.py", "state.py", "verify.py", "views.py", "demo.py"}
)
# the must-hold import, then every other offline verifier of the project
OFFLINE_IMPORT = (
    "import ledger.merkle, ledger.verify, ledger.domains.evidence.verify\n"
    "import ledger.domains.bidding.verify, ledger.domains.edu_card.verify\n"
    "import ledger.domains.reopening.verify, ledger.domains.member.verify\n"
    "import ledger.domains.validator.verify, ledger.state_proof"
)
CRYPTO_DISTRIBUTIONS = ("tongsuopy", "rfc8785")
HEAVY = ("fastapi", "starlette", "httpx", "pydantic", "sqlalchemy")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    line: int
    target: str  # the deepest module named: ``fastapi.responses``, ``ledger.node``


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def project_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import under ``node`` at any depth, skipping ``if TYPE_CHECKING:`` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _import_nodes(child)


def _deepest(name: str, modules: dict[str, Path]) -> str | None:
    """The deepest project module that ``name`` or one of its parents is; None outside."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        candidate = ".".join(parts[:cut])
        if candidate in modules:
            return candidate
    return None


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    """What ``module`` imports, once per line and target; a target outside the project is
    the module named (``fastapi`` for ``from fastapi import APIRouter``)."""
    modules = project_modules()
    path = modules[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: dict[Import, None] = {}
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            named = [(alias.name, alias.name) for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            named = [(f"{base}.{alias.name}", base) for alias in node.names if alias.name != "*"]
            named = named or [(base, base)]
        for name, outside in named:
            target = _deepest(name, modules) or outside
            found[Import(module, node.lineno, target)] = None
    return tuple(found)


def location(imp: Import) -> str:
    return f"{project_modules()[imp.module].relative_to(ROOT)}:{imp.line}"


def top(name: str) -> str:
    return name.split(".", 1)[0]


# --- 1. the core does not import the web -------------------------------------------------


def test_ledger_imports_no_web_framework_or_http_client() -> None:
    found = [
        f"{location(imp)}: imports {imp.target}"
        for module, path in project_modules().items()
        if top(module) == "ledger" and str(path.relative_to(ROOT)) not in HTTP_ALLOWED
        for imp in imports_of(module)
        if top(imp.target) in WEB
    ]
    assert not found, (
        f"{len(found)} import(s) of {sorted(WEB)} in ledger/ outside the client and CLI "
        f"modules ({sorted(HTTP_ALLOWED)}):\n" + "\n".join(found)
    )


# --- 2. no import cycles -----------------------------------------------------------------


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {
        m: {imp.target for imp in imports_of(m) if imp.target in modules and imp.target != m}
        for m in modules
    }


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components of more than one module, or of one
    module that imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = []
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        work.append((start, iter(sorted(graph[start]))))
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    components.append(sorted(component))
    return components


def test_strongly_connected_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, found breadth first."""
    members, start = set(component), component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    return [start]


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycles = strongly_connected(graph)
    lines = []
    for component in cycles:
        members = set(component)
        lines.append(f"{len(component)} modules: " + ", ".join(component))
        lines.append("  for example " + " -> ".join(one_cycle(graph, component)))
        lines.append("  the imports between them:")
        edges: dict[tuple[str, str], str] = {}
        for m in component:
            for imp in imports_of(m):
                if imp.target in members and imp.target != m:
                    edges.setdefault((m, imp.target), location(imp))
        lines.extend(f"    {where}: {a} -> {b}" for (a, b), where in edges.items())
    assert not cycles, f"{len(cycles)} import cycle(s):\n" + "\n".join(lines)


# --- 3. offline verification needs only the crypto packages -------------------------------


def distribution_closure(names: tuple[str, ...]) -> list[metadata.Distribution]:
    """The distributions ``names`` need to run (their requirements without extras)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        dist = metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower()
        if key in seen:
            continue
        seen[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(seen.values())


def top_level_entries(dist: metadata.Distribution) -> set[Path]:
    """The files and folders a distribution puts directly into site-packages."""
    entries = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first not in ("..", "__pycache__") and not first.endswith((".dist-info", ".pth")):
            entries.add(Path(str(dist.locate_file(first))))
    return entries


def test_offline_verification_needs_only_the_crypto_packages(tmp_path: Path) -> None:
    """A fresh venv holding only tongsuopy, rfc8785 and what they need (linked in from this
    environment, so no network), with the repository on its path, imports the verifiers."""
    env = tmp_path / "venv"
    venv.create(env, with_pip=False, symlinks=True)
    python = env / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    installed = []
    for dist in distribution_closure(CRYPTO_DISTRIBUTIONS):
        installed.append(dist.metadata["Name"])
        for entry in top_level_entries(dist):
            (site / entry.name).symlink_to(entry)
    (site / "repository.pth").write_text(f"{ROOT}\n", encoding="utf-8")
    probe = (
        f"{OFFLINE_IMPORT}\n"
        "import sys\n"
        f"loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "assert not loaded, f'imported {loaded}'\n"
    )
    result = subprocess.run(
        [python, "-I", "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, (
        f"`{OFFLINE_IMPORT}` fails in a venv holding only {sorted(installed)}:\n"
        + result.stderr[-3000:]
    )


# --- 4. one layout for every domain -----------------------------------------------------


def test_every_domain_has_the_same_modules() -> None:
    """Each domain package holds exactly ``DOMAIN_MODULES``; it may add private helper
    modules or packages whose names start with ``_`` (``_codes.py``), nothing else."""
    problems = []
    for name in RECORD_DOMAINS + SYSTEM_DOMAINS:
        folder = ROOT / "ledger" / "domains" / name
        if not folder.is_dir():
            problems.append(f"ledger/domains/{name}/ does not exist")
            continue
        entries = {
            p.name
            for p in folder.iterdir()
            if p.name != "__pycache__" and (p.suffix == ".py" or p.is_dir())
        }
        missing = DOMAIN_MODULES - entries
        extra = {e for e in entries - DOMAIN_MODULES if not e.startswith("_")}
        if missing:
            problems.append(f"ledger/domains/{name}/ lacks {sorted(missing)}")
        if extra:
            problems.append(f"ledger/domains/{name}/ has modules outside it: {sorted(extra)}")
    for name in RECORD_DOMAINS:
        if not (ROOT / "api" / "domains" / f"{name}.py").is_file():
            problems.append(f"api/domains/{name}.py does not exist")
    assert not problems, "domain layout:\n" + "\n".join(problems)


def test_domains_import_no_web_framework_or_node() -> None:
    names = RECORD_DOMAINS + SYSTEM_DOMAINS
    found = [
        f"{location(imp)}: imports {imp.target}"
        for module in project_modules()
        if module.split(".")[:2] == ["ledger", "domains"]
        and len(module.split(".")) > 2
        and module.split(".")[2] in names
        for imp in imports_of(module)
        if top(imp.target) in WEB
        or imp.target == "ledger.node"
        or imp.target.startswith("ledger.node.")
    ]
    assert not found, "domain modules that import the web or the node:\n" + "\n".join(found)
