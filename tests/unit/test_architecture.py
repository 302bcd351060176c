"""The architecture, checked on the source (``ast``; no module of the package is imported).

* The layer rule: a package imports only packages of its own layer or lower ones, imports
  inside functions included. ``settings`` (the environment) may be imported from layer 3 up.
* No import cycle between the packages.
* No ``Path(__file__).parents[N]`` look-ups and no reading of ``os.environ`` outside the
  settings: paths are settings with package defaults.
* No function over 80 lines, and every service entry point under 80 lines of its own code;
  lines inside string literals (docstrings, generated SQL) do not count.

Violations that are being fixed are listed in the ``KNOWN_*`` allow-lists below, each
naming the module or function. The lists only shrink: an entry that no longer violates
fails the test too, so remove it with the fix.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "services" / "motcua"

# -- the layer rule (docs/architecture.md) -------------------------------------------------
#
#   layer  packages                                       what they are
#   0      domain                                         the pure rules
#   1      reference, imports                             reference data; foreign formats -> contract events
#   2      pipeline                                       the service layer
#   3      adapters                                       ClickHouse, Kafka, the codec
#   4      live, replay, exporter, reports, dashboards,   entry points and outputs
#          simulate
#   5      bootstrap                                      the composition root
#   6      cli                                            the command line
LAYERS = {
    "domain": 0,
    "reference": 1,
    "imports": 1,
    "pipeline": 2,
    "adapters": 3,
    "live": 4,
    "replay": 4,
    "exporter": 4,
    "reports": 4,
    "dashboards": 4,
    "simulate": 4,
    "bootstrap": 5,
    "cli": 6,
}
SETTINGS_FROM_LAYER = 3  # ``motcua.settings`` reads the environment: not below the adapters

# (importing module, imported module) pairs that run against the layers today.
KNOWN_LAYER_VIOLATIONS: set[tuple[str, str]] = set()

# Import cycles between packages today (each a set of packages), all made of the
# violations above: they go with them.
KNOWN_CYCLES: set[frozenset[str]] = set()

# Modules that read the environment, and why. The settings modules are the rule, not
# exceptions: ``motcua.settings`` and ``motcua.live.config`` (it extends it).
SETTINGS_MODULES = {"motcua.settings", "motcua.live.config"}
ENVIRONMENT_EXCEPTIONS = {
    # LibreOffice is started with the process environment and HOME replaced by a private
    # profile directory; no setting is read from it, the child just inherits PATH, LANG...
    "motcua.reports.pdf": "passes os.environ on to the soffice subprocess",
}

MAX_LINES = 80

# Functions over MAX_LINES today ("module:qualified name"): none left. (The bulk
# replay's fold is long SQL, not code; Writer._write_round is 80 lines of code: within
# the limit.)
KNOWN_LONG_FUNCTIONS: set[str] = set()

# The service entry points: the code that reads a batch, calls the service layer and
# commits (a function, or a class when the service is one). Measured like functions.
SERVICE_ENTRY_POINTS = {
    "replay command": "motcua.cli.main:replay",
    "replay pipeline": "motcua.replay:EmbeddedPipeline",
    "processor": "motcua.live.processor:create_app",
    "writer": "motcua.live.writer:Writer",
    "gateway": "motcua.live.gateway:build_app",
    "exporter command": "motcua.cli.run:exporter",
    "exporter loop": "motcua.exporter.collector:serve",
}
# Entry points over MAX_LINES today (none left; the list stays for the rule's shape).
KNOWN_LONG_ENTRY_POINTS: set[str] = set()


# -- reading the source ----------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = ("motcua",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        out[_module_name(path)] = (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return out


def _is_package(module: str) -> bool:
    return modules()[module][0].name == "__init__.py"


def imports_of(module: str) -> list[tuple[str, int]]:
    """(imported module, line) for every import of ``module`` into the package, those
    inside functions and ``TYPE_CHECKING`` blocks included. ``from X import name`` counts
    as an import of ``X.name`` when that is a module, else of ``X``."""
    _path, tree = modules()[module]
    here = module if _is_package(module) else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "motcua"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "motcua":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                found.append((sub if sub in modules() else target, node.lineno))
    return found


def package_of(module: str) -> str | None:
    """The top-level package (or module) of the layer table; None for ``motcua`` itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layer_violations() -> dict[tuple[str, str], int]:
    out = {}
    for module in modules():
        src = package_of(module)
        if src is None or src == "settings":
            continue
        assert src in LAYERS, f"{module}: package {src!r} has no layer in the table"
        for target, line in imports_of(module):
            dst = package_of(target)
            if dst is None or dst == src:
                continue
            if dst == "settings":
                bad = LAYERS[src] < SETTINGS_FROM_LAYER
            else:
                assert dst in LAYERS, f"{target}: package {dst!r} has no layer in the table"
                bad = LAYERS[dst] > LAYERS[src]
            if bad:
                out.setdefault((module, target), line)
    return out


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {p: set() for p in [*LAYERS, "settings"]}
    for module in modules():
        src = package_of(module)
        if src is None:
            continue
        for target, _line in imports_of(module):
            dst = package_of(target)
            if dst is not None and dst != src:
                graph[src].add(dst)
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: set[frozenset[str]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.add(frozenset(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def own_lines(node: ast.AST) -> int:
    """Lines of a function or class, minus the lines inside its string literals
    (docstrings, SQL): a string over lines a..b leaves one line, its first."""
    in_strings: set[int] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.JoinedStr) or (isinstance(sub, ast.Constant) and isinstance(sub.value, str)):
            in_strings.update(range(sub.lineno + 1, sub.end_lineno + 1))
    return node.end_lineno - node.lineno + 1 - len(in_strings)


def definitions() -> dict[str, ast.AST]:
    """ "module:qualified name" -> every function (nested ones and methods included) and class."""
    out: dict[str, ast.AST] = {}

    def walk(body, module: str, prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{node.name}"
                out.setdefault(f"{module}:{name}", node)
                walk(node.body, module, f"{name}.")
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                walk(ast.iter_child_nodes(node), module, prefix)

    for module, (_path, tree) in modules().items():
        walk(tree.body, module, "")
    return out


# -- the checks ------------------------------------------------------------------------------


def test_every_package_has_a_layer():
    packages = {package_of(m) for m in modules()} - {None, "settings"}
    assert packages == set(LAYERS), "add the package to LAYERS (and to docs/architecture.md)"


def test_no_import_runs_against_the_layers():
    found = layer_violations()
    new = {
        f"{m} imports {t} (line {line})"
        for (m, t), line in found.items()
        if (m, t) not in KNOWN_LAYER_VIOLATIONS
    }
    assert not new, "imports against the layer rule:\n" + "\n".join(sorted(new))
    fixed = KNOWN_LAYER_VIOLATIONS - set(found)
    assert not fixed, f"no longer violations, remove them from KNOWN_LAYER_VIOLATIONS: {sorted(fixed)}"


def test_no_import_cycle_between_packages():
    found = cycles(package_graph())
    new = found - KNOWN_CYCLES
    assert not new, f"import cycles between packages: {[sorted(c) for c in new]}"
    fixed = KNOWN_CYCLES - found
    assert not fixed, f"no longer cycles, remove them from KNOWN_CYCLES: {[sorted(c) for c in fixed]}"


def test_no_path_lookups_relative_to_the_source_file():
    found = []
    for module, (_path, tree) in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "parents":
                found.append(f"{module}:{node.lineno}")
    assert not found, "Path(__file__).parents[N] look-ups (make the path a setting): " + ", ".join(found)


def _reads_environment(tree: ast.Module) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "environb", "getenv", "putenv")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            lines.append(node.lineno)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in ("environ", "environb", "getenv") for a in node.names)
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_settings_read_the_environment():
    readers = {m for m, (_p, tree) in modules().items() if _reads_environment(tree)}
    new = readers - SETTINGS_MODULES - set(ENVIRONMENT_EXCEPTIONS)
    assert not new, f"read the environment outside the settings: {sorted(new)}"
    stale = set(ENVIRONMENT_EXCEPTIONS) - readers
    assert not stale, f"no longer read the environment, remove from ENVIRONMENT_EXCEPTIONS: {sorted(stale)}"


def test_no_function_over_80_lines():
    defs = definitions()
    long = {
        name
        for name, node in defs.items()
        if not isinstance(node, ast.ClassDef) and own_lines(node) > MAX_LINES
    }
    new = sorted(f"{name} ({own_lines(defs[name])} lines)" for name in long - KNOWN_LONG_FUNCTIONS)
    assert not new, f"functions over {MAX_LINES} lines (strings not counted): {new}"
    fixed = KNOWN_LONG_FUNCTIONS - long
    assert not fixed, (
        f"no longer over {MAX_LINES} lines (or gone), remove from KNOWN_LONG_FUNCTIONS: {sorted(fixed)}"
    )


@pytest.mark.parametrize("service", sorted(SERVICE_ENTRY_POINTS))
def test_service_entry_points_are_short(service):
    name = SERVICE_ENTRY_POINTS[service]
    node = definitions().get(name)
    assert node is not None, f"{service}: {name} is gone; name its entry point in SERVICE_ENTRY_POINTS"
    lines = own_lines(node)
    if service in KNOWN_LONG_ENTRY_POINTS:
        assert lines > MAX_LINES, (
            f"{service} ({name}) is {lines} lines now: remove it from KNOWN_LONG_ENTRY_POINTS"
        )
    else:
        assert lines <= MAX_LINES, (
            f"{service} ({name}) is {lines} lines of its own code (at most {MAX_LINES})"
        )


# -- the checker itself ----------------------------------------------------------------------


def test_the_checker_sees_function_level_and_relative_imports():
    found = dict(imports_of("motcua.cli.run"))
    assert "motcua.bootstrap" in found  # `from .. import bootstrap` inside a command
    assert any(t.startswith("motcua.live.") for t in found)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset("abc")}
    assert cycles({"a": {"b"}, "b": set()}) == set()


def test_string_lines_do_not_count():
    tree = ast.parse(
        'def f():\n    """doc\n    more\n    """\n    q = f"""\n    SELECT {1}\n    """\n    return q\n'
    )
    assert own_lines(tree.body[0]) == 8 - 2 - 2  # two 3-line strings leave a line each
