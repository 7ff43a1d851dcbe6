"""`cnncalc run` and `cnncalc check --execute`: table, JSON, files, seeds, and every error they report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnncalc.registry import REGISTRY


def test_run_table_lists_both_shapes_per_layer(cli):
    result = cli("run", "lenet5", "--batch", "2")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["c1", "conv", "2x6x28x28", "2x6x28x28", "ok"] in [row[:5] for row in rows]
    assert ["output", "linear", "2x10", "2x10", "ok"] in [row[:5] for row in rows]
    assert "all 12 shapes match" in result.stdout
    assert "GFLOP/s over 1.70 MFLOPs (propagator FLOPs, 2 per MAC)" in result.stdout


def test_run_json(cli):
    result = cli("run", "resnet18", "--input", "3x32x32", "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["match"] is True and document["first_mismatch"] is None
    assert document["weights"] == "random, seed 0"
    first = document["layers"][0]
    assert set(first) == {"path", "kind", "computed", "executed", "match", "seconds"}
    assert first["path"] == "conv1" and first["computed"] == first["executed"] == [1, 64, 16, 16]
    totals = document["totals"]
    assert totals["layers"] == totals["layers_run"] == len(document["layers"]) == 69
    assert totals["seconds"] == pytest.approx(sum(layer["seconds"] for layer in document["layers"]))
    assert totals["gflops"] == pytest.approx(totals["flops"] / totals["seconds"] / 1e9)


def run_and_save(cli, path, *options):
    result = cli("run", "alexnet-torchvision", "--input", "3x96x96", "--save-output", str(path), *options)
    assert result.exit_code == 0, result.output
    return np.load(path)


def test_save_output_writes_the_final_output_atomically(cli, tmp_path):
    output = run_and_save(cli, tmp_path / "out.npy")
    assert output.shape == (1, 1000) and output.dtype == np.float32
    assert [path.name for path in tmp_path.iterdir()] == ["out.npy"]  # no temporary left behind


def test_seed_determines_the_output(cli, tmp_path):
    first = run_and_save(cli, tmp_path / "a.npy")
    again = run_and_save(cli, tmp_path / "b.npy", "--seed", "0")
    other = run_and_save(cli, tmp_path / "c.npy", "--seed", "1")
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_float64_run(cli, tmp_path):
    single = run_and_save(cli, tmp_path / "a.npy")
    double = run_and_save(cli, tmp_path / "b.npy", "--dtype", "float64")
    assert double.dtype == np.float64
    np.testing.assert_allclose(single, double, rtol=1e-3, atol=1e-4 * abs(double).max())


def test_input_data_is_used(cli, tmp_path):
    data = np.random.default_rng(1).standard_normal((2, 1, 32, 32))
    np.save(tmp_path / "x.npy", data)
    first = cli(
        "run",
        "lenet5",
        "--batch",
        "2",
        "--input-data",
        str(tmp_path / "x.npy"),
        "--save-output",
        str(tmp_path / "a.npy"),
    )
    assert first.exit_code == 0
    np.save(tmp_path / "x.npy", data * 2)
    cli(
        "run",
        "lenet5",
        "--batch",
        "2",
        "--input-data",
        str(tmp_path / "x.npy"),
        "--save-output",
        str(tmp_path / "b.npy"),
    )
    assert not np.allclose(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_input_data_of_the_wrong_shape_names_both_shapes(cli, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 28, 28), np.float32))
    result = cli("run", "lenet5", "--batch", "2", "--input-data", str(tmp_path / "x.npy"))
    assert result.exit_code == 1
    assert (
        f"input data {tmp_path / 'x.npy'} has shape 1x1x28x28, expected 2x1x32x32 (batch 2, input 1x32x32); "
        "set --batch and --input to match the data"
    ) in result.stderr


@pytest.mark.parametrize(
    "option, message", [("--input-data", "no such input data file"), ("--weights", "no such weights file")]
)
def test_missing_files_are_usage_errors(cli, tmp_path, option, message):
    result = cli("run", "lenet5", option, str(tmp_path / "missing"))
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_save_output_into_a_missing_folder_is_refused_before_running(cli, tmp_path):
    result = cli("run", "lenet5", "--save-output", str(tmp_path / "no" / "out.npy"))
    assert result.exit_code == 2
    assert "cannot save the output to" in result.stderr and "no such folder" in result.stderr
    assert "shapes" not in result.stdout


def test_memory_refusal(cli):
    result = cli("run", "alexnet", "--max-memory", "64MiB")
    assert result.exit_code == 1
    assert "the run needs an estimated" in result.stderr
    assert "above --max-memory 64.00 MiB; lower --batch or --input, or raise --max-memory" in result.stderr


def test_bad_memory_limit_is_a_usage_error(cli):
    result = cli("run", "lenet5", "--max-memory", "plenty")
    assert result.exit_code == 2
    assert (
        "--max-memory must be a size in bytes like 200MB (kB, MB, GB, TB, PB: steps of 1000; KiB, MiB, GiB, TiB, "
        "PiB: steps of 1024), received 'plenty'" in result.stderr
    )


@pytest.fixture
def wrong_maxpool_rule(monkeypatch):
    """Break the propagator's maxpool rule (one row too many): the executed shapes must catch it."""
    kind = type(REGISTRY["maxpool"])
    right = kind.output

    def wrong(self, a, x):
        channels, height, *rest = right(self, a, x)
        return (channels, height + 1, *rest)

    monkeypatch.setattr(kind, "output", wrong)


def test_a_wrong_shape_rule_is_caught_and_named(cli, tmp_path, wrong_maxpool_rule):
    result = cli("run", "alexnet", "--save-output", str(tmp_path / "out.npy"))
    assert result.exit_code == 1
    assert result.stderr.startswith("alexnet.yaml:10:5: error: ")
    assert "executed shape 1x96x27x27 differs from the computed shape 1x96x28x27 (maxpool) [pool1]" in result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["pool1", "maxpool", "1x96x28x27", "1x96x27x27", "DIFFERS"] in [row[:5] for row in rows]
    assert not (tmp_path / "out.npy").exists()


def test_a_wrong_shape_rule_in_json(cli, wrong_maxpool_rule):
    result = cli("run", "resnet18", "--input", "3x64x64", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["match"] is False and document["first_mismatch"] == "maxpool"
    assert document["layers"][-1]["match"] is False and document["totals"]["layers_run"] == 4


def test_check_execute(cli):
    result = cli("check", "--execute", "lenet5", "resnet18")
    assert result.exit_code == 0, result.output
    assert "lenet5: ok (" in result.stdout and "executed: 12 shapes match" in result.stdout
    assert "executed: 69 shapes match" in result.stdout


def test_check_execute_fails_on_a_wrong_shape_rule(cli, wrong_maxpool_rule):
    result = cli("check", "--execute", "lenet5", "alexnet-torchvision")
    assert result.exit_code == 1
    assert "lenet5: ok" in result.stdout
    assert (
        "executed shape 1x64x27x27 differs from the computed shape 1x64x28x27 (maxpool) [features.2]" in result.output
    )


def test_check_without_execute_does_not_run(cli, wrong_maxpool_rule):
    assert cli("check", "alexnet-torchvision").exit_code == 0


def test_progress_bar_does_not_disturb_the_output(cli, monkeypatch):
    from cnncalc.backend import view

    monkeypatch.setattr(view, "PROGRESS_DELAY", 0.0)
    result = cli("run", "resnet18", "--input", "3x32x32", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["match"] is True


def test_progress_bar_appears_on_a_terminal_after_the_delay_and_is_transient(monkeypatch):
    import io

    from rich.console import Console

    from cnncalc.backend import view

    screen = io.StringIO()
    progress = view.DelayedProgress("running", Console(file=screen, force_terminal=True, width=60))
    with progress:
        progress(1, 10)
        assert progress.progress is None  # not before the delay
        monkeypatch.setattr(view, "PROGRESS_DELAY", 0.0)
        progress(2, 10)
        assert progress.progress is not None
    assert "running" in screen.getvalue()


def test_no_progress_bar_off_a_terminal(monkeypatch):
    import io

    from rich.console import Console

    from cnncalc.backend import view

    monkeypatch.setattr(view, "PROGRESS_DELAY", 0.0)
    screen = io.StringIO()
    with view.DelayedProgress("running", Console(file=screen)) as progress:
        progress(2, 10)
    assert progress.progress is None and screen.getvalue() == ""


def test_save_output_onto_a_directory_is_refused_before_the_run(cli, tmp_path):
    result = cli("run", "lenet5", "--save-output", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: cannot save the output to {tmp_path}: it is a directory"
    assert result.stdout == ""


def test_save_output_into_a_read_only_folder_is_one_line(cli, tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # as root, a chmod would not stop the write
    result = cli("run", "lenet5", "--save-output", str(tmp_path / "out.npy"))
    assert result.exit_code == 2
    assert f"cannot save the output to {tmp_path / 'out.npy'}: Permission denied" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_file(cli, tmp_path, monkeypatch):
    def broken(stream, array, allow_pickle):
        stream.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", broken)
    result = cli("run", "lenet5", "--save-output", str(tmp_path / "out.npy"))
    assert result.exit_code == 2
    assert "No space left on device" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_overflowing_values_are_reported_not_warned(cli, tmp_path):
    """Values that overflow to inf: no RuntimeWarning noise, the shapes are still checked, the summary says so."""
    (tmp_path / "net.yaml").write_text("input: [4]\nlayers:\n  - linear: {name: fc, out: 3}\n")
    np.savez(tmp_path / "w.npz", **{"fc.weight": np.ones((3, 4), np.float32), "fc.bias": np.zeros(3, np.float32)})
    np.save(tmp_path / "x.npy", np.full((1, 4), 3e38, np.float32))
    options = (
        "run",
        str(tmp_path / "net.yaml"),
        "--weights",
        str(tmp_path / "w.npz"),
        "--input-data",
        str(tmp_path / "x.npy"),
    )
    result = cli(*options, "--format", "json")
    assert result.exit_code == 0
    assert "Warning" not in result.stderr
    document = json.loads(result.stdout)
    assert document["match"] is True and document["output_finite"] is False
    assert "the output holds inf or NaN" in cli(*options).stdout


@pytest.mark.parametrize("command", ["run", "weights"])
def test_run_and_weights_take_table_or_json_only(cli, command):
    assert cli(command, "lenet5", "--format", "csv").exit_code == 2
