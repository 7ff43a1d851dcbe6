"""The symbolic size expressions: simplification, exact evaluation, conditions, and agreement with ints."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import formulas
from cnncalc.errors import CnnCalcError
from cnncalc.load import load, parse_network
from cnncalc.options import parse_input_option
from cnncalc.propagate import at_resolutions, evaluate_report, propagate, propagate_symbolic
from cnncalc.symbolic.algebra import Condition, UndecidedError, evaluate, exact_gcd, symbol
from cnncalc.symbolic.recording import collecting, require
from cnncalc.symbolic.solve import analyse

H, W = symbol("H"), symbol("W")


def symbolic(net: str, shape: str = "3xHxW"):
    return propagate_symbolic(load(net, parse_input_option(shape)))


# -- the expression type ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build, text",
    [
        (lambda: H // 2 // 4, "floor(H/8)"),
        (lambda: (H + 3) // 2 // 3, "floor((H + 3)/6)"),
        (lambda: ((H + 1) // 2 + 5 + 2) // 3, "floor((H + 3)/6) + 2"),  # = floor((H + 15)/6)
        (lambda: -((-H) // 32), "ceil(H/32)"),
        (lambda: (H - 11) // 4 + 1, "floor((H + 1)/4) - 2"),
        (lambda: (5 * H + 2) // 4, "H + floor((H + 2)/4)"),
        (lambda: (2 * H) // 4, "floor(H/2)"),
        (lambda: (H // 2) * 2 - H + H, "2*floor(H/2)"),
        (lambda: 64 * (H // 2 - 1) * (W // 2 - 1), "64*(floor(H/2) - 1)*(floor(W/2) - 1)"),
        (lambda: H * W * 3, "3*H*W"),
    ],
)
def test_canonical_forms(build, text):
    assert str(build()) == text


def test_constants_fold_to_int():
    assert H - H == 0 and isinstance(H - H, int)
    assert (H + 3) // 1 - H == 3
    assert H % 1 == 0


def test_evaluate():
    e = 3 * ((H + 5) // 8) - 2
    assert e.evaluate({"H": 227}) == 3 * ((227 + 5) // 8) - 2
    with pytest.raises(CnnCalcError, match="no value given for W"):
        (H * W).evaluate({"H": 3})


@given(st.integers(-50, 500), st.integers(1, 40), st.integers(-20, 20), st.integers(1, 9), st.integers(1, 9))
def test_floor_division_is_exact(x, a, b, s, t):
    e = ((a * H + b) // s + b) // t - (H // s) * a + H
    assert evaluate(e, {"H": x}) == ((a * x + b) // s + b) // t - (x // s) * a + x


@given(st.integers(1, 300), st.integers(1, 40))
def test_exact_gcd(x, m):
    from math import gcd

    assert evaluate(exact_gcd(H, m), {"H": x}) == gcd(x, m)


def test_comparisons_are_decided_when_they_hold_for_every_size():
    assert (H + 6 >= 7) is True  # sizes are >= 1
    assert (H // 2 >= 5) is not True and isinstance(H // 2 >= 5, Condition)
    assert (2 * (H // 2) + 1 == H // 2) is False
    assert (H - H // 2 == (H + 1) // 2) is True
    with pytest.raises(UndecidedError, match="cannot tell whether floor\\(H/2\\) >= 5"):
        bool(H // 2 >= 5)


def test_require_records_or_raises():
    with pytest.raises(CnnCalcError, match="too small"):
        require(False, "too small")
    with pytest.raises(UndecidedError):
        require(H >= 3, "too small")  # nothing collects
    with collecting() as collector:
        require(H >= 3, "too small")
    assert [str(item.condition) for item in collector.items] == ["H >= 3"]


@pytest.mark.parametrize("truth", [1 >= 0, 3 == 3, 2 > 1, 1, "yes"])
def test_require_takes_any_true_comparison_of_whole_numbers(truth):
    """Only a Condition is recorded; any other true value passes and any false one raises, collecting or not."""
    require(truth, "never")
    with collecting() as collector:
        require(truth, "never")
    assert collector.items == []


@pytest.mark.parametrize("falsehood", [1 < 0, 0, ""])
def test_require_refuses_any_false_comparison_of_whole_numbers(falsehood):
    with pytest.raises(CnnCalcError, match="too small"):
        require(falsehood, "too small")
    with collecting(), pytest.raises(CnnCalcError, match="too small"):
        require(falsehood, "too small")


def test_symbolic_division_by_a_size_is_an_error():
    with pytest.raises(CnnCalcError, match="only be divided by a whole number"):
        H // W
    with pytest.raises(CnnCalcError, match="exact floor division"):
        H / 2


# -- propagation -------------------------------------------------------------------------------------------------
def test_resnet152_is_one_short_expression_and_fast():
    start = time.perf_counter()
    report, conditions = symbolic("resnet152")
    assert time.perf_counter() - start < 1.0
    stage4 = [layer for layer in report.layers if layer.path.startswith("layer4.")][-1]
    assert [str(size) for size in stage4.output] == ["1", "2048", "ceil(H/32)", "ceil(W/32)"]
    assert report.totals.params == 60192808  # does not depend on the input size
    assert all(item.rule == "exact" for item in conditions)


def test_alexnet_fc6_params_depend_on_the_input():
    report, _ = symbolic("alexnet")
    fc6 = next(layer for layer in report.layers if layer.path == "fc6")
    assert str(fc6.weights[0].size) == "1048576*(floor((H + 29)/32) - 2)*(floor((W + 29)/32) - 2)"
    assert str(fc6.params) == (
        "1048576*floor((H + 29)/32)*floor((W + 29)/32) - 2097152*floor((H + 29)/32) "
        "- 2097152*floor((W + 29)/32) + 4198400"
    )
    assert fc6.params.evaluate({"H": 227, "W": 227}) == 37752832


@pytest.mark.parametrize(
    "net, binding",
    [
        ("alexnet", {"H": 227, "W": 227}),
        ("alexnet", {"H": 67, "W": 300}),
        ("alexnet-torchvision", {"H": 224, "W": 100}),
        ("resnet152", {"H": 224, "W": 224}),
        ("resnet18", {"H": 1, "W": 97}),
        ("vgg16", {"H": 64, "W": 33}),
        ("unet", {"H": 48, "W": 256}),
    ],
)
def test_set_equals_concrete_propagation(net, binding):
    network = load(net, parse_input_option("3xHxW"))
    report, conditions = propagate_symbolic(network, symbol("N"))
    evaluated = evaluate_report(network, symbol("N"), report, conditions, {**binding, "N": 2})
    concrete = propagate(network._replace(input=(3, binding["H"], binding["W"])), 2)
    assert evaluated == concrete


def test_set_at_an_invalid_size_raises_the_concrete_error():
    network = load("unet", parse_input_option("3xHxW"))
    report, conditions = propagate_symbolic(network)
    with pytest.raises(CnnCalcError, match="cannot concatenate along channels") as raised:
        evaluate_report(network, 1, report, conditions, {"H": 500, "W": 512})
    assert raised.value.layer == "up2.cat"


@pytest.mark.parametrize("net", ["alexnet", "alexnet-torchvision", "resnet50", "vgg16"])
def test_at_resolutions_agree_with_the_expression(net):
    network = load(net)
    report, _ = propagate_symbolic(network._replace(input=(3, symbol("R"), symbol("R"))))
    for concrete in at_resolutions(network, [128, 160, 224, 320]):
        r = concrete.input[-1]
        assert report.totals.macs.evaluate({"R": r}) == concrete.totals.macs
        params = report.totals.params
        assert (params if isinstance(params, int) else params.evaluate({"R": r})) == concrete.totals.params


# -- the sizes analysis -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "net, minimum", [("alexnet", 67), ("alexnet-torchvision", 63), ("resnet152", 1), ("vgg16", 32), ("unet", 16)]
)
def test_minimum_sizes(net, minimum):
    _, dimensions = analyse(load(net))
    for dim in dimensions:
        assert dim.valid.minimum() == minimum


def _concrete_ok(network, x):
    """Concrete propagation accepts size x, and no add stretched a size of 1: every size of these chains depends
    on L, and a symbolic size stretches only where it is literally 1 (the analysis describes equal operands)."""
    try:
        report = propagate(network._replace(input=(network.input[0], x)))
    except CnnCalcError:
        return False
    outputs = [layer.output for layer in report.layers]
    return all(len({outputs[i] for i in layer.inputs}) == 1 for layer in report.layers if layer.kind == "add")


LAYER = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["conv", "maxpool", "avgpool", "convtranspose"]),
        "kernel": st.integers(1, 5),
        "stride": st.integers(1, 4),
        "padding": st.integers(0, 2),
        "dilation": st.integers(1, 3),
        "ceil_mode": st.booleans(),
        "skip": st.booleans(),
    }
)


def _description(layers) -> str:
    lines = ["input: [2, 50]", "layers:"]
    for i, spec in enumerate(layers):
        kind, k, s, d = spec["kind"], spec["kernel"], spec["stride"], spec["dilation"]
        p = min(spec["padding"], k // 2)
        if kind == "conv":
            lines.append(f"  - conv: {{name: l{i}, out: 2, kernel: {k}, stride: {s}, padding: {p}, dilation: {d}}}")
        elif kind == "convtranspose":
            lines.append(f"  - convtranspose: {{name: l{i}, out: 2, kernel: {k}, stride: {s}, padding: {p}}}")
        elif kind == "maxpool":
            p = min(spec["padding"], (d * (k - 1) + 1) // 2)
            lines.append(
                f"  - maxpool: {{name: l{i}, kernel: {k}, stride: {s}, padding: {p}, dilation: {d}, "
                f"ceil_mode: {str(spec['ceil_mode']).lower()}}}"
            )
        else:
            lines.append(
                f"  - avgpool: {{name: l{i}, kernel: {k}, stride: {s}, padding: {p}, "
                f"ceil_mode: {str(spec['ceil_mode']).lower()}}}"
            )
        if spec["skip"] and i:
            lines.append(f"  - add: {{name: j{i}, of: [previous, l{i - 1}]}}")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None)
@given(st.lists(LAYER, min_size=1, max_size=5), st.lists(st.integers(1, 120), min_size=3, max_size=3))
def test_random_chains_agree_with_concrete_propagation(layers, samples):
    text = _description(layers)
    network = parse_network(text, "chain.yaml")
    try:
        symbolic_network, dimensions = analyse(network)
    except CnnCalcError as error:
        assert "no input size satisfies" in error.message or "cannot" in error.message
        assert not any(_concrete_ok(network, x) for x in range(1, 200))
        return
    valid = dimensions[0].valid
    report, _ = propagate_symbolic(symbolic_network)
    for x in [*samples, *range(1, 40)]:
        ok = _concrete_ok(network, x)
        assert ok == (x in valid), (text, x)
        if ok:
            concrete = propagate(network._replace(input=(2, x)))
            for mine, theirs in zip(report.layers, concrete.layers):
                assert tuple(s if isinstance(s, int) else s.evaluate({"L": x}) for s in mine.output) == theirs.output


@settings(max_examples=100, deadline=None)
@given(st.lists(LAYER.filter(lambda spec: spec["kind"] != "convtranspose"), min_size=1, max_size=4))
def test_exact_sizes_drop_no_pixels(layers):
    network = parse_network(_description([{**spec, "skip": False} for spec in layers]), "chain.yaml")
    try:
        _, dimensions = analyse(network)
    except CnnCalcError:
        return
    exact = dimensions[0].exact
    for x in range(1, 80):
        if x not in dimensions[0].valid:
            continue
        size, drops = x, False
        for spec in layers:
            k, s = spec["kernel"], spec["stride"]
            d = spec["dilation"] if spec["kind"] != "avgpool" else 1
            p = (
                min(spec["padding"], k // 2)
                if spec["kind"] != "maxpool"
                else min(spec["padding"], (d * (k - 1) + 1) // 2)
            )
            span = d * (k - 1) + 1
            ceil = spec["ceil_mode"] and spec["kind"] != "conv"
            if not ceil and s > 1 and (size + 2 * p - span) % s:
                drops = True
            size = formulas.window_output_size(size, k, s, (p, p), d, ceil)
        assert (x in exact) == (not drops)


def test_a_network_no_size_satisfies_names_the_layer():
    text = """
input: [1, 64]
layers:
  - maxpool: {name: a, kernel: 2}
  - convtranspose: {name: b, out: 1, kernel: 2, stride: 2}
  - add: {name: even, of: [input, previous]}
  - maxpool: {name: c, kernel: 2, ceil_mode: true}
  - convtranspose: {name: d, out: 1, kernel: 1, stride: 2}
  - add: {name: odd, of: [input, previous]}
"""
    with pytest.raises(CnnCalcError, match="no input size satisfies every layer") as raised:
        analyse(parse_network(text, "bad.yaml"))
    assert raised.value.layer == "odd"
    assert "the layers before it need L = 2k" in raised.value.message


def test_an_always_unequal_merge_fails_at_once():
    text = "input: [1, H]\nlayers:\n  - maxpool: {name: a, kernel: 2}\n  - concat: {name: j, of: [previous, input]}\n"
    with pytest.raises(CnnCalcError, match="cannot concatenate") as raised:
        propagate_symbolic(parse_network(text, "bad.yaml"))
    assert raised.value.layer == "j"


def test_a_rule_symbols_cannot_express_is_an_error():
    text = "input: [1, H]\nlayers:\n  - conv: {name: a, out: 1, kernel: 1, stride: 3, padding: same}\n"
    with pytest.raises(UndecidedError, match="cannot tell whether") as raised:
        propagate_symbolic(parse_network(text, "odd.yaml"))
    assert raised.value.layer == "a"


def test_unet_params_match_torch():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def double(i, o):
        return [
            nn.Conv2d(i, o, 3, padding=1, bias=False),
            nn.BatchNorm2d(o),
            nn.ReLU(),
            nn.Conv2d(o, o, 3, padding=1, bias=False),
            nn.BatchNorm2d(o),
            nn.ReLU(),
        ]

    layers = double(3, 64)
    for i, o in ((64, 128), (128, 256), (256, 512), (512, 1024)):
        layers += [nn.MaxPool2d(2), *double(i, o)]
    for i, o in ((1024, 512), (512, 256), (256, 128), (128, 64)):
        layers += [nn.ConvTranspose2d(i, o, 2, stride=2), *double(i, o)]
    layers.append(nn.Conv2d(64, 2, 1))
    expected = sum(p.numel() for p in nn.ModuleList(layers).parameters())
    assert expected == 31037698  # milesial/Pytorch-UNet, n_channels=3, n_classes=2, bilinear=False
    assert propagate(load("unet")).totals.params == expected


# -- the issue-9 kinds with symbolic sizes ----------------------------------------------------------------------
def _symbolic_layers(text: str):
    report, conditions = propagate_symbolic(parse_network(text, "t.yaml"))
    return {layer.path: layer for layer in report.layers}, conditions


def test_broadcasting_stretches_only_a_literal_one():
    """A C x 1 x 1 gate stretches over H x W with no condition; a size that may or may not be 1 (floor(H/32))
    must equal the other size: a 'merge' condition, not a stretch."""
    layers, conditions = _symbolic_layers(
        """input: [4, H, W]
layers:
  - globalavgpool: {name: gate}
  - mul: {name: excite, of: [input, gate]}
  - maxpool: {name: small, kernel: 32}
  - adaptiveavgpool: {name: fixed, output: 7}
  - add: {name: join, of: [fixed, small]}
"""
    )
    assert layers["excite"].output == (1, 4, H, W)
    assert layers["join"].output == (1, 4, 7, 7)
    merges = [item for item in conditions if item.rule == "merge"]
    assert [(str(item.condition), item.layer) for item in merges] == [
        ("floor(H/32) = 7", "join"),
        ("floor(W/32) = 7", "join"),
    ]


def test_reflect_padding_is_a_size_condition_and_pad_adds_to_symbols():
    layers, conditions = _symbolic_layers(
        "input: [3, H, W]\nlayers:\n  - pad: {name: p, padding: [3, [0, 1]], mode: reflect}\n"
    )
    assert layers["p"].output == (1, 3, H + 6, W + 1)
    assert [(str(item.condition), item.rule) for item in conditions] == [("H > 3", "size"), ("W > 1", "size")]


def test_layout_and_per_position_kinds_carry_symbols():
    layers, conditions = _symbolic_layers(
        """input: [C, H, W]
layers:
  - permute: {name: last, dims: [1, 2, 0]}
  - layernorm: {name: ln, dim: -1}
  - linear: {name: fc, out: 8, per_position: true}
  - chunk: {name: half, chunks: 2, index: 0}
"""
    )
    C = symbol("C")
    assert layers["last"].output == (1, H, W, C)
    assert layers["ln"].params == 2 * C and layers["ln"].flops == H * W * (7 * C + 2)
    assert layers["fc"].output == (1, H, W, 8) and layers["fc"].macs == H * W * C * 8
    assert layers["half"].output == (1, floor_half_up(H), W, 8)
    assert conditions == []


def floor_half_up(size):
    return -((-size) // 2)


def test_channelshuffle_of_a_symbolic_channel_count_is_a_condition():
    _, conditions = _symbolic_layers("input: [C, H]\nlayers:\n  - channelshuffle: {name: s, groups: 4}\n")
    assert [(str(item.condition), item.rule) for item in conditions] == [("C - 4*floor(C/4) = 0", "size")]
