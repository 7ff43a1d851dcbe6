"""``cnncalc check``: many targets, budgets, exact locations, report formats and atomic --output."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest

from cnncalc.ci import formats
from cnncalc.ci.check import FileResult
from cnncalc.errors import CnnCalcError, Location

ARCHITECTURES = Path(__file__).parent.parent / "architectures"

SMALL = """\
name: small
input: [3, 8, 8]
{expect}layers:
  - conv: {{name: c, out: 4, kernel: 3}}
  - flatten
  - linear: {{name: fc, out: 10}}
"""


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- targets ---------------------------------------------------------------------------------------------------
def test_checks_every_target_even_after_failures(cli, tmp_path):
    bad = write(tmp_path, "bad.yaml", "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 9}\n")
    result = cli("check", bad, "lenet5", "alexnet")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert (
        lines[0] == f"{bad}:3:28: error: kernel 9 is larger than the padded input 8 (input 8 + padding 0+0) "
        "(input 3x8x8) [conv1]"
    )
    assert lines[1].startswith("lenet5: ok (lenet5: output 1x10")
    assert lines[2].startswith("alexnet: ok")
    assert lines[3] == "checked 3 files: 1 failed"


def test_all_passing_exits_0(cli):
    result = cli("check", "lenet5", "resnet18")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "checked 2 files: all passed"


def test_missing_path_is_a_usage_error_but_the_rest_is_checked(cli, tmp_path):
    result = cli("check", str(tmp_path / "nothere.yaml"), "lenet5")
    assert result.exit_code == 2
    assert f"{tmp_path / 'nothere.yaml'}: error: no such file" in result.stdout
    assert "lenet5: ok" in result.stdout


def test_folder_walks_yaml_files_and_checks_block_libraries_as_libraries(cli, tmp_path):
    shutil.copytree(ARCHITECTURES, tmp_path / "nets", ignore=shutil.ignore_patterns("*.py"))
    write(tmp_path, "nets/deeper/tiny.yml", SMALL.format(expect=""))
    write(tmp_path, "nets/.hidden/broken.yaml", "not: [valid")
    write(tmp_path, "nets/notes.txt", "not a description")
    result = cli("check", str(tmp_path / "nets"))
    assert result.exit_code == 0, result.stdout
    assert f"{tmp_path / 'nets' / '_resnet.yaml'}: ok (block library: 2 blocks)" in result.stdout
    assert "tiny.yml: ok (small" in result.stdout
    count = len(list(ARCHITECTURES.glob("*.yaml"))) + 1
    assert result.stdout.splitlines()[-1] == f"checked {count} files: all passed"


def test_library_with_layers_is_checked_as_a_network(cli, tmp_path):
    path = write(tmp_path, "_odd.yaml", "layers: [relu]\n")
    result = cli("check", path)
    assert result.exit_code == 1
    assert "needs 'input'" in result.stdout


def test_empty_folder_and_unmatched_pattern_are_usage_errors(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = cli("check", str(tmp_path / "empty"), str(tmp_path / "*.yml"))
    assert result.exit_code == 2
    assert "no .yaml or .yml files in this folder" in result.stdout
    assert "no file matches this pattern" in result.stdout


def test_glob_pattern(cli, tmp_path):
    write(tmp_path, "a/one.yaml", SMALL.format(expect=""))
    write(tmp_path, "b/two.yaml", SMALL.format(expect=""))
    result = cli("check", str(tmp_path / "**" / "*.yaml"))
    assert result.exit_code == 0
    assert result.stdout.count(": ok (small") == 2


# -- budgets ---------------------------------------------------------------------------------------------------
def test_expectations_in_the_description(cli, tmp_path):
    expect = (
        "expect:\n  output: [10]\n  params: {min: 100, max: 1k}\n  macs: {max: 1M}\n  activation_bytes: {max: 1KiB}\n"
    )
    path = write(tmp_path, "net.yaml", SMALL.format(expect=expect))
    result = cli("check", path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:5:27: error: params 1,562 (1.56 k) is above the maximum 1k = 1,000",
        f"{path}:7:27: error: activation_bytes 1,192 (1.19 kB) is above the maximum 1KiB = 1,024",
    ]


def test_met_expectations_pass(cli, tmp_path):
    expect = "expect:\n  output: [10]\n  params: 1562\n  macs: {min: 1k, max: 0.01G}\n"
    assert cli("check", write(tmp_path, "net.yaml", SMALL.format(expect=expect))).exit_code == 0


def test_output_expectation(cli, tmp_path):
    path = write(tmp_path, "net.yaml", SMALL.format(expect="expect:\n  output: [1000]\n"))
    assert (
        cli("check", path).stdout.splitlines()[0]
        == f"{path}:4:11: error: output shape 10 differs from the expected 1000"
    )


@pytest.mark.parametrize(
    "expect, message, where",
    [
        ("expect: 3\n", "expect must be a mapping", "3:9"),
        ("expect:\n  param: {max: 1}\n", "expect has no key 'param' (did you mean 'params'?)", "4:3"),
        ("expect:\n  params: {most: 1}\n", "expect params takes min and max, not 'most'", "4:12"),
        ("expect:\n  params: {max: 3 apples}\n", "expect params max: must be a count like 25M", "4:17"),
        (
            "expect:\n  activation_bytes: {max: 3Mb}\n",
            "expect activation_bytes max: must be a size in bytes like 200MB",
            "4:27",
        ),
        ("expect:\n  output: 10\n", "expect output must be a shape without the batch", "4:11"),
        ("expect:\n  params: {}\n", "expect params needs min or max", "4:11"),
    ],
)
def test_broken_expectations(cli, tmp_path, expect, message, where):
    path = write(tmp_path, "net.yaml", SMALL.format(expect=expect))
    line = cli("check", path).stdout.splitlines()[0]
    assert line.startswith(f"{path}:{where}: error: {message}"), line


def test_command_line_limits(cli):
    result = cli(
        "check",
        "resnet18",
        "lenet5",
        "--max-params",
        "11M",
        "--max-macs",
        "2G",
        "--max-flops",
        "3G",
        "--max-activation-bytes",
        "30MB",
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        "resnet18: error: params 11,689,512 (11.69 M) is above the maximum 11M = 11,000,000 (--max-params)",
        "resnet18: error: flops 3,637,806,568 (3.64 G) is above the maximum 3G = 3,000,000,000 (--max-flops)",
        "resnet18: error: activation_bytes 32,923,552 (32.92 MB) is above the maximum 30MB = 30,000,000 "
        "(--max-activation-bytes)",
    ]
    assert "lenet5: ok" in result.stdout


def test_activation_budget_follows_batch_and_dtype(cli):
    assert cli("check", "lenet5", "--max-activation-bytes", "100kB").exit_code == 0
    assert cli("check", "lenet5", "--max-activation-bytes", "100kB", "--batch", "4").exit_code == 1
    assert cli("check", "lenet5", "--max-activation-bytes", "100kB", "--batch", "4", "--dtype", "int8").exit_code == 0


def test_bad_limit_option_is_a_usage_error(cli):
    result = cli("check", "lenet5", "--max-params", "lots")
    assert result.exit_code == 2
    assert "--max-params must be a count like 25M" in result.stderr


# -- exact locations -------------------------------------------------------------------------------------------
BLOCKS = """\
name: t
input: [3, 16, 16]
blocks:
  unit:
    args: [w, g: 1]
    layers:
      - conv: {out: w, kernel: 3, padding: 1, groups: g}
layers:
  - unit: {w: 8}
  - unit: {w: 9, g: 2}
"""


def test_propagation_error_in_a_block_names_the_use_site(cli, tmp_path):
    path = write(tmp_path, "t.yaml", BLOCKS)
    assert cli("check", path).stdout.splitlines()[0] == (
        f"{path}:7:55: error: conv: output channels 9 are not divisible by groups 2 (input 8x16x16) "
        "(in block 'unit' used at line 10) [unit2.conv1]"
    )


def test_error_in_an_included_block_points_into_the_included_file(cli, tmp_path):
    write(
        tmp_path,
        "lib/_blocks.yaml",
        "blocks:\n  big:\n    layers:\n      - conv: {out: 4,\n               kernel: 7}\n",
    )
    path = write(tmp_path, "net.yaml", "include: lib/_blocks.yaml\ninput: [3, 4, 4]\nlayers:\n  - relu\n  - big\n")
    line = cli("check", path).stdout.splitlines()[0]
    assert line.startswith(f"{tmp_path / 'lib' / '_blocks.yaml'}:5:24: error: kernel 7 is larger")
    assert line.endswith(f"(in block 'big' used at {path}:5:5) [big1.conv1]")


@pytest.mark.parametrize(
    "layer, where, fragment",
    [
        ("conv: {out: 8, kernel: 3, groups: 2}", "4:39", "input channels 3 are not divisible by groups 2"),
        ("conv: {out: 8, kernel: 40}", "4:28", "kernel 40 is larger than the padded input 32"),
        ("maxpool: {kernel: 2, padding: 3}", "4:35", "padding 3 is more than half the kernel"),
        ("convtranspose: {out: 4, kernel: 2, stride: 2, output_padding: 2}", "4:67", "output_padding [2, 2]"),
        ("upsample: {scale: 0.01}", "4:23", "upsample: output size 0x0 is below 1"),
        ("conv: {out: 3, kernel: 3}", "4:5", None),
    ],
)
def test_rule_errors_point_at_their_argument(cli, tmp_path, layer, where, fragment):
    path = write(tmp_path, "t.yaml", f"name: t\ninput: [3, 32, 32]\nlayers:\n  - {layer}\n")
    result = cli("check", path)
    if fragment is None:
        assert result.exit_code == 0
        return
    assert result.stdout.startswith(f"{path}:{where}: error: "), result.stdout
    assert fragment in result.stdout


def test_yaml_syntax_error_position(cli, tmp_path):
    path = write(tmp_path, "t.yaml", "name: t\ninput: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3\n")
    assert cli("check", path).stdout.startswith(f"{path}:5:1: error: YAML syntax error: expected ',' or '}}'")


# -- report formats --------------------------------------------------------------------------------------------
def _failing(message: str, location=None, layer=None) -> FileResult:
    return FileResult("net.yaml", [CnnCalcError(message, location, layer)])


def test_github_annotations_escape_data_and_properties():
    result = _failing("50% off\r\nnext line", Location("a,b:c%.yaml", 3, 7), "block.conv")
    lines = formats.github([result]).splitlines()
    assert lines[0] == (
        "::error file=a%2Cb%3Ac%25.yaml,line=3,col=7,title=cnncalc check::50%25 off\\r\\nnext line [block.conv]"
    )


def test_github_annotation_without_a_line_names_the_file():
    assert formats.github([_failing("too big")]).splitlines()[0] == "::error file=net.yaml,title=cnncalc check::too big"


def test_github_format_from_the_cli(cli, tmp_path):
    path = write(tmp_path, "t.yaml", BLOCKS)
    result = cli("check", path, "--format", "github")
    assert result.exit_code == 1
    annotation = result.stdout.splitlines()[0]
    assert annotation.startswith(f"::error file={path.replace(':', '%3A')},line=7,col=55,title=cnncalc check::conv:")


def test_junit_is_valid_xml_with_one_testcase_per_file(cli, tmp_path):
    path = write(tmp_path, "t.yaml", BLOCKS.replace("unit: {w: 8}", 'unit: {w: "\\x01<&>"}'))
    result = cli("check", path, "lenet5", "--format", "junit")
    assert result.exit_code == 1
    root = ElementTree.fromstring(result.stdout)
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    first, second = suite.findall("testcase")
    assert first.get("name") == path and "\\x01<&>" in first.find("failure").get("message")
    assert second.get("name") == "lenet5" and second.find("failure") is None


def test_json_report(cli, tmp_path):
    path = write(tmp_path, "t.yaml", BLOCKS)
    document = json.loads(cli("check", path, "lenet5", "--format", "json").stdout)
    assert (document["ok"], document["checked"], document["failed"]) == (False, 2, 1)
    error = document["files"][0]["errors"][0]
    assert (error["file"], error["line"], error["column"], error["layer"]) == (path, 7, 55, "unit2.conv1")
    assert error["blocks"] == [{"block": "unit", "file": path, "line": 10, "column": 5}]
    assert document["files"][1]["summary"]["params"] == 61706


def test_errors_are_one_line_whatever_the_description_holds(cli, tmp_path):
    path = write(tmp_path, "t.yaml", 'name: t\ninput: [3, 8, 8]\nlayers:\n  - "con\\nv"\n')
    result = cli("check", path)
    assert result.stdout.splitlines()[0] == f"{path}:4:5: error: unknown layer kind 'con\\nv' (did you mean 'conv'?)"


# -- --output --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ["check", "lenet5"],
        ["shapes", "lenet5"],
        ["params", "lenet5", "--format", "csv"],
        ["flops", "lenet5", "--format", "markdown"],
        ["diff", "lenet5", "lenet5"],
        ["schema"],
    ],
)
def test_output_file_holds_what_stdout_would(cli, tmp_path, command):
    target = tmp_path / "out.txt"
    printed = cli(*command)
    written = cli(*command, "--output", str(target))
    assert written.exit_code == printed.exit_code == 0
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8") == printed.stdout
    assert [path.name for path in tmp_path.iterdir()] == ["out.txt"]


def test_output_is_written_even_when_check_fails(cli, tmp_path):
    target = tmp_path / "report.xml"
    result = cli("check", "lenet5", "--max-params", "1k", "--format", "junit", "--output", str(target))
    assert result.exit_code == 1
    assert ElementTree.parse(target).getroot().tag == "testsuites"


def test_failed_write_leaves_the_old_file_and_no_temporary(cli, tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")

    def broken_replace(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    result = cli("check", "lenet5", "--format", "json", "--output", str(target))
    assert result.exit_code == 2
    assert "cannot write --output" in result.stderr and "No space left on device" in result.stderr
    assert target.read_text(encoding="utf-8") == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


def test_output_into_a_missing_folder_is_a_usage_error(cli, tmp_path):
    result = cli("shapes", "lenet5", "--output", str(tmp_path / "no" / "such" / "file.txt"))
    assert result.exit_code == 2
    assert f"cannot write --output {tmp_path / 'no' / 'such' / 'file.txt'}: no such folder" in result.stderr
    assert not (tmp_path / "no").exists()


def test_output_onto_a_directory_is_a_usage_error(cli, tmp_path):
    result = cli("params", "lenet5", "--output", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: cannot write --output {tmp_path}: it is a directory"
    assert list(tmp_path.iterdir()) == []


# -- markdown and csv tables -----------------------------------------------------------------------------------
def test_markdown_table(cli):
    lines = cli("flops", "lenet5", "--format", "markdown").stdout.splitlines()
    assert lines[0] == "**lenet5**  input 1x1x32x32 (float32)"
    assert lines[2] == "| Layer | Kind | Output | MACs | FLOPs |"
    assert lines[3] == "|:---|:---|---:|---:|---:|"
    assert lines[4] == "| c1 | conv | 1x6x28x28 | 117,600 | 239,904 |"
    assert lines[-1] == "| **Total** |  | **1x10** | **416,520** | **852,370** |"


def test_markdown_groups_are_bold_and_indented(cli):
    text = cli("shapes", "resnet18", "--format", "markdown", "--depth", "1").stdout
    assert "| **layer1** | repeat | 1x64x56x56 |" in text
    assert "| **&nbsp;&nbsp;0** | basic | 1x64x56x56 |" in text


STATIC = """
import sys
from cnncalc.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exit:
    assert exit.code in (0, 1), exit.code
assert "numpy" not in sys.modules, "numpy was imported"
"""


def test_check_diff_and_schema_do_not_import_numpy(tmp_path):
    import subprocess
    import sys

    for args in (
        ["check", str(ARCHITECTURES), "--format", "junit", "--max-params", "1M"],
        ["diff", "resnet18", "resnet34", "--format", "markdown"],
        ["schema"],
        ["params", "lenet5", "--format", "csv", "--output", str(tmp_path / "out.csv")],
    ):
        result = subprocess.run([sys.executable, "-c", STATIC, *args], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
