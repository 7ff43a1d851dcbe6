"""The CLI surface of symbolic sizes: sizes, shapes --input 3xHxW, --set, --batch N and flops --at."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize(
    "net, minimum", [("alexnet", "H >= 67"), ("alexnet-torchvision", "H >= 63"), ("resnet152", "H >= 1")]
)
def test_sizes_minimum(net, minimum):
    result = run("sizes", net)
    assert result.exit_code == 0, result.output
    valid = next(line for line in result.output.splitlines() if line.strip().startswith("valid "))
    assert valid.split(None, 1)[1].strip() == minimum


def test_sizes_unet_near_500():
    result = run("sizes", "unet", "--near", "500")
    assert result.exit_code == 0, result.output
    lines = [line.split(None, 3) for line in result.output.splitlines()]
    text = result.output
    assert "merges line up       H = 16k" in text
    assert "every output >= 1    H >= 16" in text
    assert "nearest to 500       496 or 512" in text
    assert len([line for line in lines if line and line[0] == "valid" and line[1] != "and"]) == 2


def test_sizes_lines_are_one_table_without_trailing_spaces():
    lines = run("sizes", "alexnet", "--near", "2147483647").output.splitlines()
    assert lines[3] == "  merges line up         H >= 1"  # no layer list: nothing after the size set
    assert lines[7] == "  nearest to 2147483647  2147483647 itself  (exact: 2147483619 or 2147483651)"
    assert {line.index("H ") for line in lines[2:7]} == {25}  # a long label widens the column for every row


def test_near_is_a_size():
    result = run("sizes", "alexnet", "--near", "2147483648")
    assert result.exit_code == 2 and "2147483648 is not in the range 1<=x<=2147483647" in result.output


def test_sizes_exact_forms():
    assert "no pixels dropped    H = 32k + 3" in run("sizes", "alexnet").output
    assert "valid and exact      H = 32k + 1" in run("sizes", "resnet152").output


def test_shapes_symbolic_table_and_json():
    result = run("shapes", "resnet152", "--input", "3xHxW", "--depth", "0")
    assert result.exit_code == 0, result.output
    assert "ceil(H/32) x ceil(W/32)" in result.output
    data = json.loads(run("shapes", "resnet152", "--input", "3xHxW", "--batch", "N", "--format", "json").output)
    assert data["input"] == ["N", 3, "H", "W"]
    assert data["layers"][-2]["output"] == ["N", 2048]
    assert data["totals"]["params"] == 60192808


def test_set_matches_concrete():
    symbolic = json.loads(
        run(
            "flops", "alexnet", "--input", "3xHxW", "--batch", "N", "--set", "H=227,W=227,N=4", "--format", "json"
        ).output
    )
    concrete = json.loads(run("flops", "alexnet", "--batch", "4", "--format", "json").output)
    assert symbolic == concrete


def test_symbolic_table_lists_conditions():
    result = run("shapes", "unet", "--input", "3xHxW", "--depth", "0")
    assert result.exit_code == 0, result.output
    assert "up1.cat: floor(H/8) = 2*floor(H/16)  (merges line up)" in result.output


def test_flops_at_resolutions():
    result = run("flops", "alexnet-torchvision", "--at", "128,224")
    assert result.exit_code == 0, result.output
    assert "714,188,480" in result.output  # torchvision's published MACs at 224
    data = json.loads(run("flops", "resnet50", "--at", "160,224", "--format", "json").output)
    assert [row["input"] for row in data] == [[1, 3, 160, 160], [1, 3, 224, 224]]
    assert data[1]["macs"] == 4089184256


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("shapes", "unet", "--input", "3xHxW", "--set", "H=500,W=512"), 1, "cannot concatenate along channels"),
        (("shapes", "unet", "--input", "3xHxW", "--set", "H=512"), 2, "missing: W"),
        (
            ("shapes", "unet", "--input", "3xHxW", "--set", "H=512,W=512,Q=3"),
            2,
            "unknown name 'Q'; it sets the size symbols (H, W)",
        ),
        (("shapes", "unet", "--input", "3xHxW", "--set", "H=512,W=0"), 2, "--set W: a size is a whole number >= 1"),
        (("shapes", "unet", "--input", "3xHxW", "--set", "H:512"), 2, "--set must look like H=227,W=227"),
        (("shapes", "unet", "--set", "H=512"), 2, "--set needs size symbols"),
        (("shapes", "unet", "--batch", "0"), 2, "--batch must be a whole number >= 1 or a size symbol"),
        (("shapes", "unet", "--input", "3xH-W"), 2, "--input must look like 3x224x224"),
        (("flops", "unet", "--at", "128,x"), 2, "--at must be sizes >= 1"),
        (("flops", "unet", "--at", "128", "--batch", "N"), 2, "--at needs a whole-number --batch"),
        (("flops", "unet", "--at", "100"), 1, "cannot concatenate"),
        (("sizes", "unet", "--input", "3x4x4x4x4"), 2, "--input needs 1 to 4 sizes"),
    ],
)
def test_errors(args, code, message):
    result = run(*args)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_sizes_needs_spatial_input(tmp_path):
    path = tmp_path / "mlp.yaml"
    path.write_text("input: [784]\nlayers:\n  - linear: 10\n")
    result = run("sizes", str(path))
    assert result.exit_code == 2
    assert "sizes needs an input with spatial sizes" in result.output


def test_sizes_unsatisfiable_network(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "input: [1, 64]\nlayers:\n  - maxpool: {name: a, kernel: 2}\n"
        "  - convtranspose: {name: b, out: 1, kernel: 2, stride: 2}\n"
        "  - add: {name: even, of: [input, previous]}\n"
        "  - maxpool: {name: c, kernel: 2, ceil_mode: true}\n"
        "  - convtranspose: {name: d, out: 1, kernel: 1, stride: 2}\n"
        "  - add: {name: odd, of: [input, previous]}\n"
    )
    result = run("sizes", str(path))
    assert result.exit_code == 1
    assert "bad.yaml:8:5: error: no input size satisfies every layer" in result.output
    assert "[odd]" in result.output


def test_symbolic_yaml_input(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(
        "input: [3, H, W]\nlayers:\n  - conv: {out: 8, kernel: 3, stride: 2}\n  - flatten\n  - linear: 10\n"
    )
    data = json.loads(run("params", str(path), "--format", "json").output)
    assert data["totals"]["params"] == "80*ceil(H/2)*ceil(W/2) - 80*ceil(H/2) - 80*ceil(W/2) + 314"
    assert "H >= 3" in run("sizes", str(path)).output
