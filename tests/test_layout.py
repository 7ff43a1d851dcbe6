"""The package's layout: no import cycle anywhere, function-local imports included."""

import ast
import re
from pathlib import Path

import cnncalc

PACKAGE = Path(cnncalc.__file__).parent


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str], root: Path) -> set[str]:
    """The package modules that ``path`` imports, at any depth of the file (inside functions too)."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            candidates = [target, *(f"{target}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found.update(candidate for candidate in candidates if candidate in modules and candidate != name)
    return found


def _graph(root: Path) -> dict[str, set[str]]:
    """Module name -> the package modules it imports."""
    paths = {_module_name(path, root): path for path in root.rglob("*.py")}
    return {name: _imports(path, set(paths), root) for name, path in paths.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, path)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def test_no_import_cycle_in_the_package():
    cycles = _cycles(_graph(PACKAGE))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_the_cycle_finder_sees_function_local_imports(tmp_path):
    """The check itself: two modules importing each other, one of them inside a function, form a cycle."""
    package = tmp_path / "cnncalc"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("from .sub.b import f\n")
    (package / "sub" / "b.py").write_text("def f():\n    from ..a import g\n")
    assert _cycles(_graph(package)) == [["cnncalc.a", "cnncalc.sub.b", "cnncalc.a"]]
    (package / "sub" / "b.py").write_text("def f():\n    return 1\n")
    assert _cycles(_graph(package)) == []


def test_one_ruff_version_for_ci_and_the_pre_commit_hooks():
    """CI installs the ruff that pyproject.toml's test extra pins; the project's pre-commit hooks must run the same,
    or a formatting check could pass in one and fail in the other."""
    root = Path(__file__).resolve().parent.parent
    pins = {
        name: re.findall(r"ruff==[0-9.]+", (root / name).read_text(encoding="utf-8"))
        for name in ("pyproject.toml", ".pre-commit-config.yaml")
    }
    assert len(set(pins["pyproject.toml"])) == 1 and set(pins[".pre-commit-config.yaml"]) == set(pins["pyproject.toml"])


def test_every_package_folder_is_installed():
    """pyproject.toml names the packages a plain 'pip install .' copies: a folder missing there imports from a
    checkout and fails once installed (as CI installs)."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    folders = {".".join(path.parent.relative_to(root).parts) for path in (root / "cnncalc").rglob("__init__.py")}
    assert folders <= listed, f"not in pyproject.toml's packages: {sorted(folders - listed)}"
