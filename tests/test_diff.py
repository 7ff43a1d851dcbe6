"""``cnncalc diff``: layers matched by path, totals, and the three formats."""

from __future__ import annotations

import json

from cnncalc.ci.diff import compare
from cnncalc.load import parse_network
from cnncalc.propagate import propagate

OLD = """\
name: old
input: [3, 16, 16]
layers:
  - conv: {name: stem, out: 8, kernel: 3, padding: 1}
  - relu: {name: act}
  - conv: {name: head, out: 4, kernel: 1}
  - flatten
  - linear: {name: fc, out: 10}
"""
NEW = (
    OLD.replace("name: new", "")
    .replace("name: old", "name: new")
    .replace("out: 8", "out: 16")
    .replace("  - relu: {name: act}\n", "  - relu: {name: act}\n  - batchnorm: {name: bn}\n")
    .replace("  - flatten\n", "  - flatten\n  - dropout: {name: drop}\n")
)


def report(text: str, name: str):
    return propagate(parse_network(text, name))


def test_layers_are_matched_by_path():
    diff = compare(report(OLD, "old.yaml"), report(NEW, "new.yaml"))
    status = {change.path: change.status for change in diff.layers}
    assert status == {
        "stem": "changed",
        "act": "changed",
        "bn": "added",
        "head": "changed",
        "flatten1": "same",
        "drop": "added",
        "fc": "same",
    }
    assert [change.path for change in diff.layers] == ["stem", "act", "bn", "head", "flatten1", "drop", "fc"]
    stem = diff.layers[0]
    assert stem.figure("params") == (8 * 3 * 9 + 8, 16 * 3 * 9 + 16)


def test_removed_layers_stay_in_place():
    diff = compare(report(NEW, "new.yaml"), report(OLD, "old.yaml"))
    assert [(change.path, change.status) for change in diff.layers if change.status != "same"][1:3] == [
        ("act", "changed"),
        ("bn", "removed"),
    ]


def test_same_network_has_no_changes(cli):
    result = cli("diff", "resnet18", "resnet18", "--format", "json")
    document = json.loads(result.stdout)
    assert document["changed"] == 0 and document["layers"] == []
    assert all(entry["delta"] == 0 for entry in document["totals"].values())


def test_json_totals_are_exact(cli):
    document = json.loads(cli("diff", "resnet18", "resnet34", "--format", "json").stdout)
    assert document["totals"]["params"] == {"old": 11689512, "new": 21797672, "delta": 10108160}
    statuses = {entry["status"] for entry in document["layers"]}
    assert statuses == {"added"}


def test_text_and_markdown(cli, tmp_path):
    (tmp_path / "old.yaml").write_text(OLD)
    (tmp_path / "new.yaml").write_text(NEW)
    text = cli("diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml")).stdout
    assert "5 of 7 layers differ:" in text
    assert "  added    bn  batchnorm  1x16x16x16  params +32  MACs 0" in text
    markdown = cli("diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--format", "markdown").stdout
    assert markdown.startswith("### cnncalc diff: `old` → `new`")
    assert "| params | 10,510 | 10,798 | +288 (+2.7%) |" in markdown
    assert "| stem | changed | conv | 1x8x16x16 -> 1x16x16x16 | +224 (+100.0%) | +55,296 (+100.0%) |" in markdown
    every = cli("diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--all").stdout
    assert "  same     fc" in every


def test_broken_side_fails_like_any_command(cli, tmp_path):
    (tmp_path / "bad.yaml").write_text("input: [3]\nlayers: [linear]\n")
    result = cli("diff", "lenet5", str(tmp_path / "bad.yaml"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path / 'bad.yaml'}:2:10: error: linear needs the argument 'out'")
