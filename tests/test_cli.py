"""The command line: golden tables and JSON, exit codes, one-line errors, and no numpy on static commands."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cnncalc.errors import CnnCalcError, UsageError


@pytest.mark.parametrize(
    "args,name",
    [
        (("params", "alexnet"), "params_alexnet.txt"),
        (("flops", "resnet18", "--depth", "1"), "flops_resnet18_depth1.txt"),
        (("shapes", "lenet5"), "shapes_lenet5.txt"),
        (("shapes", "resnet50", "--depth", "0", "--batch", "8"), "shapes_resnet50_depth0_batch8.txt"),
        (("params", "alexnet-torchvision", "--dtype", "float16"), "params_alexnet_torchvision_fp16.txt"),
        (("list",), "list.txt"),
    ],
)
def test_golden_tables(cli, golden, args, name):
    result = cli(*args)
    assert result.exit_code == 0, result.output
    golden(name, result.stdout)


def test_golden_json(cli, golden):
    result = cli("params", "lenet5", "--format", "json")
    assert result.exit_code == 0
    golden("params_lenet5.json", result.stdout)


@pytest.mark.parametrize("command", ["shapes", "params", "flops"])
def test_json_is_the_same_document_for_all_three(cli, command):
    document = json.loads(cli(command, "resnet18", "--format", "json", "--batch", "2").stdout)
    assert document == json.loads(cli("shapes", "resnet18", "--format", "json", "--batch", "2").stdout)
    assert document["input"] == [2, 3, 224, 224] and document["output"] == [2, 1000]
    layers = document["layers"]
    assert {"path", "kind", "output", "params", "macs", "flops"} <= set(layers[0])
    assert document["totals"]["params"] == 11_689_512
    assert document["totals"]["macs"] == 2 * 1_814_073_344
    assert document["totals"]["param_bytes"] == 4 * 11_689_512
    assert all(isinstance(layer["output"][0], int) and layer["output"][0] == 2 for layer in layers)


def test_depth_collapses_groups_to_subtotals(cli):
    text = cli("flops", "resnet152", "--depth", "0").stdout
    lines = [line.split() for line in text.splitlines()]
    rows = {line[0]: line for line in lines if line and line[0].startswith("layer")}
    assert set(rows) == {"layer1", "layer2", "layer3", "layer4"}
    assert rows["layer3"][3] == "8,015,314,944"  # the reference's layer3 MACs
    assert not any(line and line[0] in ("0", "conv1") and len(line) > 1 and line[1] == "bottleneck" for line in lines)


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert re.fullmatch(r"cnncalc \S+\n", result.stdout), result.stdout


def test_version_is_the_installed_distributions(cli, monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "version", lambda name: {"cnncalc": "9.8.7"}[name])
    assert cli("--version").stdout == "cnncalc 9.8.7\n"


def test_version_from_a_source_tree_that_is_not_installed(cli, monkeypatch):
    import importlib.metadata
    import tomllib

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    from cnncalc import cli as module

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    source = Path(__file__).resolve().parent.parent  # the checkout, whether cnncalc runs from it or is installed
    monkeypatch.setattr(module, "__file__", str(source / "cnncalc" / "cli.py"))
    project = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cli("--version").stdout == f"cnncalc {project['version']} (not installed)\n"


def internal_error(monkeypatch, capsys, debug: str | None) -> tuple[int, str]:
    """Run ``cnncalc params lenet5`` through the console entry point with a bug planted in the renderer."""
    from cnncalc import cli, render

    def broken_table(*args, **kwargs):
        raise RuntimeError("planted bug")

    monkeypatch.setattr(render, "table", broken_table)
    monkeypatch.setattr(sys, "argv", ["cnncalc", "params", "lenet5"])
    if debug is None:
        monkeypatch.delenv("CNNCALC_DEBUG", raising=False)
    else:
        monkeypatch.setenv("CNNCALC_DEBUG", debug)
    with pytest.raises(SystemExit) as exit:
        cli.main()
    captured = capsys.readouterr()
    assert captured.out == ""
    return exit.value.code, captured.err


LINE = "internal error: RuntimeError: planted bug (please report this)"


@pytest.mark.parametrize("debug", [None, "", "0"])
def test_internal_error_is_one_line_and_exit_3(monkeypatch, capsys, debug):
    assert internal_error(monkeypatch, capsys, debug) == (3, LINE + "\n")


def test_cnncalc_debug_shows_the_traceback_of_an_internal_error(monkeypatch, capsys):
    code, err = internal_error(monkeypatch, capsys, "1")
    assert code == 3
    lines = err.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "in broken_table" in err and "RuntimeError: planted bug" in lines[-2]
    assert lines[-1] == LINE


def test_input_override(cli):
    document = json.loads(cli("shapes", "alexnet", "--input", "3x224x224", "--format", "json").stdout)
    assert document["layers"][0]["output"] == [1, 96, 54, 54]


def test_invalid_network_exits_1_with_one_line(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ninput: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - linear: 10\n")
    result = cli("params", str(bad))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"{bad}:5:5: error: linear needs a flattened input (features), received 8x30x30;"
        " add '- flatten' before it [linear1]"
    ]


@pytest.mark.parametrize(
    "args,message",
    [
        (("params", "nosuchnet"), "'nosuchnet' is neither a file nor a built-in network"),
        (("params", "resnet15"), "(did you mean 'resnet152'?)"),
        (("params", "missing.yaml"), "no such file: missing.yaml"),
        (
            ("params", "alexnet", "--input", "3by224"),
            "--input must look like 3x224x224 (or 3xHxW with size symbols), received '3by224'",
        ),
        (
            ("params", "alexnet", "--input", "3x0x5"),
            "--input needs 1 to 4 sizes from 1 to 2,147,483,647, received '3x0x5'",
        ),
    ],
)
def test_usage_errors_exit_2(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_option_exits_2(cli):
    assert cli("params", "alexnet", "--frobnicate").exit_code == 2
    assert cli("params", "alexnet", "--batch", "0").exit_code == 2


@pytest.mark.parametrize("error,code", [(UsageError("bad option"), 2), (CnnCalcError("bad network"), 1)])
def test_fail_always_exits(capsys, error, code):
    from typer import Exit

    from cnncalc.cli import _fail

    with pytest.raises(Exit) as exit:
        _fail(error)
    assert exit.value.exit_code == code
    assert capsys.readouterr().err == f"{error}\n"


def test_directory_instead_of_file(cli, tmp_path):
    result = cli("params", str(tmp_path) + "/")
    assert result.exit_code == 1
    assert "is a directory, not a description file" in result.stderr


def test_check_reports_each_file(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 9}\n")
    result = cli("check", "alexnet", str(bad), "lenet5")
    assert result.exit_code == 1
    assert "alexnet" in result.stdout and "lenet5" in result.stdout
    assert "kernel 9 is larger than the padded input 8" in result.output
    assert cli("check", "alexnet", "lenet5").exit_code == 0


STATIC = textwrap.dedent("""
    import sys
    from cnncalc.cli import app
    try:
        app(sys.argv[1:])
    except SystemExit as exit:
        assert not exit.code, exit.code
    assert "numpy" not in sys.modules, "numpy was imported"
    assert "importlib.metadata" not in sys.modules, "importlib.metadata was imported (only --version needs it)"
""")


@pytest.mark.parametrize(
    "args",
    [
        ["params", "resnet152"],
        ["shapes", "alexnet", "--format", "json"],
        ["flops", "vgg16"],
        ["check", "alexnet"],
        ["list"],
    ],
)
def test_static_commands_do_not_import_numpy(args):
    result = subprocess.run([sys.executable, "-c", STATIC, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "rows, justify, minimum, lines",
    [
        ([["a", "1"], ["bcd", "22"]], "lr", (), ["a     1", "bcd  22"]),
        ([["a", "1"]], "lr", (3, 4), ["a       1"]),
        # a row's flush-left last cell is not padded and does not widen its column
        (
            [["rule", "x", "(layers)"], ["rule", "x", ""], ["valid", "a long last cell"]],
            "",
            (),
            ["rule   x  (layers)", "rule   x", "valid  a long last cell"],
        ),
        ([["name", "", ""], ["n", "1", "2"]], "lrr", (), ["name", "n     1  2"]),
    ],
)
def test_one_aligner(rows, justify, minimum, lines):
    from cnncalc.render import aligned

    assert aligned(rows, justify, minimum) == lines


def test_readme_lists_every_builtin_with_its_family_and_figures(cli):
    """The README's table of built-in networks is `cnncalc list`'s, family by family."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = re.split(r"\n\n#+ ", readme[readme.index("## Built-in networks") :])[0]  # up to the next heading
    documented, family = [], ""
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 5 and cells[1].startswith("`"):
            family = cells[0] or family
            documented.append([family, cells[1].split("`")[1], *cells[2:]])
    listed, family = [], ""
    for line in cli("list").stdout.splitlines()[1:]:
        if not line.startswith(" "):
            family, line = line.split(maxsplit=1)
        listed.append([family, *line.split()[:4]])
    assert documented == listed


def test_list_reports_a_broken_builtin_in_one_located_line(cli, tmp_path, monkeypatch):
    """A built-in ahead of its kinds (or any broken one) is an invalid-network error at its line, not exit 3."""
    from cnncalc import load as load_module

    (tmp_path / "good.yaml").write_text("description: fine\ninput: [3, 8, 8]\nlayers: [relu]\n")
    (tmp_path / "bad.yaml").write_text("description: broken\ninput: [3, 8, 8]\nlayers:\n  - relux\n")
    monkeypatch.setattr(load_module, "_builtin_folder", lambda: tmp_path)
    result = cli("list")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "bad.yaml:4:5: error: unknown layer kind 'relux'" in result.stderr
