"""torchvision itself as the oracle of every built-in named after one of its models.

Always: params and MACs equal the published figures (tests/reference/torchvision.csv, a copy of the project's
reference kept current by test_references.py). With torch and torchvision installed: our weight keys and shapes
equal the torchvision model's state_dict, and our NumPy backend, run in float64 (batch 1, at the published input,
or at half its sides above 5 GMACs) on that model's random weights (batch-norm statistics and constant-initialised
parameters randomised too), gives the model's own outputs, and the shape of every torchvision module whose name is
one of our layer paths.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cnncalc.backend import crosscheck, weights
from cnncalc.load import builtin_names, load
from cnncalc.propagate import propagate

REFERENCE = Path(__file__).parent / "reference" / "torchvision.csv"

#: Built-ins whose torchvision model has another name. Our ``alexnet`` is the original AlexNet (compared with its
#: paper in test_references.py), not torchvision's.
RENAMED = {"alexnet-torchvision": "alexnet"}
NOT_TORCHVISION = {"alexnet"}

#: Built-ins that are no torchvision model, and where their figures are checked instead.
OTHER_BUILTINS = {"alexnet": "test_references.py", "lenet5": "test_references.py", "unet": "backend/test_torch.py"}

#: torchvision builder arguments that match our descriptions' defaults: googlenet without its auxiliary
#: classifiers (the CSV's 6,624,904 params), inception_v3 with its one. Weights are drawn by PyTorch anyway.
BUILD_ARGUMENTS = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": True, "init_weights": False},
}


def reference() -> dict[str, dict]:
    with open(REFERENCE, newline="") as handle:
        return {row["model"]: row for row in csv.DictReader(handle)}


def torchvision_builtins() -> list[tuple[str, str]]:
    """(built-in name, torchvision model name) for every built-in that is a model of the CSV."""
    models = reference()
    pairs = [(name, RENAMED.get(name, name)) for name in builtin_names() if name not in NOT_TORCHVISION]
    return [(name, model) for name, model in pairs if model in models]


BUILTINS = torchvision_builtins()
IDS = [name for name, _ in BUILTINS]


# -- without torch ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("builtin, model", BUILTINS, ids=IDS)
def test_params_and_macs_equal_the_published_figures(builtin, model):
    expected = reference()[model]
    report = propagate(load(builtin))
    assert "x".join(map(str, report.input[1:])) == expected["input"]
    assert (report.totals.params, report.totals.macs) == (int(expected["params"]), int(expected["macs"]))


def test_every_builtin_is_compared_with_a_reference():
    compared = {name for name, _ in BUILTINS}
    assert {"alexnet-torchvision", "resnet50", "vgg16"} <= compared
    assert set(builtin_names()) - compared == set(OTHER_BUILTINS) & set(builtin_names())


# -- against torchvision --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    torch.set_num_threads(2)
    return torch


def build(torch, model: str, device: str = "cpu"):
    """torchvision's model, with PyTorch's random initialisation (seeded), in eval mode."""
    import torchvision

    torch.manual_seed(0)
    with torch.device(device):
        return getattr(torchvision.models, model)(weights=None, **BUILD_ARGUMENTS.get(model, {})).eval()


def randomise(torch, module) -> None:
    """Make every tensor that torchvision initialises to a constant random, so that none is an identity by
    accident: batch-norm statistics (mean normal with std 0.1, variance uniform in [0.5, 1.5)), scales such as
    batch-norm weights and layer scales (uniform in [0.5, 1.5)), and biases (uniform in [-0.05, 0.05))."""
    with torch.no_grad():
        for key, tensor in module.state_dict(keep_vars=True).items():
            if not tensor.is_floating_point() or tensor.numel() == 0:
                continue
            if key.endswith("running_mean"):
                tensor.normal_(0.0, 0.1)
            elif bool((tensor == tensor.flatten()[0]).all()):
                if float(tensor.flatten()[0]) == 0.0:
                    tensor.uniform_(-0.05, 0.05)
                else:
                    tensor.uniform_(0.5, 1.5)


def state_dict_shapes(model) -> dict[str, tuple]:
    return {
        key: tuple(tensor.shape)
        for key, tensor in model.state_dict().items()
        if not key.endswith(weights.IGNORED_SUFFIX)
    }


@pytest.mark.parametrize("builtin, model", BUILTINS, ids=IDS)
def test_weight_keys_and_shapes_equal_the_torchvision_state_dict(torch, builtin, model):
    ours = {weight.key: weight.shape for weight in weights.expected(propagate(load(builtin)))}
    try:
        built = build(torch, model, "meta")  # no memory, no initialisation
    except NotImplementedError:  # a constructor that copies data (RegNet's width computation) needs a real device
        built = build(torch, model)
    theirs = state_dict_shapes(built)
    assert sorted(set(ours) - set(theirs)) == [] and sorted(set(theirs) - set(ours)) == []
    assert ours == theirs


def record_outputs(torch, model, keep: set[str]) -> tuple[dict[str, list[tuple]], dict]:
    """Forward hooks on every module: module name -> the shapes of the tensors it returned (one per call), and
    the tensors themselves of the modules named in ``keep``."""
    shapes: dict[str, list[tuple]] = {}
    tensors: dict = {}

    def hook(name):
        def record(module, inputs, output):
            if isinstance(output, torch.Tensor):
                shapes.setdefault(name, []).append(tuple(output.shape))
                if name in keep:
                    tensors[name] = output

        return record

    for name, module in model.named_modules():
        if name:
            module.register_forward_hook(hook(name))
    return shapes, tensors


def aux_feeds(network, report, modules: set[str]) -> dict[str, str]:
    """Auxiliary head (its group path, a torchvision module name) -> the torchvision module whose output it reads:
    the layer before the head, or the innermost enclosing group of which that layer is the last."""
    feeds = {}
    paths = [node.path for node in network.nodes]
    for output in report.outputs[1:]:
        first = next(node for node in network.nodes if node.path.startswith(output.aux + "."))
        feeding = paths[first.inputs[0]]
        before = paths[: paths.index(feeding) + 1]
        parts = feeding.split(".")
        for size in range(len(parts), 0, -1):
            prefix = ".".join(parts[:size])
            last = [path for path in before if path == prefix or path.startswith(prefix + ".")][-1]
            if prefix in modules and last == feeding:
                feeds[output.aux] = prefix
                break
    return feeds


#: Above this many MACs at its own input, a network is run at half its input's sides (a quarter of the work,
#: with two float64 forward passes per network); the cheaper ones, SqueezeNet's and GoogLeNet's ceil-mode
#: poolings among them, run at exactly the published input. So do networks with auxiliary heads: inception_v3's
#: AuxLogits needs its full-size maps (a 5x5 convolution on Mixed_6e's 17x17, pooled to 5x5).
FULL_SIZE_MACS = 5 * 10**9


def oracle_input(builtin: str) -> tuple | None:
    """The input a built-in is compared at: its own (None), or half its spatial sizes when it is expensive."""
    network = load(builtin)
    report = propagate(network)
    if report.totals.macs <= FULL_SIZE_MACS or len(report.outputs) > 1:
        return None
    return (network.input[0], *(size // 2 for size in network.input[1:]))


def test_the_oracle_runs_the_cheap_networks_and_the_ceil_mode_ones_at_their_own_input():
    assert [oracle_input(name) for name in ("resnet50", "squeezenet1_0", "alexnet-torchvision")] == [None] * 3
    assert oracle_input("vgg16") == (3, 112, 112)
    assert oracle_input("inception_v3") is None  # above 5 GMACs, but its auxiliary head needs the full size


def run_both(torch, builtin: str, model: str, tmp_path: Path, suffix: str = ".npz"):
    """What our float64 run on torchvision's weights and input must give: torchvision's outputs (main first, then
    each auxiliary head's, computed by its module on what it reads, since eval mode skips it) and the shapes its
    modules returned."""
    network = load(builtin, oracle_input(builtin))
    report = propagate(network, 1, "float64")
    oracle = build(torch, model)
    randomise(torch, oracle)
    # Saved in float32, as checkpoints are (half the bytes to write and read); float64 holds them exactly, so
    # both runs use the same weights.
    save_state_dict(oracle.state_dict(), tmp_path / f"weights{suffix}")
    oracle.double()
    data = np.random.default_rng(0).standard_normal((1, *network.input))
    np.save(tmp_path / "input.npy", data)
    feeds = aux_feeds(network, report, {name for name, _ in oracle.named_modules()})
    shapes, tensors = record_outputs(torch, oracle, set(feeds.values()))
    with torch.no_grad():
        expected = [oracle(torch.from_numpy(data)).numpy()]
        for aux, feed in feeds.items():
            expected.append(oracle.get_submodule(aux)(tensors[feed]).numpy())
    return network, report, expected, shapes


def save_state_dict(state_dict, path: Path) -> None:
    """The conversions of docs/execution.md."""
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state_dict, str(path))
    else:
        np.savez(path, **{key: tensor.numpy() for key, tensor in state_dict.items()})


def assert_same_output(ours: np.ndarray, theirs: np.ndarray) -> None:
    """1e-9 relative, with an absolute floor at 1e-9 of the output's scale (float64 sums in another order)."""
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9 * float(np.abs(theirs).max()))


@pytest.mark.parametrize("builtin, model", BUILTINS, ids=IDS)
def test_float64_run_equals_torchvision(torch, builtin, model, tmp_path):
    network, report, expected, shapes = run_both(torch, builtin, model, tmp_path)
    result = crosscheck.run(
        network,
        report,
        weights_file=str(tmp_path / "weights.npz"),
        input_file=str(tmp_path / "input.npy"),
        dtype="float64",
        max_memory="8GiB",
    )
    assert result.mismatch is None
    compared = set()
    for layer in result.layers:
        if layer.path in shapes:
            assert layer.executed in shapes[layer.path], layer.path
            compared.add(layer.path)
    # Every layer with weights is a torchvision module (the keys are equal), so each is compared, unless
    # torchvision skips its module in eval mode (an auxiliary classifier: its whole subtree never runs). A layer
    # whose array is keyed by its path alone (ConvNeXt's layer_scale) is a parameter of torchvision's, no module.
    weighted = {weight.layer for weight in weights.expected(report) if weight.key != weight.layer}
    skipped = {path for path in weighted - compared if path.split(".")[0] not in shapes}
    assert weighted - compared == skipped
    assert compared
    assert len(result.outputs) == len(expected) == max(1, len(report.outputs))
    for (_, _, ours), theirs in zip(result.outputs, expected):
        assert_same_output(ours, theirs)


def test_safetensors_state_dict_runs_through_the_cli(torch, cli, tmp_path):
    """resnet18's state_dict saved with safetensors.torch, run by `cnncalc run --weights x.safetensors`."""
    pytest.importorskip("safetensors")
    _, _, (expected,), _ = run_both(torch, "resnet18", "resnet18", tmp_path, ".safetensors")
    result = cli(
        "run",
        "resnet18",
        "--dtype",
        "float64",
        "--weights",
        str(tmp_path / "weights.safetensors"),
        "--input-data",
        str(tmp_path / "input.npy"),
        "--save-output",
        str(tmp_path / "output.npy"),
    )
    assert result.exit_code == 0, result.output
    assert "all 69 shapes match" in result.stdout
    assert_same_output(np.load(tmp_path / "output.npy"), expected)
