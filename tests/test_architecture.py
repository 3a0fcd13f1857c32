"""The house rules that no linter checks on its own (see ARCHITECTURE.md).

import-linter (``make lint``) keeps the layers, the private modules and the training stack
apart; these tests add what it cannot see: an import circle through a package's
``__init__``, a private *name* (not module) taken across packages, by the code or by a test
outside the package's own test folder, and the size limits of modules and functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "archselect"
TESTS = ROOT / "tests"
#: The project's shared internals (``_common``: serde, signals, budget …): private to
#: archselect, open to every package of it and to its tests.
SHARED = "archselect._common"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
#: Functions still longer than MAX_FUNCTION_LINES (each to be split; the list only shrinks:
#: a name here that is short now, or gone, fails the test too).
LONG_FUNCTIONS: set[str] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _owner(module: str) -> str:
    """The package that hides ``module``'s private parts: ``archselect.<first part>``."""
    return ".".join(module.split(".")[:2])


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _reaches(target: str, names: list[str]) -> bool:
    """Whether importing ``names`` from module ``target`` reaches something private."""
    if target.startswith(SHARED):
        return False
    inner = target.split(".")[1:]
    return any(_private(p) for p in inner) or any(_private(n) for n in names)


def _imports(path: Path, *, strings: bool = False) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every ``archselect`` import in a file, function-local ones
    included, and with ``strings`` the dotted names a test patches by
    (``monkeypatch.setattr("archselect.x._y.z", …)``, ``importlib.import_module``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("archselect"):
            assert node.module is not None
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("archselect."):
                    found.append((node.lineno, alias.name, []))
        elif (
            strings
            and isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("archselect.")
            and " " not in node.value
        ):
            found.append((node.lineno, node.value, []))
    return found


def test_no_module_takes_a_private_name_from_another_package() -> None:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _owner(_module_name(path))
        for line, target, names in _imports(path):
            if _owner(target) != me and _reaches(target, names):
                bad.append(f"{path.relative_to(ROOT)}:{line} {target} {names}")
    assert not bad, "private names taken across packages:\n" + "\n".join(bad)


def test_tests_reach_private_names_only_of_their_own_package() -> None:
    """``tests/<package>/`` may test ``archselect.<package>``'s private parts; end-to-end
    tests (``tests/e2e/``) and the others only its public API."""
    bad = []
    for path in sorted(TESTS.rglob("test_*.py")):
        if path == Path(__file__).resolve():
            continue  # names functions, imports nothing
        folder = path.parent.relative_to(TESTS).parts
        mine = f"archselect.{folder[0]}" if folder and folder[0] != "e2e" else None
        for line, target, names in _imports(path, strings=True):
            if _owner(target) != mine and _reaches(target, names):
                bad.append(f"{path.relative_to(ROOT)}:{line} {target} {names}")
    assert not bad, "tests reaching another package's private names:\n" + "\n".join(bad)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The import graph's strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.find_modules_directly_imported_by(v)):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_circle_anywhere() -> None:
    """No chain of imports leads from a module back to itself, also not through a
    package's ``__init__`` (which import-linter's sibling contract does not follow)."""
    graph = grimp.build_graph("archselect", exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_circle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p"), ("p", "p.a"), ("p.c", "p.a")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p", "p.a", "p.b"]]


def test_modules_and_functions_stay_short() -> None:
    """No module over MAX_MODULE_LINES lines; no function over MAX_FUNCTION_LINES outside
    the command line (whose click functions list their options)."""
    long_modules, long_functions = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append(str(path.relative_to(ROOT)))
        if path.relative_to(PACKAGE).parts[0] == "cli":
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                    long_functions.add(f"{_module_name(path)}.{node.name}")
    assert long_modules == []
    assert long_functions == LONG_FUNCTIONS
