"""The NumPy backend on a network with auxiliary outputs: every output computed, kept, checked and saved."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnncalc.backend import crosscheck, memory
from cnncalc.backend.execute import WORKSPACE, forward
from cnncalc.backend.weights import expected, initialise
from cnncalc.load import parse_network
from cnncalc.propagate import propagate

HEAD = "input: [3, 12, 12]\nlayers:\n  - conv: {name: conv1, out: 6, kernel: 3, padding: 1}\n"
AUX1 = "globalavgpool, flatten, linear: {name: fc, out: 4}"
# aux2 starts with a ReLU on the main output: an in-place kernel there would overwrite the main output
AUX = (
    HEAD
    + f"  - aux: {{name: aux1, layers: [{AUX1}]}}\n"
    + "  - conv: {name: conv2, out: 5, kernel: 3, stride: 2, padding: 1}\n"
    + "  - aux: {name: aux2, layers: [relu, maxpool: 2, flatten, linear: {name: fc, out: 3}]}\n"
)
# the same layers at the same paths, each head as the main path of its own network
AS_AUX1 = HEAD + f"  - group: {{name: aux1, layers: [{AUX1}]}}\n"
AS_MAIN = HEAD + "  - conv: {name: conv2, out: 5, kernel: 3, stride: 2, padding: 1}\n"
AS_AUX2 = AS_MAIN + "  - group: {name: aux2, layers: [relu, maxpool: 2, flatten, linear: {name: fc, out: 3}]}\n"


def run(text: str, weights_file: str, **options):
    network = parse_network(text, "t.yaml")
    return crosscheck.run(network, propagate(network, 2), weights_file=weights_file, dtype="float64", **options)


def test_every_output_equals_the_same_layers_run_as_a_main_path(tmp_path):
    arrays = initialise(propagate(parse_network(AUX, "t.yaml")), seed=3, dtype="float64")
    weights = tmp_path / "w.npz"
    np.savez(weights, **arrays)
    result = run(AUX, str(weights))
    assert result.mismatch is None
    assert [(path, aux, array.shape) for path, aux, array in result.outputs] == [
        ("conv2", None, (2, 5, 6, 6)),
        ("aux1.fc", "aux1", (2, 4)),
        ("aux2.fc", "aux2", (2, 3)),
    ]
    assert result.output is result.outputs[0][2] and result.finite
    for (_, _, array), alone in zip(result.outputs, (AS_MAIN, AS_AUX1, AS_AUX2)):
        keys = {weight.key for weight in expected(propagate(parse_network(alone, "t.yaml")))}
        np.savez(tmp_path / "part.npz", **{key: value for key, value in arrays.items() if key in keys})
        np.testing.assert_array_equal(array, run(alone, str(tmp_path / "part.npz")).output)


def test_save_output_writes_each_output(cli, tmp_path):
    path = tmp_path / "aux.yaml"
    path.write_text(AUX)
    result = cli("run", str(path), "--save-output", str(tmp_path / "out.npy"), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [(out["path"], out["aux"], out["shape"]) for out in document["outputs"]] == [
        ("conv2", None, [1, 5, 6, 6]),
        ("aux1.fc", "aux1", [1, 4]),
        ("aux2.fc", "aux2", [1, 3]),
    ]
    assert all(out["finite"] for out in document["outputs"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aux.yaml", "out.aux1.npy", "out.aux2.npy", "out.npy"]
    assert np.load(tmp_path / "out.npy").shape == (1, 5, 6, 6)
    assert np.load(tmp_path / "out.aux2.npy").shape == (1, 3)
    table = cli("run", str(path)).stdout
    assert "outputs      conv2 1x5x6x6, aux1.fc 1x4, aux2.fc 1x3" in table


def test_check_execute_runs_the_aux_heads(cli, tmp_path):
    path = tmp_path / "aux.yaml"
    path.write_text(AUX)
    result = cli("check", str(path), "--execute")
    assert result.exit_code == 0, result.output
    assert f"executed: {len(parse_network(AUX, 't.yaml').nodes)} shapes match" in result.stdout


def test_memory_estimate_keeps_every_output_alive():
    report = propagate(parse_network(AUX, "t.yaml"), 2)
    outputs = {out.index for out in report.outputs}
    estimate = memory.estimate(report, WORKSPACE)
    # the last layer's moment holds at least every output (the main one and the finished aux1 head)
    held = sum(int(np.prod(report.layers[index].output)) for index in outputs) * 4
    assert estimate.activations >= held


def test_every_output_matches_pytorch():
    torch = pytest.importorskip("torch")
    from torch_model import TorchModel  # needs torch

    network = parse_network(AUX, "t.yaml")
    model = TorchModel(network, torch.float64)
    model.randomise(0)
    arrays = {key: tensor.numpy() for key, tensor in model.state_dict().items()}
    x = np.random.default_rng(0).standard_normal((2, 3, 12, 12))
    expected_outputs = model.outputs(x)
    report = propagate(network, 2)
    ran = {step.index: step.output.copy() for step in forward(network, arrays, x)}
    assert len(expected_outputs) == len(report.outputs) == 3
    for out, reference in zip(report.outputs, expected_outputs):
        np.testing.assert_allclose(ran[out.index], reference, rtol=1e-9, atol=1e-12)
