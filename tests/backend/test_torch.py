"""The NumPy forward pass against PyTorch: same network, same weights, same input, same output (1e-4 relative)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch_model import TorchModel, parameter_count  # noqa: E402  (needs torch)

from cnncalc.backend import crosscheck, weights  # noqa: E402
from cnncalc.load import load  # noqa: E402
from cnncalc.propagate import propagate  # noqa: E402

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, scope="module")
def _threads():
    torch.set_num_threads(2)


def assert_same_output(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Float32 agreement: 1e-4 relative, with an absolute floor at 1e-4 of the output's scale."""
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * float(np.abs(theirs).max()))


@pytest.mark.parametrize(
    "name",
    [
        "alexnet",
        "alexnet-torchvision",
        "resnet18",
        "lenet5",
        str(DATA / "allkinds.yaml"),
        str(DATA / "ranks.yaml"),
        str(DATA / "volume.yaml"),
    ],
)
def test_same_output_as_pytorch_with_cnncalc_weights(name):
    network = load(name)
    report = propagate(network, 2)
    result = crosscheck.run(network, report, seed=3)
    assert result.mismatch is None
    model = TorchModel(network)
    assert parameter_count(model) == report.totals.params
    model.load(weights.initialise(report, seed=3))
    assert_same_output(result.output, model(crosscheck.make_input(report, 3, "float32")))


@pytest.mark.parametrize("name, size", [("resnet18", (3, 64, 64)), (str(DATA / "allkinds.yaml"), None)])
def test_float64_run_matches_pytorch_in_float64(name, size):
    network = load(name, size)
    report = propagate(network, 1, "float64")
    result = crosscheck.run(network, report, seed=1, dtype="float64")
    assert result.output.dtype == np.float64
    model = TorchModel(network, torch.float64)
    model.load(weights.initialise(report, seed=1, dtype="float64"))
    np.testing.assert_allclose(result.output, model(crosscheck.make_input(report, 1, "float64")), rtol=1e-10)


def save_state_dict(model: TorchModel, path: Path) -> None:
    """The conversion snippet of docs/execution.md, applied to the oracle's state_dict."""
    state_dict = model.state_dict()
    np.savez(path, **{key: tensor.detach().cpu().numpy() for key, tensor in state_dict.items()})


@pytest.mark.parametrize("name", ["resnet18", "alexnet-torchvision", str(DATA / "allkinds.yaml")])
def test_cli_run_with_pytorch_weights_and_data(cli, tmp_path, name):
    """A torch state_dict saved as .npz, a given input and --save-output: the saved output is PyTorch's.
    allkinds holds a layer scale, whose key is its path alone (``block.layer_scale``), as in torchvision."""
    network = load(name)
    model = TorchModel(network)
    model.randomise(seed=5)
    save_state_dict(model, tmp_path / "weights.npz")
    data = np.random.default_rng(0).standard_normal((2, *network.input)).astype(np.float32)
    np.save(tmp_path / "input.npy", data)
    result = cli(
        "run",
        name,
        "--batch",
        "2",
        "--weights",
        str(tmp_path / "weights.npz"),
        "--input-data",
        str(tmp_path / "input.npy"),
        "--save-output",
        str(tmp_path / "out.npy"),
    )
    assert result.exit_code == 0, result.output
    assert_same_output(np.load(tmp_path / "out.npy"), model(data))
