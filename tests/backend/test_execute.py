"""The forward pass: a kernel per kind, independence from the size formulas, whole networks, freeing, memory."""

from __future__ import annotations

import ast
import weakref
from pathlib import Path

import numpy as np
import pytest

from cnncalc.backend import crosscheck, execute, memory, weights
from cnncalc.errors import CnnCalcError
from cnncalc.load import builtin_names, load, parse_network
from cnncalc.network import INPUT
from cnncalc.propagate import propagate
from cnncalc.registry import REGISTRY

BACKEND = Path(execute.__file__).parent
DATA = Path(__file__).parent / "data"

#: Built-ins above this many MACs per sample run at 64x64 in the suite (alexnet and resnet18 stay full size).
FULL_SIZE_MACS = 2 * 10**9
#: Built-ins that cannot shrink to 64x64, with the settings they need to: inception_v3's auxiliary head needs the
#: full 299x299 (its 5x5 conv after a 5/3 pool of Mixed_6e's 17x17), and without it the smallest input is 75x75.
SMALLER = {"inception_v3": ((3, 75, 75), {"aux_logits": False})}


def suite_input(name: str):
    """The input and settings a built-in is run at: None for its own, else 64x64 with its channels (or SMALLER's)
    when it is too slow for the suite."""
    network = load(name)
    if propagate(network).totals.macs <= FULL_SIZE_MACS:
        return None
    return SMALLER.get(name, ((network.input[0], 64, 64), None))


def test_the_required_networks_run_at_full_size():
    assert suite_input("alexnet") is None and suite_input("resnet18") is None


def test_every_registered_kind_has_a_kernel():
    assert set(execute.KERNELS) == set(REGISTRY)
    assert set(execute.IN_PLACE) <= set(REGISTRY)


@pytest.mark.parametrize("module", sorted(path.name for path in BACKEND.glob("*.py")))
def test_backend_never_uses_the_size_formulas(module):
    """The cross-check is independent: no import of cnncalc.formulas and no call of a kind's output rule."""
    tree = ast.parse((BACKEND / module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert "formulas" not in (node.module or "") and all(alias.name != "formulas" for alias in node.names)
        if isinstance(node, ast.Import):
            assert all("formulas" not in alias.name for alias in node.names)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in ("output", "same_padding", "window_output_size"), ast.unparse(node)


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_runs_with_all_shapes_matching(name):
    network = load(name, *(suite_input(name) or ()))
    report = propagate(network, 2)
    result = crosscheck.run(network, report)
    assert result.mismatch is None
    assert len(result.layers) == len(network.nodes)
    assert result.output.shape == report.output
    assert np.isfinite(result.output).all()


def test_allkinds_holds_every_registered_kind():
    """allkinds.yaml is what the NumPy cross-check here and the PyTorch oracle (test_torch.py) run: a kind missing
    from it would be checked by neither."""
    assert {node.kind for node in load(str(DATA / "allkinds.yaml")).nodes} == set(REGISTRY)


@pytest.mark.parametrize("file", ["allkinds.yaml", "ranks.yaml", "volume.yaml"])
def test_every_kind_and_rank_runs_with_all_shapes_matching(file):
    network = load(str(DATA / file))
    result = crosscheck.run(network, propagate(network, 3))
    assert result.mismatch is None and len(result.layers) == len(network.nodes)


@pytest.mark.parametrize(
    "size, kernel, stride, dilation, expected",
    [
        (224, 7, 2, 1, (2, 3)),  # TensorFlow: the odd element goes after
        (10, 3, 1, 1, (1, 1)),
        (10, 4, 1, 1, (1, 2)),
        (11, 3, 2, 1, (1, 1)),
        (12, 3, 2, 1, (0, 1)),
        (5, 3, 1, 2, (2, 2)),
        (4, 1, 3, 1, (0, 0)),  # never negative
    ],
)
def test_same_padding_is_resolved_from_the_actual_size(size, kernel, stride, dilation, expected):
    assert execute.resolve_padding("same", (size,), (kernel,), (stride,), (dilation,)) == (expected,)


def test_valid_and_explicit_padding_pass_through():
    assert execute.resolve_padding("valid", (9, 9), (3, 3), (1, 1), (1, 1)) == ((0, 0), (0, 0))
    assert execute.resolve_padding(((1, 2),), (9,), (3,), (1,), (1,)) == ((1, 2),)


def test_activations_are_freed_after_their_last_reader():
    """lenet5 is a chain without in-place kinds: once layer i ran, layer i-1's output is gone."""
    network = load("lenet5")
    report = propagate(network, 2)
    arrays = weights.initialise(report)
    refs = []
    for step in execute.forward(network, arrays, crosscheck.make_input(report, 0, "float32")):
        refs.append(weakref.ref(step.output))
        del step
        assert all(ref() is None for ref in refs[:-1])


def test_last_uses_follow_the_node_inputs():
    network = load("resnet18")
    last = memory.last_uses([node.inputs for node in network.nodes])
    paths = [node.path for node in network.nodes]
    assert last[INPUT] == 0
    block_input = paths.index("layer1.0.conv1") - 1  # the maxpool feeds the block and its identity shortcut
    assert paths[last[block_input]] == "layer1.0.add"


@pytest.mark.parametrize("name, size", [("resnet18", (3, 64, 64)), (str(DATA / "allkinds.yaml"), None)])
def test_in_place_kernels_give_the_same_output(monkeypatch, name, size):
    network = load(name, size)
    report = propagate(network, 2)
    # A permute's view changes the memory layout later kernels read, hence the order of their sums: it is tested
    # on its own (test_permutes_as_views_give_the_copies_results) and left out here, so that the other in-place
    # kernels must agree to the last bit.
    monkeypatch.delitem(execute.IN_PLACE, "permute")
    in_place = crosscheck.run(network, report).output
    monkeypatch.setattr(execute, "IN_PLACE", {})
    np.testing.assert_array_equal(crosscheck.run(network, report).output, in_place)


def test_in_place_joins_give_the_same_output(monkeypatch):
    """allkinds.yaml multiplies a map no later layer reads by a gate: mul runs in place there."""
    network = load(str(DATA / "allkinds.yaml"))
    report = propagate(network, 2)
    monkeypatch.delitem(execute.IN_PLACE, "permute")  # see test_in_place_kernels_give_the_same_output
    in_place = crosscheck.run(network, report).output
    monkeypatch.setattr(execute, "IN_PLACE", {})
    np.testing.assert_array_equal(crosscheck.run(network, report).output, in_place)


def test_a_kernel_failure_names_the_layer(monkeypatch):
    def broken(a, xs, w):
        raise ValueError("weights do not fit")

    monkeypatch.setitem(execute.KERNELS, "linear", broken)
    network = load("lenet5")
    with pytest.raises(CnnCalcError) as caught:
        crosscheck.run(network, propagate(network))
    assert caught.value.layer == "c5"
    assert "the linear kernel failed on input 1x400: weights do not fit" in str(caught.value)


def test_memory_estimate_covers_weights_activations_and_im2col():
    report = propagate(load("alexnet-torchvision"), 4)
    peak = memory.estimate(report, execute.WORKSPACE)
    assert peak.weights == 4 * (report.totals.params + report.totals.buffers)
    # conv1 of batch 4: input 4x3x224x224 and output 4x64x55x55 live, im2col 4x(3*11*11)x(55*55) columns
    conv1 = 4 * (4 * 3 * 224 * 224 + 4 * 64 * 55 * 55) + 4 * (4 * 3 * 121 * 55 * 55 + 4 * 3 * 224 * 224)
    assert peak.arrays >= peak.weights + conv1
    assert (
        peak.peak == memory.OVERHEAD + peak.arrays == memory.OVERHEAD + peak.weights + peak.activations + peak.workspace
    )
    assert memory.estimate(report, execute.WORKSPACE, "float64").arrays == 2 * peak.arrays


def measured_peak(network, report) -> int:
    """The peak of the arrays a run allocates, as tracemalloc sees NumPy's allocations (run after a first run, so
    that lazy imports are not counted)."""
    import tracemalloc

    tracemalloc.start()
    try:
        crosscheck.run(network, report)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_estimate_bounds_the_measured_peak():
    """tracemalloc sees NumPy's allocations: the estimate of the arrays is within a few percent of the real peak.

    The measured peak also holds small Python objects and NumPy temporaries the estimate does not model, so the
    check allows 3% above it (the overhead allowance of the full estimate covers that in a real run).
    """
    network = load("resnet18", (3, 96, 96))
    report = propagate(network, 2)
    crosscheck.run(network, report)  # first, so that lazy imports are not counted
    measured = measured_peak(network, report)
    arrays = memory.estimate(report, execute.WORKSPACE).arrays
    assert 0.8 * arrays <= measured <= 1.03 * arrays


FUSIBLE = """name: t
input: [4, 12, 12]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - batchnorm
  - relu
  - conv: {out: 8, kernel: 1, name: c2}
  - batchnorm: {name: shared}
  - relu6: {name: r6}
  - add: [shared, r6]
  - batchnorm
  - silu
  - batchnorm
  - relu
"""


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_batch_norm_and_activation_equal_the_separate_kernels(monkeypatch, dtype):
    """conv -> bn -> relu, bn -> silu and the last bn -> relu (the output) fuse; a batch norm read by two layers
    does not, nor one that is itself an output. The output equals that of the run without fusion exactly, every
    layer's shape is checked, and the activation of a fused pair yields the batch norm's own array."""
    network = parse_network(FUSIBLE, "t.yaml")
    report = propagate(network, 2)
    kept = {len(network.nodes) - 1}
    pairs = execute.fused_pairs(network.nodes, kept)
    assert pairs == {1: 2, 7: 8, 9: 10}
    assert execute.fused_pairs(network.nodes, kept | {1}) == {7: 8, 9: 10}
    arrays = weights.initialise(report, 0, dtype)
    x = crosscheck.make_input(report, 0, dtype)
    fused = {step.index: step.output.copy() for step in execute.forward(network, arrays, x.copy())}
    same = [step.output is previous for previous, step in _pairs(execute.forward(network, arrays, x.copy()))]
    assert same[2] and same[8] and same[10] and not same[5]
    monkeypatch.setattr(execute, "FUSED", {})
    assert execute.fused_pairs(network.nodes, kept) == {}
    separate = {step.index: step.output.copy() for step in execute.forward(network, arrays, x.copy())}
    np.testing.assert_array_equal(fused[len(network.nodes) - 1], separate[len(network.nodes) - 1])
    for index in (2, 5, 8):  # the activations yield what the separate kernels computed
        np.testing.assert_array_equal(fused[index], separate[index])
    assert crosscheck.run(network, report, dtype=dtype).mismatch is None


def _pairs(steps):
    """(the previous step's output, the step) for each step, the first paired with None."""
    previous = None
    for step in steps:
        yield previous, step
        previous = step.output


CHANNELS_LAST = """name: t
input: [6, 5, 7]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, groups: 2, name: dw}
  - permute: [1, 2, 0]
  - layernorm: {dim: -1, eps: 1.0e-6}
  - linear: {out: 12, per_position: true}
  - gelu
  - linear: {out: 8, per_position: true}
  - permute: [2, 0, 1]
  - scale
  - add: [dw, previous]
"""


@pytest.mark.parametrize("batch", [1, 3])
def test_permutes_as_views_give_the_copies_results(monkeypatch, batch):
    """ConvNeXt's block: a permute whose input no other layer reads passes a transposed view on (the first one
    here, whose input the residual add also reads, copies); layer norm and the per-position linear layers take
    the strided arrays, and every layer's values equal those of the run with copying permutes."""
    network = parse_network(CHANNELS_LAST, "t.yaml")
    report = propagate(network, batch)
    arrays = weights.initialise(report, 0, "float64")
    x = crosscheck.make_input(report, 0, "float64")
    views = {
        step.index: (step.output.copy(), step.output.flags.c_contiguous)
        for step in execute.forward(network, arrays, x.copy())
    }
    assert views[1][1] and not views[6][1]  # the first permute copies, the second is a view
    monkeypatch.setitem(execute.IN_PLACE, "permute", execute.KERNELS["permute"])
    copies = {step.index: step.output.copy() for step in execute.forward(network, arrays, x.copy())}
    for index, (array, _) in views.items():
        np.testing.assert_allclose(array, copies[index], rtol=1e-13, atol=1e-13)
    assert crosscheck.run(network, report, dtype="float64").mismatch is None


ACTIVATIONS = "name: t\ninput: [16, 48, 48]\nlayers:\n" + "".join(
    f"  - {layer}\n"
    for layer in (
        "relu6",
        "hardsigmoid",
        "hardswish",
        "elu",
        "mish",
        "prelu: 16",
        "scale",
        "stochasticdepth: 0.1",
        "gelu",
        "silu",
        "batchnorm",
        "silu",
        "batchnorm",
        "relu",
    )
)


@pytest.mark.parametrize("in_place", [True, False])
def test_memory_estimate_bounds_the_temporaries_of_the_activations(monkeypatch, in_place):
    """prelu, elu and mish hold a max(x, 0) temporary beside their output, gelu and silu a few blocks of work
    arrays (WORKSPACE); the others none."""
    if not in_place:
        monkeypatch.setattr(execute, "IN_PLACE", {})
    network = parse_network(ACTIVATIONS, "t.yaml")
    report = propagate(network, 2)
    measured = measured_peak(network, report)
    assert measured <= 1.03 * memory.estimate(report, execute.WORKSPACE).arrays


@pytest.mark.parametrize(
    "layers",
    [
        ["pad: {padding: [[8, 20], 30], mode: reflect}"],
        ["pad: {padding: [[8, 20], 30], mode: replicate}"],
        ["pad: {padding: [1, 2], value: 1}"],
        ["layernorm"],
        ["layernorm: -1"],
        ["permute: [1, 2, 0]"],
        ["linear: {out: 64, per_position: true}"],
        ["channelshuffle: 4"],
        ["chunk: {chunks: 3, index: 1}"],
        ["globalavgpool: {name: g}", "mul: [input, g]"],
        ["globalavgpool: {name: g}", "mul: [g, input, g]"],
        ["globalavgpool: {name: g}", "add: [g, input]"],
    ],
    ids=lambda layers: layers[-1],
)
def test_memory_estimate_bounds_the_new_kernels(layers):
    """Each kernel alone on the input, so that its own allocations make the peak (NumPy's fixed ufunc buffers,
    some 32 KiB, are within the 3% the resnet18 check above allows)."""
    text = "name: t\ninput: [16, 96, 96]\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)
    network = parse_network(text, "t.yaml")
    report = propagate(network, 4)
    crosscheck.run(network, report)
    measured = measured_peak(network, report)
    assert measured <= 1.03 * memory.estimate(report, execute.WORKSPACE).arrays


def test_runs_above_the_limit_are_refused_before_allocating():
    network = load("vgg16")
    report = propagate(network, 64)
    with pytest.raises(CnnCalcError, match=r"the run needs an estimated .* GiB .* above --max-memory 4.00 GiB"):
        crosscheck.run(network, report)
