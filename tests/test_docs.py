"""The per-kind tables of the docs are generated from the registry: the files must hold what it makes now."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncalc import doctables

DOCS = Path(__file__).parents[1] / "docs"


@pytest.mark.parametrize("file", sorted(doctables.SECTIONS))
def test_generated_tables_are_up_to_date(file, request):
    path = DOCS / file
    text = path.read_text(encoding="utf-8")
    expected = doctables.fill(text, file)
    if request.config.getoption("--update-golden"):
        path.write_text(expected, encoding="utf-8")
        return
    assert text == expected, f"the kind tables of {path} are out of date; run pytest --update-golden"


def test_every_kind_has_a_row_with_its_rules():
    kinds, flops = doctables.kinds_table(), doctables.flops_table()
    for kind in doctables.REGISTRY.values():
        assert f"| `{kind.name}` | {kind.doc} |" in kinds
        assert kind.shape_rule and kind.shape_rule in kinds, kind.name
        assert f"`{kind.name}`" in flops
