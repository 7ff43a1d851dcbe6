"""The description format: names and paths, blocks, repeat, residual, concat, when, include, shorthand."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncalc.errors import CnnCalcError
from cnncalc.load import load, parse_network
from cnncalc.propagate import propagate


def report(text: str, **kwargs):
    return propagate(parse_network(text, "t.yaml", **kwargs))


def paths(text: str) -> list[str]:
    return [layer.path for layer in report(text).layers]


def test_automatic_names_count_per_kind_and_skip_explicit_names():
    text = """input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 1}
  - relu
  - conv: {out: 4, kernel: 1}
  - relu: {name: relu2}
  - relu
"""
    assert paths(text) == ["conv1", "relu1", "conv2", "relu2", "relu3"]


def test_repeat_numbers_its_steps_and_binds_the_index():
    text = """input: [3, 16, 16]
layers:
  - repeat:
      name: stage
      times: 3
      layers: [conv: {out: "8 * (i + 1)", kernel: 3, padding: 1}]
  - repeat:
      name: pairs
      times: 2
      var: k
      layers:
        - conv: {out: 4, kernel: 1, stride: "2 if k == 0 else 1"}
        - relu
"""
    result = report(text)
    assert [layer.path for layer in result.layers] == [
        "stage.0",
        "stage.1",
        "stage.2",
        "pairs.0.conv1",
        "pairs.0.relu1",
        "pairs.1.conv1",
        "pairs.1.relu1",
    ]
    assert [layer.output[1] for layer in result.layers[:3]] == [8, 16, 24]
    assert result.output == (1, 4, 8, 8)


def test_blocks_with_defaults_expressions_and_when():
    text = """input: [16, 8, 8]
blocks:
  unit:
    args: [width, stride: 1, project: false, out: 4 * width]
    layers:
      - residual:
          main:
            - conv: {name: conv1, out: width, kernel: 1, bias: false}
            - conv: {name: conv2, out: out, kernel: 3, stride: stride, padding: 1, bias: false}
          shortcut:
            - conv: {name: conv, out: out, kernel: 1, stride: stride, when: project}
      - relu
layers:
  - unit: {name: a, width: 4}
  - unit: {name: b, width: 8, stride: 2, project: true}
"""
    result = report(text)
    assert [layer.path for layer in result.layers] == [
        "a.conv1",
        "a.conv2",
        "a.add",
        "a.relu1",
        "b.conv1",
        "b.conv2",
        "b.shortcut.conv",
        "b.add",
        "b.relu1",
    ]
    assert result.output == (1, 32, 4, 4)
    by_path = {layer.path: layer for layer in result.layers}
    assert by_path["b.add"].inputs == (5, 6)
    assert [g.path for g in result.groups if g.kind == "unit"] == ["a", "b"]


def test_named_residual_groups_its_layers():
    text = """input: [4, 8, 8]
layers:
  - residual:
      name: res
      main: [conv: {out: 4, kernel: 3, padding: 1}]
"""
    assert paths(text) == ["res.conv1", "res.add"]


def test_concat_branches_named_and_numbered():
    text = """input: [4, 8, 8]
layers:
  - concat:
      name: mixed
      branches:
        - [conv: {out: 2, kernel: 1}]
        - [conv: {out: 3, kernel: 3, padding: 1}, relu]
        - []
  - concat:
      branches:
        left: [maxpool: {kernel: 3, stride: 1, padding: 1}]
        right: [identity]
"""
    result = report(text)
    assert [layer.path for layer in result.layers] == [
        "mixed.0.conv1",
        "mixed.1.conv1",
        "mixed.1.relu1",
        "mixed.concat",
        "concat1.left.maxpool1",
        "concat1.right.identity1",
        "concat1.concat",
    ]
    assert result.layers[3].output == (1, 9, 8, 8)
    assert result.output == (1, 18, 8, 8)


def test_references_resolve_from_the_inner_scope_outwards():
    text = """input: [4, 8, 8]
blocks:
  up:
    args: [skip]
    layers:
      - conv: {name: c, out: 4, kernel: 1}
      - concat: [c, skip]
layers:
  - conv: {name: enc, out: 4, kernel: 1}
  - up: {skip: enc}
"""
    result = report(text)
    assert result.layers[-1].path == "up1.concat1"
    assert result.output == (1, 8, 8, 8)


def test_group_scopes_paths_like_pytorch_sequential():
    net = load("alexnet-torchvision")
    assert [node.path for node in net.nodes][:3] == ["features.0", "features.1", "features.2"]
    assert net.nodes[-1].path == "classifier.6"


def test_resnet_paths():
    names = [node.path for node in load("resnet152").nodes]
    assert "layer3.4.conv2" in names
    assert "layer2.0.downsample.0" in names and "layer2.1.downsample.0" not in names
    assert names[-1] == "fc"


def test_scalar_shorthand_sets_the_main_argument():
    text = "input: [8]\nlayers:\n  - linear: 4\n  - dropout: 0.2\n  - leakyrelu: 0.1\n  - softmax\n"
    assert report(text).output == (1, 4)


def test_one_and_three_dimensional_networks():
    text = "input: [2, 100]\nlayers:\n  - conv: {out: 4, kernel: 5, stride: 2}\n  - maxpool: 2\n  - globalavgpool\n"
    assert report(text).output == (1, 4, 1)
    text = "input: [1, 8, 16, 16]\nlayers:\n  - conv: {out: 2, kernel: [1, 3, 3], padding: [0, 1, 1]}\n  - avgpool: 2\n"
    assert report(text).output == (1, 2, 4, 8, 8)


def test_input_override_and_batch():
    text = "input: [3, 32, 32]\nlayers:\n  - conv: {out: 4, kernel: 3}\n"
    assert propagate(parse_network(text, "t.yaml", (3, 10, 10)), batch=5).output == (5, 4, 8, 8)


def test_include_reads_blocks_relative_to_the_file(tmp_path: Path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.yaml").write_text(
        "blocks:\n  double: {args: [c], layers: [conv: {out: c, kernel: 1}, conv: {out: c, kernel: 1}]}\n"
    )
    (tmp_path / "net.yaml").write_text("input: [3, 4, 4]\ninclude: lib/blocks.yaml\nlayers:\n  - double: {c: 5}\n")
    assert propagate(load(str(tmp_path / "net.yaml"))).output == (1, 5, 4, 4)


def test_include_cycle_is_an_error(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("include: b.yaml\nblocks: {}\n")
    (tmp_path / "b.yaml").write_text("include: a.yaml\nblocks: {}\n")
    (tmp_path / "net.yaml").write_text("input: [3]\ninclude: a.yaml\nlayers: [relu]\n")
    with pytest.raises(CnnCalcError, match="include cycle"):
        load(str(tmp_path / "net.yaml"))


def test_block_defined_twice_is_an_error(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("blocks:\n  b: {layers: [relu]}\n")
    (tmp_path / "net.yaml").write_text("input: [3]\ninclude: a.yaml\nblocks:\n  b: {layers: [relu]}\nlayers: [b]\n")
    with pytest.raises(CnnCalcError, match=r"block .b. is already defined in .*a.yaml:2:3"):
        load(str(tmp_path / "net.yaml"))


def test_yaml_anchors_and_merge_keys_work():
    text = """input: [3, 8, 8]
layers:
  - conv: &c {out: 4, kernel: 3, padding: 1}
  - conv: {<<: *c, out: 6}
"""
    assert report(text).output == (1, 6, 8, 8)


def test_block_style_nesting_past_the_limit_is_one_error():
    """Flow brackets are counted before parsing; block-style nesting is checked on the parsed nodes."""
    text = (
        "input: [3]\nlayers:\n"
        + "".join(" " * (2 + 6 * depth) + "- group:\n" + " " * (6 + 6 * depth) + "layers:\n" for depth in range(60))
        + " " * 362
        + "- relu\n"
    )
    with pytest.raises(CnnCalcError, match="the YAML nests deeper than 100 levels") as caught:
        report(text)
    assert caught.value.location.line > 50


def test_the_garbage_collector_runs_again_after_propagation():
    import gc

    assert gc.isenabled()
    report("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n")
    assert gc.isenabled()
    with pytest.raises(CnnCalcError):
        report("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 9}\n")
    assert gc.isenabled()


def test_repeated_layers_are_computed_for_their_own_input():
    """Propagation reuses a result only for the same arguments and the same input shape."""
    text = """input: [4, 32, 32]
layers:
  - repeat: {name: r, times: 3, layers: [conv: {out: 4, kernel: 3, stride: "2 if i == 0 else 1", padding: 1}]}
  - repeat: {name: s, times: 2, layers: [maxpool: 2]}
"""
    outputs = [layer.output for layer in report(text).layers]
    assert outputs == [(1, 4, 16, 16), (1, 4, 16, 16), (1, 4, 16, 16), (1, 4, 8, 8), (1, 4, 4, 4)]
