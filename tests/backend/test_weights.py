"""Weights: the expected keys, `cnncalc weights`, seeded initialisation, and every error of a weights file."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cnncalc.backend import weights
from cnncalc.errors import CnnCalcError
from cnncalc.load import load, parse_network
from cnncalc.propagate import propagate


def lenet_arrays(seed=0):
    return weights.initialise(propagate(load("lenet5")), seed)


def test_expected_keys_follow_pytorch_names_and_the_propagated_shapes():
    report = propagate(load("resnet18"))
    keys = {weight.key: weight for weight in weights.expected(report)}
    assert keys["conv1.weight"].shape == (64, 3, 7, 7)
    assert keys["layer2.0.downsample.0.weight"].shape == (128, 64, 1, 1)
    assert [keys[f"bn1.{name}"].trainable for name in ("weight", "bias", "running_mean", "running_var")] == [
        True,
        True,
        False,
        False,
    ]
    assert sum(w.size for w in keys.values() if w.trainable) == report.totals.params
    assert sum(w.size for w in keys.values() if not w.trainable) == report.totals.buffers


def test_weights_command_lists_keys_and_shapes(cli):
    result = cli("weights", "lenet5")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert any(line.split()[:3] == ["c1.weight", "6x1x5x5", "150"] for line in lines)
    assert any(line.split()[:2] == ["output.bias", "10"] for line in lines)
    assert "61,706" in result.stdout


def test_weights_command_json(cli):
    result = cli("weights", "resnet18", "--format", "json", "--input", "3x64x64")
    document = json.loads(result.stdout)
    assert document["name"] == "resnet18"
    first = document["weights"][0]
    assert first == {"key": "conv1.weight", "shape": [64, 3, 7, 7], "size": 9408, "trainable": True}
    assert document["total"] == sum(weight["size"] for weight in document["weights"])


def test_weights_command_does_not_import_numpy():
    code = (
        "import sys\nfrom cnncalc.cli import app\ntry:\n    app(['weights', 'resnet50'])\n"
        "except SystemExit as exit:\n    assert not exit.code\nassert 'numpy' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_weights_command_reports_an_invalid_network(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 9}\n")
    result = cli("weights", str(bad))
    assert result.exit_code == 1
    assert "kernel 9 is larger than the padded input 8" in result.stderr


def test_initialisation_is_deterministic_per_seed():
    first, again, other = lenet_arrays(0), lenet_arrays(0), lenet_arrays(1)
    assert all(np.array_equal(first[key], again[key]) for key in first)
    assert not np.array_equal(first["c1.weight"], other["c1.weight"])
    assert all(array.dtype == np.float32 for array in first.values())


def test_initialisation_statistics():
    arrays = weights.initialise(propagate(load("resnet18")), 0)
    conv = arrays["layer3.0.conv2.weight"]  # fan-in 256 x 3 x 3
    assert conv.std() == pytest.approx(np.sqrt(2 / (256 * 9)), rel=0.02)
    assert abs(arrays["fc.bias"]).max() <= 0.05
    assert 0.5 <= arrays["bn1.weight"].min() and arrays["bn1.weight"].max() < 1.5
    assert 0.5 <= arrays["bn1.running_var"].min() and arrays["bn1.running_var"].max() < 1.5
    assert arrays["layer4.1.bn2.running_mean"].std() == pytest.approx(0.1, rel=0.2)


def test_float64_initialisation_has_the_same_values():
    report = propagate(load("lenet5"))
    single, double = weights.initialise(report, 4), weights.initialise(report, 4, "float64")
    assert double["c3.weight"].dtype == np.float64
    np.testing.assert_array_equal(double["c3.weight"], single["c3.weight"])


def save(path, arrays):
    np.savez(path, **arrays)
    return str(path)


def test_a_complete_file_loads_and_num_batches_tracked_is_ignored(tmp_path):
    report = propagate(load("resnet18", (3, 32, 32)))
    arrays = weights.initialise(report, 2)
    arrays["bn1.num_batches_tracked"] = np.array(7)
    loaded = weights.load(save(tmp_path / "w.npz", arrays), report, "float64")
    assert loaded.keys() == arrays.keys() - {"bn1.num_batches_tracked"}
    assert loaded["conv1.weight"].dtype == np.float64
    np.testing.assert_array_equal(loaded["conv1.weight"], arrays["conv1.weight"])


def run_with(cli, tmp_path, arrays):
    return cli("run", "lenet5", "--weights", save(tmp_path / "w.npz", arrays))


def test_missing_array_is_named_with_its_expected_shape(cli, tmp_path):
    arrays = lenet_arrays()
    del arrays["c3.weight"]
    result = run_with(cli, tmp_path, arrays)
    assert result.exit_code == 1
    assert "missing array 'c3.weight' (expected shape 16x6x5x5) [c3]" in result.stderr


def test_extra_array_is_named_with_its_shape(cli, tmp_path):
    arrays = lenet_arrays()
    arrays["c3.wieght"] = np.zeros((2, 3), np.float32)
    result = run_with(cli, tmp_path, arrays)
    assert result.exit_code == 1
    assert (
        "unexpected array 'c3.wieght' (shape 2x3): the network has no such weight (did you mean 'c3.weight'?)"
    ) in result.stderr


def test_mis_shaped_array_is_named_with_both_shapes(cli, tmp_path):
    arrays = lenet_arrays()
    arrays["f6.weight"] = arrays["f6.weight"].T
    result = run_with(cli, tmp_path, arrays)
    assert result.exit_code == 1
    assert "array 'f6.weight' has shape 120x84, expected 84x120 [f6]" in result.stderr
    assert "Traceback" not in result.output


def test_non_numeric_array_is_refused(tmp_path):
    arrays = lenet_arrays()
    arrays["c1.bias"] = np.array(["a"] * 6)
    with pytest.raises(CnnCalcError, match="array 'c1.bias' holds <U1, not numbers"):
        weights.load(save(tmp_path / "w.npz", arrays), propagate(load("lenet5")))


def test_a_missing_weights_file_is_a_usage_error(cli, tmp_path):
    result = cli("run", "lenet5", "--weights", str(tmp_path / "nope.npz"))
    assert result.exit_code == 2
    assert "no such weights file" in result.stderr


@pytest.mark.parametrize(
    "content, message", [(b"not a zip", "cannot read weights file"), (None, "holds a single array")]
)
def test_a_weights_file_that_is_no_npz_is_refused(cli, tmp_path, content, message):
    path = tmp_path / "w.npz"
    if content is None:
        with open(path, "wb") as stream:
            np.save(stream, np.zeros(3))
    else:
        path.write_bytes(content)
    result = cli("run", "lenet5", "--weights", str(path))
    assert result.exit_code == 1
    assert message in result.stderr


# -- .safetensors -----------------------------------------------------------------------------------------------


def save_safetensors(path, arrays):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    safetensors_numpy.save_file({key: np.ascontiguousarray(array) for key, array in arrays.items()}, str(path))
    return str(path)


def test_a_safetensors_file_loads_like_an_npz(tmp_path):
    report = propagate(load("resnet18", (3, 32, 32)))
    arrays = weights.initialise(report, 2)
    arrays["bn1.num_batches_tracked"] = np.array(7)
    loaded = weights.load(save_safetensors(tmp_path / "w.safetensors", arrays), report, "float64")
    assert loaded.keys() == arrays.keys() - {"bn1.num_batches_tracked"}
    assert loaded["conv1.weight"].dtype == np.float64
    np.testing.assert_array_equal(loaded["conv1.weight"], arrays["conv1.weight"])


@pytest.mark.parametrize(
    "change, message",
    [
        ("missing", "missing array 'c3.weight' (expected shape 16x6x5x5) [c3]"),
        (
            "extra",
            "unexpected array 'c3.wieght' (shape 2x3): the network has no such weight (did you mean 'c3.weight'?)",
        ),
        ("transposed", "array 'f6.weight' has shape 120x84, expected 84x120 [f6]"),
    ],
)
def test_safetensors_errors_name_the_key_and_shapes(cli, tmp_path, change, message):
    arrays = lenet_arrays()
    if change == "missing":
        del arrays["c3.weight"]
    elif change == "extra":
        arrays["c3.wieght"] = np.zeros((2, 3), np.float32)
    else:
        arrays["f6.weight"] = arrays["f6.weight"].T
    result = cli("run", "lenet5", "--weights", save_safetensors(tmp_path / "w.safetensors", arrays))
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def write_raw_safetensors(path, tensors: dict) -> str:
    """A .safetensors file written by hand (an 8-byte header length, a JSON header, the data): for dtypes NumPy
    lacks. ``tensors`` maps a key to (dtype, shape, raw bytes)."""
    header, data = {}, b""
    for key, (dtype, shape, raw) in tensors.items():
        header[key] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)
    return str(path)


def test_a_safetensors_dtype_numpy_cannot_read_is_named(tmp_path):
    pytest.importorskip("safetensors")
    report = propagate(load("lenet5"))
    tensors = {key: ("F32", array.shape, array.tobytes()) for key, array in lenet_arrays().items()}
    tensors["c1.bias"] = ("BF16", (6,), bytes(12))
    with pytest.raises(CnnCalcError, match=r"cannot read array 'c1.bias' \(BF16\)"):
        weights.load(write_raw_safetensors(tmp_path / "w.safetensors", tensors), report)


def test_safetensors_shapes_are_checked_from_the_header_before_any_array_is_read(tmp_path):
    """The first array cannot be read (bfloat16) and the last has the wrong shape: the shape is what is reported."""
    pytest.importorskip("safetensors")
    arrays = lenet_arrays()
    tensors = {key: ("F32", array.shape, array.tobytes()) for key, array in arrays.items()}
    tensors["c1.weight"] = ("BF16", arrays["c1.weight"].shape, bytes(2 * arrays["c1.weight"].size))
    tensors["output.weight"] = ("F32", (85, 10), bytes(4 * 850))
    with pytest.raises(CnnCalcError, match="array 'output.weight' has shape 85x10, expected 10x84"):
        weights.load(write_raw_safetensors(tmp_path / "w.safetensors", tensors), propagate(load("lenet5")))


def test_a_safetensors_file_that_is_not_one_is_refused(cli, tmp_path):
    pytest.importorskip("safetensors")
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"garbage")
    result = cli("run", "lenet5", "--weights", str(path))
    assert result.exit_code == 1
    assert f"cannot read weights file {path}:" in result.stderr
    missing = cli("run", "lenet5", "--weights", str(tmp_path / "nope.safetensors"))
    assert missing.exit_code == 2 and "no such weights file" in missing.stderr


def test_without_the_safetensors_package_the_error_says_what_to_install(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)  # import safetensors now raises ImportError
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"anything")
    result = cli("run", "lenet5", "--weights", str(path))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: reading .safetensors weights needs the safetensors package: pip install 'cnncalc[safetensors]'"
    ]


LAYER_SCALE = "name: t\ninput: [6, 4, 4]\nlayers:\n  - residual:\n      name: block\n      main:\n" + "".join(
    f"        - {layer}\n" for layer in ("conv: {out: 6, kernel: 1}", "prelu: 6", "scale: {name: layer_scale}")
)


def layer_scale_report():
    return propagate(parse_network(LAYER_SCALE, "t.yaml"))


def test_a_scale_array_is_keyed_by_its_layer_path_alone(cli, tmp_path):
    """As torchvision ConvNeXt's ``features.1.0.layer_scale``: no ``.weight`` after the path."""
    keys = {weight.key: weight for weight in weights.expected(layer_scale_report())}
    assert list(keys) == ["block.conv1.weight", "block.conv1.bias", "block.prelu1.weight", "block.layer_scale"]
    assert keys["block.layer_scale"].shape == (6, 1, 1) and keys["block.layer_scale"].layer == "block.layer_scale"
    (tmp_path / "t.yaml").write_text(LAYER_SCALE)
    listed = cli("weights", str(tmp_path / "t.yaml")).stdout.splitlines()
    assert any(line.split()[:4] == ["block.layer_scale", "6x1x1", "6", "parameter"] for line in listed)


def test_a_scale_array_is_drawn_around_one_and_read_from_a_file(cli, tmp_path):
    report = layer_scale_report()
    arrays = weights.initialise(report, 0)
    assert 0.5 <= arrays["block.layer_scale"].min() and arrays["block.layer_scale"].max() < 1.5
    assert 0.5 <= arrays["block.prelu1.weight"].min() and arrays["block.prelu1.weight"].max() < 1.5
    arrays["block.layer_scale"] = np.full((6, 1, 1), 2.0)
    loaded = weights.load(save(tmp_path / "w.npz", arrays), report, "float64")
    np.testing.assert_array_equal(loaded["block.layer_scale"], np.full((6, 1, 1), 2.0))
    (tmp_path / "t.yaml").write_text(LAYER_SCALE)
    result = cli("run", str(tmp_path / "t.yaml"), "--weights", str(tmp_path / "w.npz"))
    assert result.exit_code == 0, result.output


def test_a_scale_array_under_a_weight_suffix_is_refused_with_the_right_key(tmp_path):
    report = layer_scale_report()
    arrays = weights.initialise(report, 0)
    arrays["block.layer_scale.weight"] = arrays.pop("block.layer_scale")
    with pytest.raises(
        CnnCalcError, match=r"unexpected array 'block.layer_scale.weight' .* \(did you mean 'block.layer_scale'\?\)"
    ):
        weights.load(save(tmp_path / "w.npz", arrays), report)
    del arrays["block.layer_scale.weight"]
    with pytest.raises(CnnCalcError, match=r"missing array 'block.layer_scale' \(expected shape 6x1x1\)"):
        weights.load(save(tmp_path / "w.npz", arrays), report)
