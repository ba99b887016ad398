"""The house rules that keep the structure as the README draws it: the layering (import-linter, the contract in
pyproject.toml), no import cycles, in-function imports only for optional third-party libraries, one home for the
manifest and folder logic, and only project files at the repository root."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "drsn_edge"
#: what the base install has (pip install drsn-edge): a module may import these at its top without an extra
BASE = {"numpy", "onnxruntime"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_the_layers_contract_holds(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = lint_imports(no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 broken" in out


def test_no_import_cycles():
    graph = grimp.build_graph("drsn_edge")
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for m in sorted(graph.modules):
        if m not in index:
            visit(m)
    assert not cycles, cycles


def _imports(path: Path, name: str) -> tuple[set[str], list[tuple[int, list[str]]]]:
    """(module-level imports, [(line, names) of each in-function import]) of one module, as absolute names."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def names(node) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
        return [base] + [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]

    inner_ids, inner = set(), []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in inner_ids:
                    inner_ids.add(id(node))
                    inner.append((node.lineno, names(node)))
    top = {n for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in inner_ids
           for n in names(node)}
    return top, inner


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def test_in_function_imports_are_only_for_optional_third_party_libraries():
    """An import inside a function is for a library the base install may lack (torch, onnx, scipy, paho...), or for one
    of our modules that needs such a library where the importing module does not; everything else is imported at the
    top, where the reader sees what a module stands on."""
    parsed = {m: _imports(p, m) for m, p in MODULES.items()}
    std = set(sys.stdlib_module_names) | {"__future__"}

    def needs(m: str) -> set[str]:
        """Third-party packages a module imports at its top, itself or through our modules (packages' __init__ too)."""
        seen, todo, out = {m}, [m], set()
        while todo:
            for dep in parsed[todo.pop()][0] | {p for p in _parents(m) if p in MODULES}:
                root = dep.split(".")[0]
                if root == "drsn_edge":
                    for d in [dep, *_parents(dep)]:
                        if d in MODULES and d not in seen:
                            seen.add(d)
                            todo.append(d)
                elif root not in std:
                    out.add(root)
        return out

    bad = []
    for m, (_, inner) in parsed.items():
        have = needs(m) | BASE
        for line, names in inner:
            root = names[0].split(".")[0]
            where = f"{MODULES[m].relative_to(ROOT)}:{line}: {names[0]}"
            if root == "drsn_edge":
                brings = set().union(*(needs(n) for n in names if n in MODULES))
                if not brings - have:
                    bad.append(f"{where} needs no optional library: import it at the top")
            elif root in std:
                bad.append(f"{where} is the standard library: import it at the top")
            elif root in have:
                bad.append(f"{where} is {'in the base install' if root in BASE else 'already imported at the top'}")
    assert not bad, "\n".join(bad)


def test_the_cli_and_the_device_runtime_load_no_training_framework():
    code = ("import sys; import drsn_edge.cli.main, drsn_edge.runtime; "
            "print(sorted(m for m in ('torch', 'onnx', 'scipy', 'matplotlib', 'safetensors', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_manifest_folder_and_suffix_logic_has_one_home():
    """Manifests are parsed, folders walked and suffixes listed in drsn_edge/readers alone."""
    homes = {"rglob(": "readers/manifest.py", "csv.DictReader": None, "wav, flac": None}
    bad = []
    for p in PACKAGE.rglob("*.py"):
        text, rel = p.read_text(), p.relative_to(PACKAGE).as_posix()
        for needle, home in homes.items():
            if needle in text and rel != home:
                bad.append(f"{rel}: {needle}")
        if "read_manifest" in text and "csv" in text and rel != "readers/manifest.py" and "import csv" in text:
            bad.append(f"{rel}: parses CSV beside read_manifest")
    assert not bad, bad


def test_only_project_files_at_the_repository_root():
    try:
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    top = {f.split("/")[0] for f in files}
    allowed = {".gitignore", ".ci", "README.md", "Makefile", "pyproject.toml", "drsn_edge", "tests", "benchmarks", "docs"}
    assert top <= allowed, sorted(top - allowed)


def test_the_makefile_targets_parse():
    """Every documented target resolves, with no recipe defined twice (a comment once became a rule and broke
    ``make demo``)."""
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", "-B", "demo", "test", "wheel", "lint"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "warning" not in out.stderr, out.stderr
