"""Each layer kind as a parameter table: input shape -> output shape, params, buffers, MACs, FLOPs (by hand)."""

from __future__ import annotations

import pytest

from cnncalc.load import parse_network
from cnncalc.propagate import propagate
from cnncalc.registry import REGISTRY, SELF


def one_layer(layer: str, input_shape: list) -> object:
    text = f"name: t\ninput: {input_shape}\nlayers:\n  - {layer}\n"
    return propagate(parse_network(text, "t.yaml")).layers[-1]


# layer, input, output (no batch), params, buffers, macs, flops
TABLE = [
    # conv: weight out*(in/g)*k*k + bias out; MACs = out elements * (in/g)*k*k; FLOPs = 2 MACs + out elements
    ("conv: {out: 8, kernel: 3}", [4, 10, 10], (8, 8, 8), 8 * 4 * 9 + 8, 0, 512 * 36, 2 * 512 * 36 + 512),
    ("conv: {out: 8, kernel: 3, padding: same, bias: false}", [4, 10, 10], (8, 10, 10), 288, 0, 800 * 36, 2 * 800 * 36),
    ("conv: {out: 8, kernel: 3, stride: 2, padding: same}", [4, 9, 9], (8, 5, 5), 296, 0, 200 * 36, 2 * 200 * 36 + 200),
    ("conv: {out: 8, kernel: 3, groups: 2}", [4, 5, 5], (8, 3, 3), 8 * 2 * 9 + 8, 0, 72 * 18, 2 * 72 * 18 + 72),
    (
        "conv: {out: 4, kernel: 3, groups: in_channels, padding: 1}",
        [4, 6, 6],
        (4, 6, 6),
        4 * 9 + 4,
        0,
        144 * 9,
        2 * 144 * 9 + 144,
    ),
    ("conv: {out: 2, kernel: [3, 1], padding: [1, 0]}", [1, 5, 5], (2, 5, 5), 2 * 3 + 2, 0, 50 * 3, 2 * 50 * 3 + 50),
    ("conv: {out: 2, kernel: 3, padding: [[0, 2], [1, 1]]}", [1, 4, 4], (2, 4, 4), 20, 0, 32 * 9, 2 * 32 * 9 + 32),
    ("conv: {out: 2, kernel: 3, dilation: 2}", [1, 7], (2, 3), 2 * 3 + 2, 0, 6 * 3, 2 * 6 * 3 + 6),
    ("conv: {out: 2, kernel: 3}", [1, 5, 5, 5], (2, 3, 3, 3), 2 * 27 + 2, 0, 54 * 27, 2 * 54 * 27 + 54),
    # convtranspose: weight in*(out/g)*k*k; MACs = input elements * (out/g)*k*k
    (
        "convtranspose: {out: 4, kernel: 2, stride: 2}",
        [8, 5, 5],
        (4, 10, 10),
        8 * 4 * 4 + 4,
        0,
        200 * 16,
        2 * 200 * 16 + 400,
    ),
    (
        "convtranspose: {out: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1, bias: false}",
        [2, 4, 4],
        (4, 8, 8),
        2 * 4 * 9,
        0,
        32 * 36,
        2 * 32 * 36,
    ),
    # pooling: max = k-1 comparisons per output, avg = k per output
    ("maxpool: 2", [3, 8, 8], (3, 4, 4), 0, 0, 0, 48 * 3),
    ("maxpool: {kernel: 3, stride: 2, ceil_mode: true}", [1, 10, 10], (1, 5, 5), 0, 0, 0, 25 * 8),
    ("maxpool: {kernel: 3, stride: 1, padding: 1, dilation: 2}", [1, 6], (1, 4), 0, 0, 0, 4 * 2),
    ("avgpool: {kernel: 2, stride: 1}", [2, 3, 3], (2, 2, 2), 0, 0, 0, 8 * 4),
    (
        "avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false}",
        [1, 6, 6],
        (1, 4, 4),
        0,
        0,
        0,
        16 * 9,
    ),
    ("globalavgpool", [5, 4, 3], (5, 1, 1), 0, 0, 0, 60),
    # adaptive: windows of 7 -> 3 are [0,3) [2,5) [4,7): 3+3+3 per dim
    ("adaptiveavgpool: 3", [2, 7, 7], (2, 3, 3), 0, 0, 0, 2 * 9 * 9),
    ("adaptiveavgpool: [1, 2]", [1, 4, 5], (1, 1, 2), 0, 0, 0, 4 * 6),
    ("flatten", [3, 4, 5], (60,), 0, 0, 0, 0),
    ("linear: 10", [20], (10,), 210, 0, 200, 410),
    ("linear: {out: 10, bias: false}", [20], (10,), 200, 0, 200, 400),
    ("batchnorm", [6, 2, 2], (6, 2, 2), 12, 12, 0, 48),
    ("batchnorm: {affine: false}", [6], (6,), 0, 12, 0, 12),
    ("lrn: 5", [8, 2, 2], (8, 2, 2), 0, 0, 0, 32 * 13),
    ("dropout: 0.3", [7], (7,), 0, 0, 0, 0),
    ("relu", [2, 3, 3], (2, 3, 3), 0, 0, 0, 18),
    ("leakyrelu: 0.2", [10], (10,), 0, 0, 0, 20),
    ("sigmoid", [10], (10,), 0, 0, 0, 40),
    ("tanh", [10], (10,), 0, 0, 0, 10),
    ("gelu", [10], (10,), 0, 0, 0, 50),
    ("silu", [10], (10,), 0, 0, 0, 50),
    ("identity", [10], (10,), 0, 0, 0, 0),
    # relu6 2 (two comparisons), hardsigmoid 4 (add, clamp, divide), hardswish 5 (and a multiply), elu 4
    # (compare, exp, subtract, multiply), mish 5 (exp, add, log, tanh, multiply), prelu 2 as leakyrelu
    ("relu6", [2, 3, 3], (2, 3, 3), 0, 0, 0, 36),
    ("hardsigmoid", [10], (10,), 0, 0, 0, 40),
    ("hardswish", [2, 3, 3], (2, 3, 3), 0, 0, 0, 90),
    ("elu", [10], (10,), 0, 0, 0, 40),
    ("elu: {alpha: 0.5}", [2, 5], (2, 5), 0, 0, 0, 40),
    ("mish", [10], (10,), 0, 0, 0, 50),
    ("prelu", [4, 3, 3], (4, 3, 3), 1, 0, 0, 72),
    ("prelu: 4", [4, 3, 3], (4, 3, 3), 4, 0, 0, 72),
    ("prelu: {channels: in_channels}", [6], (6,), 6, 0, 0, 12),
    # scale: one multiplier per channel, one multiply per element
    ("scale", [4, 3, 3], (4, 3, 3), 4, 0, 0, 36),
    ("scale", [7], (7,), 7, 0, 0, 7),
    ("scale", [2, 3, 4, 5], (2, 3, 4, 5), 2, 0, 0, 120),
    # stochastic depth: the identity at inference, free
    ("stochasticdepth: 0.2", [4, 3, 3], (4, 3, 3), 0, 0, 0, 0),
    ("stochasticdepth: {p: 0.1, mode: batch}", [5], (5,), 0, 0, 0, 0),
    # softmax over n values: 5n - 2 operations
    ("softmax", [10], (10,), 0, 0, 0, 48),
    ("softmax", [4, 3, 3], (4, 3, 3), 0, 0, 0, 9 * 18),
    ("softmax: -1", [4, 3, 2], (4, 3, 2), 0, 0, 0, 12 * 8),
    ("upsample: 2", [3, 4, 4], (3, 8, 8), 0, 0, 0, 0),
    ("upsample: {scale: 1.5, mode: bilinear}", [1, 4, 5], (1, 6, 7), 0, 0, 0, 42 * 9),
    ("upsample: {size: [3, 5, 7], mode: bilinear}", [1, 2, 2, 2], (1, 3, 5, 7), 0, 0, 0, 105 * 21),
    ("upsample: {scale: [2, 1]}", [1, 3, 3], (1, 6, 3), 0, 0, 0, 0),
    # linear per position: weight out x last size; MACs = in x out at each of the other sizes' positions
    ("linear: {out: 6, per_position: true}", [3, 4, 5], (3, 4, 6), 36, 0, 12 * 30, 2 * 12 * 30 + 72),
    ("linear: {out: 6, per_position: true, bias: false}", [5], (6,), 30, 0, 30, 60),
    # layernorm: weight and bias of the normalised size n; 7n + 2 FLOPs per normalisation
    ("layernorm", [8, 4, 4], (8, 4, 4), 16, 0, 0, 16 * (7 * 8 + 2)),
    ("layernorm: {dim: -1, eps: 1.0e-6}", [4, 3, 5], (4, 3, 5), 10, 0, 0, 12 * (7 * 5 + 2)),
    ("layernorm: 2", [4, 3, 5], (4, 3, 5), 6, 0, 0, 20 * (7 * 3 + 2)),
    ("layernorm", [10], (10,), 20, 0, 0, 72),
    # layout kinds count nothing
    ("permute: [1, 2, 0]", [3, 4, 5], (4, 5, 3), 0, 0, 0, 0),
    ("permute: [0]", [7], (7,), 0, 0, 0, 0),
    ("channelshuffle: 3", [6, 2, 2], (6, 2, 2), 0, 0, 0, 0),
    ("chunk: {chunks: 3, index: 2}", [8, 2, 2], (2, 2, 2), 0, 0, 0, 0),  # parts of 3, 3, 2
    ("chunk: {chunks: 4, index: 2}", [5, 3], (1, 3), 0, 0, 0, 0),  # parts of 2, 2, 1: torch makes 3, not 4
    ("chunk: {chunks: 2, index: 0}", [6, 3], (3, 3), 0, 0, 0, 0),
    ("pad: 1", [2, 3, 3], (2, 5, 5), 0, 0, 0, 0),
    ("pad: {padding: [[0, 1], 2], mode: reflect}", [1, 4, 3], (1, 5, 7), 0, 0, 0, 0),
    ("pad: {padding: [1, 0, [2, 3]], mode: replicate}", [1, 2, 2, 2], (1, 4, 2, 7), 0, 0, 0, 0),
    ("pad: {padding: [[3, 0]], value: -1}", [1, 5], (1, 8), 0, 0, 0, 0),
]


@pytest.mark.parametrize("layer,input_shape,output,params,buffers,macs,flops", TABLE)
def test_kind_table(layer, input_shape, output, params, buffers, macs, flops):
    result = one_layer(layer, input_shape)
    assert result.output[1:] == output
    assert (result.params, result.buffers, result.macs, result.flops) == (params, buffers, macs, flops)


def test_every_kind_is_in_the_table():
    tested = {row[0].split(":")[0] for row in TABLE} | {"add", "mul", "concat"}
    assert tested == set(REGISTRY)


def test_weights_are_named_like_pytorch():
    conv = one_layer("conv: {out: 8, kernel: 3, groups: 2}", [4, 5, 5])
    assert [(w.name, w.shape, w.trainable) for w in conv.weights] == [
        ("weight", (8, 2, 3, 3), True),
        ("bias", (8,), True),
    ]
    norm = one_layer("batchnorm", [6, 2, 2])
    assert [(w.name, w.trainable) for w in norm.weights] == [
        ("weight", True),
        ("bias", True),
        ("running_mean", False),
        ("running_var", False),
    ]
    transposed = one_layer("convtranspose: {out: 4, kernel: 2, groups: 2}", [6, 3, 3])
    assert transposed.weights[0].shape == (6, 2, 2, 2)
    assert [(w.name, w.shape) for w in one_layer("prelu: 6", [6, 2, 2]).weights] == [("weight", (6,))]
    assert [(w.name, w.shape) for w in one_layer("prelu", [6, 2, 2]).weights] == [("weight", (1,))]


def test_scale_array_is_keyed_by_the_layer_path_like_torchvision_layer_scale():
    """torchvision ConvNeXt: ``features.1.0.layer_scale`` of shape [C, 1, 1], no ``.weight`` suffix."""
    text = "name: t\ninput: [6, 5, 5]\nlayers:\n  - scale: {name: layer_scale}\n  - flatten\n  - scale\n"
    first, _, flat = propagate(parse_network(text, "t.yaml")).layers
    assert [(w.name, w.shape, w.trainable) for w in first.weights] == [(SELF, (6, 1, 1), True)]
    assert first.weights[0].key("features.1.0.layer_scale") == "features.1.0.layer_scale"
    assert flat.weights[0].shape == (150,) and flat.weights[0].key("scale1") == "scale1"
    assert one_layer("conv: {out: 2, kernel: 1}", [1, 3, 3]).weights[0].key("stem.conv") == "stem.conv.weight"


def test_add_and_concat_of_references():
    text = """name: t
input: [4, 8, 8]
layers:
  - conv: {name: a, out: 4, kernel: 3, padding: 1}
  - conv: {name: b, out: 6, kernel: 3, padding: 1}
  - concat: [a, previous]
  - conv: {name: c, out: 4, kernel: 1}
  - add: [c, a, input]
"""
    report = propagate(parse_network(text, "t.yaml"))
    concat, _, add = report.layers[2:]
    assert concat.output == (1, 10, 8, 8) and concat.flops == 0
    assert add.output == (1, 4, 8, 8) and add.flops == 2 * 256
    assert [report.layers[i].path if i >= 0 else "input" for i in add.inputs] == ["c", "a", "input"]


def test_mul_and_add_broadcast_as_numpy():
    """A C x 1 x 1 gate (squeeze-and-excitation) and a 1 x H x W map (spatial attention) stretch where 1."""
    text = """name: t
input: [4, 8, 8]
layers:
  - conv: {name: a, out: 4, kernel: 3, padding: 1}
  - globalavgpool: {name: gate}
  - mul: {name: excite, of: [a, gate]}
  - mul: {name: reversed, of: [gate, a]}
  - conv: {name: spatial, out: 1, kernel: 1}
  - mul: {name: both, of: [spatial, gate]}
  - add: {name: sum, of: [gate, both, spatial]}
"""
    layers = {layer.path: layer for layer in propagate(parse_network(text, "t.yaml")).layers}
    for path in ("excite", "reversed", "both", "sum"):
        assert layers[path].output == (1, 4, 8, 8), path
    assert layers["excite"].flops == 256 and layers["both"].flops == 256 and layers["sum"].flops == 2 * 256
    assert layers["excite"].params == layers["sum"].params == 0


def test_weights_of_the_new_kinds_are_named_like_pytorch():
    norm = one_layer("layernorm: -1", [4, 3, 5])
    assert [(w.name, w.shape, w.trainable) for w in norm.weights] == [("weight", (5,), True), ("bias", (5,), True)]
    linear = one_layer("linear: {out: 6, per_position: true}", [3, 4, 5])
    assert [(w.name, w.shape) for w in linear.weights] == [("weight", (6, 5)), ("bias", (6,))]
