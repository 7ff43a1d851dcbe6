"""The registry owns all kind knowledge: product code names a kind only where kinds are declared and in the
backend's kernel table; everything else reads attributes declared on the kinds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cnncalc import kinds  # noqa: F401  (registers the layer kinds)
from cnncalc.registry import REGISTRY, LayerKind, joiner, register

PACKAGE = Path(__file__).parents[1] / "cnncalc"
DECLARATIONS = PACKAGE / "kinds"  # the kinds package: one module per family
#: The backend's kernel table: the one place besides the declarations where kind names are written.
KERNEL_TABLE = (PACKAGE / "backend" / "execute.py", {"KERNELS", "IN_PLACE", "WORKSPACE", "FUSED"})


def kind_names_written(tree: ast.AST, tables: set[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, name) of every string constant equal to a registered kind, outside assignments to ``tables``."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(target, ast.Name) and target.id in tables for target in targets):
                allowed.update(id(inner) for inner in ast.walk(node))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in REGISTRY
        and id(node) not in allowed
    ]


def test_no_kind_name_is_written_outside_the_declarations_and_the_kernel_table():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if DECLARATIONS in path.parents:
            continue
        tables = KERNEL_TABLE[1] if path == KERNEL_TABLE[0] else set()
        found += [
            f"{path.relative_to(PACKAGE.parent)}:{line}: {name!r}"
            for line, name in kind_names_written(ast.parse(path.read_text(encoding="utf-8")), tables)
        ]
    assert not found, "kind names outside kinds/ and the kernel table:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source, expected",
    [
        ('if kind in ("add", "concat"):\n    main = "of"\n', [(1, "add"), (1, "concat")]),
        ('join = self._add_node(path, "add", raw)\n', [(1, "add")]),
        ('message = f"cannot add {a} to {b}"\n', []),  # a kind name inside a longer text is not a kind name
        ('KERNELS = {"relu": relu}\nOTHER = {"relu": relu}\n', [(2, "relu")]),
    ],
)
def test_the_search_finds_kind_names_written_as_strings(source, expected):
    assert sorted(kind_names_written(ast.parse(source), {"KERNELS"})) == expected


def test_each_structure_has_exactly_one_join():
    for structure in ("residual", "branches"):
        assert len([kind for kind in REGISTRY.values() if kind.joins == structure]) == 1, structure


def test_a_second_join_of_a_structure_is_refused_at_registration():
    class SecondAdd(LayerKind):
        name = "second_add"
        doc = "A second join of residuals."
        operands = "of"
        joins = "residual"

    with pytest.raises(RuntimeError, match="second_add is a second join of residual"):
        register(SecondAdd)
    assert "second_add" not in REGISTRY and joiner("residual").name != "second_add"
