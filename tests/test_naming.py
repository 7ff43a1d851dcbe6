"""Naming control, auxiliary outputs and description arguments (issue 9): paths, outputs, totals, --set."""

from __future__ import annotations

import json

import pytest

from cnncalc.errors import CnnCalcError, UsageError
from cnncalc.load import load, parse_network
from cnncalc.propagate import propagate, propagate_symbolic, size_binding
from cnncalc.symbolic.algebra import evaluate, symbol


def network(text: str, **settings):
    return parse_network(text, "t.yaml", settings=settings)


def paths(text: str, **settings) -> list[str]:
    return [node.path for node in network(text, **settings).nodes]


# -- residual shortcut ----------------------------------------------------------------------------------------
TORCHVISION_BLOCK = """
input: [8, 16, 16]
layers:
  - residual:
      name: block
      main:
        - conv: {name: conv1, out: 16, kernel: 3, stride: 2, padding: 1, bias: false}
        - batchnorm: {name: bn1}
      shortcut: {name: downsample, layers: [conv: {name: '0', out: 16, kernel: 1, stride: 2, bias: false},
                                            batchnorm: {name: '1'}]}
"""


def test_shortcut_mapping_names_the_path_and_its_layers():
    assert paths(TORCHVISION_BLOCK) == [
        "block.conv1",
        "block.bn1",
        "block.downsample.0",
        "block.downsample.1",
        "block.add",
    ]
    groups = {group.path: group.kind for group in network(TORCHVISION_BLOCK).groups}
    assert groups["block.downsample"] == "shortcut"


def test_shortcut_mapping_counts_as_the_list_form():
    listed = TORCHVISION_BLOCK.replace(
        "shortcut: {name: downsample, layers: [conv: {name: '0',", "shortcut: [conv: {name: '0',"
    ).replace("batchnorm: {name: '1'}]}", "batchnorm: {name: '1'}]")
    assert paths(listed)[2:4] == ["block.shortcut.0", "block.shortcut.1"]
    assert propagate(network(listed)).totals == propagate(network(TORCHVISION_BLOCK)).totals


def test_weights_of_a_named_shortcut_are_the_torchvision_keys(cli, tmp_path):
    path = tmp_path / "block.yaml"
    path.write_text(TORCHVISION_BLOCK)
    result = cli("weights", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    keys = [weight["key"] for weight in json.loads(result.stdout)["weights"]]
    assert keys[-5:] == [
        "block.downsample.0.weight",
        "block.downsample.1.weight",
        "block.downsample.1.bias",
        "block.downsample.1.running_mean",
        "block.downsample.1.running_var",
    ]


# -- inline branch sets -----------------------------------------------------------------------------------------
FIRE = """
input: [16, 8, 8]
blocks:
  fire:
    args: [squeeze, expand]
    layers:
      - conv: {name: squeeze, out: squeeze, kernel: 1}
      - relu: {name: squeeze_activation}
      - concat:
          inline: true
          branches:
            - [conv: {name: expand1x1, out: expand, kernel: 1}, relu: {name: expand1x1_activation}]
            - [conv: {name: expand3x3, out: expand, kernel: 3, padding: 1}, relu: {name: expand3x3_activation}]
layers:
  - fire: {name: fire2, squeeze: 4, expand: 8}
"""


def test_inline_list_branches_put_their_layers_in_the_enclosing_scope():
    net = network(FIRE)
    assert [node.path for node in net.nodes] == [
        "fire2.squeeze",
        "fire2.squeeze_activation",
        "fire2.expand1x1",
        "fire2.expand1x1_activation",
        "fire2.expand3x3",
        "fire2.expand3x3_activation",
        "fire2.concat",
    ]
    assert net.nodes[2].inputs == net.nodes[4].inputs == (1,)  # both branches read the set's input
    assert net.nodes[-1].inputs == (3, 5)
    assert propagate(net).output == (1, 16, 8, 8)


INCEPTION = """
input: [8, 8, 8]
blocks:
  inception:
    layers:
      - concat:
          inline: true
          branches:
            branch1: [conv: {name: conv, out: 4, kernel: 1}]
            branch2: [conv: {out: 2, kernel: 1}, conv: {out: 4, kernel: 3, padding: 1}]
            branch3: []
layers:
  - inception: {name: inception3a}
  - inception: {name: inception3b}
"""


def test_inline_mapping_branches_sit_at_the_block_path():
    net = network(INCEPTION)
    assert [node.path for node in net.nodes][:5] == [
        "inception3a.branch1.conv",
        "inception3a.branch2.conv1",
        "inception3a.branch2.conv2",
        "inception3a.concat",
        "inception3b.branch1.conv",
    ]
    join = net.nodes[3]
    assert join.inputs == (0, 2, -1)  # the empty branch is the identity: the set's input
    report = propagate(net)
    assert report.layers[3].output == (1, 16, 8, 8) and report.output == (1, 24, 8, 8)
    kinds = {group.path: group.kind for group in net.groups}
    assert kinds["inception3a"] == "inception" and kinds["inception3a.branch2"] == "branch"
    assert "inception3a.concat1" not in kinds  # no level for the set


def test_inline_counts_as_the_nested_form():
    nested = INCEPTION.replace("inline: true", "inline: false")
    assert propagate(network(nested)).totals == propagate(network(INCEPTION)).totals
    assert paths(nested)[0] == "inception3a.concat1.branch1.conv"


def test_inline_join_takes_a_name_and_branches_reference_earlier_layers():
    text = """
input: [3, 8, 8]
layers:
  - conv: {name: stem, out: 4, kernel: 1}
  - concat: {name: cat, inline: true, branches: [[relu], [add: [previous, stem]], []]}
  - concat: {inline: true, branches: {a: [relu], b: [relu]}}
"""
    net = network(text)
    assert [node.path for node in net.nodes] == ["stem", "relu1", "add1", "cat", "a.relu1", "b.relu1", "concat"]
    assert net.nodes[2].inputs == (0, 0)
    assert propagate(net).output == (1, 24, 8, 8)


def test_inline_as_an_expression():
    text = "input: [3, 4]\nargs: [flat: true]\nlayers:\n  - concat: {inline: flat, branches: {a: [relu], b: []}}\n"
    assert paths(text) == ["a.relu1", "concat"]
    assert paths(text, flat=False) == ["concat1.a.relu1", "concat1.concat"]


# -- repeat start and names -------------------------------------------------------------------------------------
def test_repeat_names_pattern_and_start():
    text = """
input: [4, 8, 8]
layers:
  - repeat:
      name: denseblock1
      times: 3
      start: 1
      names: denselayer{i}
      layers:
        - conv: {name: conv1, out: "4 * i", kernel: 1}
        - relu: {name: relu1}
"""
    net = network(text)
    assert [node.path for node in net.nodes][::2] == [
        "denseblock1.denselayer1.conv1",
        "denseblock1.denselayer2.conv1",
        "denseblock1.denselayer3.conv1",
    ]
    assert [layer.output[1] for layer in propagate(net).layers[::2]] == [4, 8, 12]  # i runs from start


def test_repeat_single_item_names_and_var():
    text = "input: [3]\nlayers:\n  - repeat: {times: 2, var: k, start: 2, names: 'p{k}_x', layers: [relu]}\n"
    assert paths(text) == ["repeat1.p2_x", "repeat1.p3_x"]


def test_repeat_defaults_are_unchanged():
    text = "input: [3]\nlayers:\n  - repeat: {name: r, times: 2, layers: [relu, relu]}\n"
    assert paths(text) == ["r.0.relu1", "r.0.relu2", "r.1.relu1", "r.1.relu2"]


# -- aux outputs ------------------------------------------------------------------------------------------------
AUX = """
input: [3, 16, 16]
args: [aux_logits: true]
layers:
  - conv: {name: conv1, out: 8, kernel: 3, padding: 1}
  - aux: {name: aux1, when: aux_logits, layers: [globalavgpool, flatten, linear: {name: fc, out: 5}]}
  - conv: {name: conv2, out: 8, kernel: 3, stride: 2, padding: 1}
  - aux:
      name: aux2
      when: aux_logits
      layers: [relu, globalavgpool, flatten, linear: {name: fc, out: 5}]
"""


def test_aux_heads_are_outputs_and_the_main_path_continues():
    net = network(AUX)
    by_path = {node.path: i for i, node in enumerate(net.nodes)}
    assert net.nodes[by_path["conv2"]].inputs == (by_path["conv1"],)
    assert net.nodes[by_path["aux2.relu1"]].inputs == (by_path["conv2"],)
    report = propagate(net)
    assert [(out.path, out.aux, out.shape) for out in report.outputs] == [
        ("conv2", None, (1, 8, 8, 8)),
        ("aux1.fc", "aux1", (1, 5)),
        ("aux2.fc", "aux2", (1, 5)),
    ]
    assert report.output == (1, 8, 8, 8)  # the main output, even though an aux head comes last
    assert report.totals.params == sum(layer.params for layer in report.layers) == 224 + 584 + 2 * 45


def test_aux_off_by_default_or_set():
    off = network(AUX, aux_logits=False)
    assert [node.path for node in off.nodes] == ["conv1", "conv2"] and len(off.outputs) == 1
    assert propagate(off).totals.params == 224 + 584
    assert network(AUX, aux_logits=1).args == {"aux_logits": True}
    with pytest.raises(UsageError, match="takes true or false"):
        network(AUX, aux_logits="yes")


def test_aux_in_every_report_format(cli, tmp_path):
    path = tmp_path / "aux.yaml"
    path.write_text(AUX)
    document = json.loads(cli("params", str(path), "--format", "json").stdout)
    assert document["output"] == [1, 8, 8, 8]
    assert document["outputs"] == [
        {"path": "conv2", "aux": None, "shape": [1, 8, 8, 8]},
        {"path": "aux1.fc", "aux": "aux1", "shape": [1, 5]},
        {"path": "aux2.fc", "aux": "aux2", "shape": [1, 5]},
    ]
    assert document["totals"]["outputs"] == ["conv2", "aux1.fc", "aux2.fc"]
    assert document["totals"]["params"] == sum(layer["params"] for layer in document["layers"])
    assert {"path": "aux1", "kind": "aux"} in document["groups"]
    table = cli("params", str(path)).stdout
    assert "outputs      conv2 1x8x8x8 (main), aux1.fc 1x5 (aux1), aux2.fc 1x5 (aux2)\n" in table
    assert "params include the heads aux1, aux2; MACs, FLOPs and activations are the inference pass" in table
    heads = [layer for layer in document["layers"] if layer["path"].startswith(("aux1.", "aux2."))]
    assert heads and document["totals"]["aux_macs"] == sum(layer["macs"] for layer in heads)
    assert document["totals"]["macs"] + document["totals"]["aux_macs"] == sum(x["macs"] for x in document["layers"])
    assert "Total  " in table and "aux1 " in table
    markdown = cli("params", str(path), "--format", "markdown").stdout
    assert "does not run them (in training they add" in markdown
    plain = cli("params", str(path), "--set", "aux_logits=false").stdout
    assert "outputs " not in plain


def test_single_output_reports_one_output(cli):
    document = json.loads(cli("params", "lenet5", "--format", "json").stdout)
    assert document["outputs"] == [{"path": "output", "aux": None, "shape": document["output"]}]
    assert document["totals"]["outputs"] == ["output"]


def test_aux_symbolic_sizes():
    net = load_symbolic(AUX)
    report, _ = propagate_symbolic(net)
    conv2 = next(layer for layer in report.layers if layer.path == "conv2")
    assert report.outputs[0].shape == report.output == conv2.output
    assert report.outputs[1].shape == report.outputs[2].shape == (1, 5)
    assert evaluate(report.output, {"H": 32, "W": 15}) == (1, 8, 16, 8)
    assert propagate(network(AUX)._replace(input=(3, 32, 15))).output == (1, 8, 16, 8)


def test_aux_symbolic_evaluated_at_sizes(cli, tmp_path):
    path = tmp_path / "aux.yaml"
    path.write_text(AUX)
    result = cli("shapes", str(path), "--input", "3xHxW", "--set", "H=32,W=16,aux_logits=true", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["outputs"][0]["shape"] == [1, 8, 16, 8] and document["outputs"][2]["shape"] == [1, 5]


def load_symbolic(text: str):
    return network(text)._replace(input=(3, symbol("H"), symbol("W")))


# -- description args and --set -------------------------------------------------------------------------------
ARGS = """
input: [3, 8, 8]
args: [width: 4, double: false, out: 2 * width]
blocks:
  unit:
    layers:
      - conv: {out: "out * 2 if double else out", kernel: 1}
layers:
  - conv: {out: width, kernel: 1}
  - unit
"""


def test_args_are_names_everywhere_blocks_included():
    assert [layer.output[1] for layer in propagate(network(ARGS)).layers] == [4, 8]
    assert [layer.output[1] for layer in propagate(network(ARGS, width=3, double=True)).layers] == [3, 12]
    assert network(ARGS, width=3).args == {"width": 3, "double": False, "out": 6}


def test_block_parameter_shadows_a_description_argument():
    text = (
        "input: [3]\nargs: [n: 2]\nblocks:\n  b:\n    args: [n: 5]\n    layers: [linear: n]\nlayers: [b, linear: n]\n"
    )
    assert [layer.output[1] for layer in propagate(network(text)).layers] == [5, 2]


def test_set_cli(cli, tmp_path):
    path = tmp_path / "args.yaml"
    path.write_text(ARGS)
    shown = cli("shapes", str(path), "--set", "width=5,double=1", "--format", "json")
    assert [layer["output"][1] for layer in json.loads(shown.stdout)["layers"]] == [5, 20]
    mixed = cli("shapes", str(path), "--input", "3xHxW", "--set", "H=4,W=4,width=6", "--format", "json")
    assert [layer["output"] for layer in json.loads(mixed.stdout)["layers"]] == [[1, 6, 4, 4], [1, 12, 4, 4]]


@pytest.mark.parametrize(
    "args, message",
    [
        (("--set", "widht=5"), "--set: unknown name 'widht' (did you mean 'width'?); it sets the description's args"),
        (
            ("--input", "3xHxW", "--set", "H=4,W=4,Z=1"),
            "it sets the description's args (double, out, width) and the size symbols (H, W)",
        ),
        (("--set", "double=maybe"), "--set double takes true or false (or 1, 0), received 'maybe'"),
        (("--set", "width"), "--set must look like H=227,W=227 or aux_logits=true"),
    ],
)
def test_set_errors(cli, tmp_path, args, message):
    path = tmp_path / "args.yaml"
    path.write_text(ARGS)
    result = cli("shapes", str(path), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_set_on_run_weights_and_sizes(cli, tmp_path):
    path = tmp_path / "args.yaml"
    path.write_text(ARGS)
    assert "args.unit1" not in cli("weights", str(path), "--set", "width=2").stdout
    weights = json.loads(cli("weights", str(path), "--set", "width=2", "--format", "json").stdout)["weights"]
    assert weights[0]["shape"] == [2, 3, 1, 1]
    assert cli("run", str(path), "--set", "widht=2").exit_code == 2
    assert cli("sizes", str(path), "--set", "width=2").exit_code == 0
    assert cli("flops", str(path), "--at", "4", "--set", "width=2").exit_code == 0


def test_size_binding_splits_args_from_symbols():
    net = network(ARGS)._replace(input=(3, symbol("H"), symbol("W")))
    assert size_binding(net, 1, {"width": 3}) is None
    assert size_binding(net, 1, {"width": 3, "H": 8, "W": 9}) == {"H": 8, "W": 9}
    with pytest.raises(UsageError, match="a size is a whole number >= 1"):
        size_binding(net, 1, {"H": True})


def test_required_argument_is_set_or_an_error():
    text = "input: [3]\nargs: [n]\nlayers: [linear: n]\n"
    assert propagate(network(text, n=7)).output == (1, 7)
    with pytest.raises(CnnCalcError, match="needs the argument 'n'"):
        network(text)


def test_builtins_unchanged_by_the_new_keys():
    for name in ("resnet50", "unet", "alexnet"):
        net = load(name)
        assert len(net.outputs) == 1 and net.outputs[0].index == len(net.nodes) - 1 and net.args == {}


@pytest.mark.parametrize(
    "command, extra, sizes, message",
    [
        ("flops", ["--at", "8,16"], "H=4", "--at sets the sizes itself: --set takes only the description's args here"),
        ("sizes", [], "H=4,W=4", "sizes solves for the sizes itself: --set takes only the description's args here"),
    ],
)
def test_set_refuses_sizes_where_the_command_chooses_them(cli, tmp_path, command, extra, sizes, message):
    """--at and sizes pick the sizes themselves: --set giving a size symbol is a usage error there, while the
    description's args are still welcome."""
    path = tmp_path / "args.yaml"
    path.write_text(ARGS)
    refused = cli(command, str(path), "--input", "3xHxW", *extra, "--set", sizes)
    assert refused.exit_code == 2
    assert message in refused.stderr
    allowed = cli(command, str(path), "--input", "3xHxW", *extra, "--set", "width=6")
    assert allowed.exit_code == 0, allowed.output
