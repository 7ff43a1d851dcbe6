"""The per-kind tables of the docs are generated from the registry: the files must hold what it makes now."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncalc import doctables
from cnncalc.load import load
from cnncalc.propagate import propagate

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


def test_a_kind_states_a_mac_rule_exactly_when_it_counts_macs():
    """No count without a stated rule: run every kind (allkinds.yaml holds each) and compare with macs_rule."""
    report = propagate(load(str(Path(__file__).parent / "backend" / "data" / "allkinds.yaml")))
    counting = {layer.kind for layer in report.layers if layer.macs}
    stated = {kind.name for kind in doctables.REGISTRY.values() if kind.macs_rule is not None}
    assert counting == stated


def test_a_docs_file_without_its_markers_is_refused():
    with pytest.raises(ValueError, match="docs/format.md needs the markers"):
        doctables.fill("# Format\n\nno table here\n", "format.md")
