"""No crash on any input: random and mutated descriptions through the CLI end in exit 0 or a clean error.

The only outcomes allowed are exit 0, or exit 1/2 with one-line ``...: error: ...`` messages: never a traceback,
never exit 3 (an internal error), never a hang. Mutations start from the built-in descriptions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.errors import CnnCalcError
from cnncalc.expr import ExpressionError, evaluate
from cnncalc.load import parse_network
from cnncalc.propagate import propagate
from cnncalc.registry import REGISTRY

ARCHITECTURES = Path(__file__).parent.parent / "architectures"
SOURCES = {
    name: (ARCHITECTURES / f"{name}.yaml").read_text(encoding="utf-8")
    for name in ("lenet5", "alexnet", "resnet18", "_resnet")
}
SCALE = int(os.environ.get("CNNCALC_FUZZ_SCALE", "1"))  # raise it for a longer hunt: CNNCALC_FUZZ_SCALE=50
FUZZ = settings(
    max_examples=120 * SCALE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
SECONDS_PER_INPUT = 10
CLEAN_LINE = re.compile(r"^(.+: error: .+|.+: ok \(.+\)|checked \d+ files?: .+)$")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(ARCHITECTURES / "_resnet.yaml", folder / "_resnet.yaml")
    return folder


@pytest.fixture(scope="module")
def runner():
    from typer.testing import CliRunner

    return CliRunner()


def assert_clean(runner, args: list[str]) -> None:
    """Run the CLI in-process; the outcome must be exit 0 or clean one-line errors with exit 1 or 2."""
    from cnncalc.cli import app

    start = time.perf_counter()
    result = runner.invoke(app, args, catch_exceptions=True)
    assert time.perf_counter() - start < SECONDS_PER_INPUT, f"too slow: {args}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"crash on {args}") from result.exception
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    for line in result.stderr.splitlines():
        assert CLEAN_LINE.match(line), line
    report = args[args.index("--format") + 1] if "--format" in args else "text"
    if not result.stdout:
        assert result.exit_code, "nothing printed"
    elif report == "json":
        json.loads(result.stdout)
    elif report == "junit":
        ElementTree.fromstring(result.stdout)
    elif report == "github":
        assert all(line.startswith(("::error file=", "checked ")) for line in result.stdout.splitlines())
    elif args[0] == "check":
        for line in result.stdout.splitlines():
            assert CLEAN_LINE.match(line), line


def check_text(runner, folder: Path, text: str, *options: str) -> None:
    path = folder / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert_clean(runner, ["check", str(path), *options])


# -- mutations of the built-in descriptions -----------------------------------------------------------------------
TOKENS = [
    "",
    "-",
    "- ",
    ":",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "<<: *a",
    "{<<: [*a, *a]}",
    "!!str ",
    "!!python/name:os.system",
    # every YAML tag that builds a type the checks do not expect, and surrogate escapes (both used to crash)
    "!!omap ",
    "!!pairs ",
    "!!set ",
    "!!binary ",
    "!!timestamp ",
    "!local ",
    "2020-01-01",
    '"\\ud800"',
    '"\\udfff\\ud800"',
    "\\ud83d",
    "'",
    '"',
    "#",
    "|",
    ">",
    "\t",
    "0",
    "-1",
    "1e999",
    ".nan",
    "999999999999999999999999",
    "true",
    "null",
    "~",
    "conv",
    "relu",
    "repeat",
    "residual",
    "times",
    "layers",
    "blocks",
    "include",
    "in_channels",
    "groups: 7",
    "kernel: 99",
    "stride: 0",
    "padding: same",
    "when: false",
    "name: x",
    "of: [previous, x]",
    "width * 4",
    "i == 0",
    "2 ** 64",
    "__import__('os')",
    "expect:",
    "max: 1k",
    "\u00e9",
    "\x85",
    "\ufeff",
]


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(sorted(SOURCES.values())))
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["delete", "duplicate", "swap", "number", "token", "truncate", "indent"]))
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        if operation == "delete" and len(lines) > 1:
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, line)
        elif operation == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], line
        elif operation == "number":
            numbers = list(re.finditer(r"\d+", line))
            if numbers:
                match = draw(st.sampled_from(numbers))
                value = draw(
                    st.one_of(
                        st.integers(-3, 20),
                        st.integers(-(10**30), 10**30),
                        st.sampled_from(["0.5", "1e3", "-0", "2147483648", "true", "x"]),
                    )
                )
                lines[index] = line[: match.start()] + str(value) + line[match.end() :]
        elif operation == "token":
            position = draw(st.integers(0, len(line)))
            lines[index] = line[:position] + draw(st.sampled_from(TOKENS)) + line[position:]
        elif operation == "truncate":
            lines[index] = line[: draw(st.integers(0, len(line)))]
        elif operation == "indent":
            lines[index] = draw(st.sampled_from(["", " ", "  ", "    ", "\t"])) + line.lstrip()
    return "\n".join(lines)


@FUZZ
@given(text=mutated())
def test_mutated_builtins(runner, workdir, text):
    check_text(runner, workdir, text)


@settings(FUZZ, max_examples=40 * SCALE)
@given(text=mutated(), report=st.sampled_from(["json", "github", "junit"]))
def test_mutated_builtins_in_every_report_format(runner, workdir, text, report):
    check_text(runner, workdir, text, "--format", report)


@settings(FUZZ, max_examples=30 * SCALE)
@given(
    text=mutated(),
    command=st.sampled_from(["shapes", "params", "flops"]),
    output_format=st.sampled_from(["table", "json", "markdown", "csv"]),
)
def test_mutated_builtins_through_the_table_commands(runner, workdir, text, command, output_format):
    path = workdir / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8")
    assert_clean(runner, [command, str(path), "--format", output_format])


# -- random descriptions ----------------------------------------------------------------------------------------
SCALARS = st.one_of(
    st.integers(-5, 70),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(
        [
            "same",
            "valid",
            "in_channels",
            "in_channels * 2",
            "1 / 0",
            "x",
            "previous",
            "input",
            "nearest",
            "bilinear",
            "",
            "max(1, 2)",
        ]
    ),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4), max_leaves=8)
KINDS = sorted(REGISTRY) + ["residual", "repeat", "group", "unknown"]
ARGUMENT_NAMES = sorted(
    {arg.name for kind in REGISTRY.values() for arg in kind.args}
    | {"name", "when", "of", "times", "layers", "main", "shortcut", "var", "branches"}
)


def _yaml_value(value) -> str:
    if isinstance(value, float) and value != value:
        return ".nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    return json.dumps(value)


@st.composite
def layer(draw, depth: int = 0) -> str:
    kind = draw(st.sampled_from(KINDS))
    arguments = draw(st.dictionaries(st.sampled_from(ARGUMENT_NAMES), VALUES, max_size=4))
    if kind in ("residual", "repeat", "group") and depth < 2:
        inner = draw(st.lists(layer(depth + 1), min_size=0, max_size=3))
        key = {"residual": "main", "repeat": "layers", "group": "layers"}[kind]
        arguments[key] = inner
    parts = []
    for key, value in arguments.items():
        rendered = (
            "[" + ", ".join(value) + "]"
            if isinstance(value, list)
            and value
            and all(isinstance(item, str) and item.startswith("{") for item in value)
            else _yaml_value(value)
        )
        parts.append(f"{key}: {rendered}")
    return "{" + f"{kind}: " + "{" + ", ".join(parts) + "}}"


@st.composite
def description(draw) -> str:
    shape = draw(st.lists(st.integers(-1, 40), min_size=0, max_size=5))
    layers = draw(st.lists(layer(), min_size=0, max_size=6))
    return f"name: fuzz\ninput: {shape}\nlayers: [{', '.join(layers)}]\n"


@FUZZ
@given(text=description())
def test_random_descriptions(runner, workdir, text):
    check_text(runner, workdir, text)


@settings(FUZZ, max_examples=200 * SCALE)
@given(text=description())
def test_random_descriptions_raise_only_cnncalc_errors(text):
    try:
        propagate(parse_network(text, "fuzz.yaml"))
    except CnnCalcError as error:
        assert "\n" not in str(error)


@settings(FUZZ, max_examples=100 * SCALE)
@given(text=st.text(max_size=300))
def test_arbitrary_text(runner, workdir, text):
    check_text(runner, workdir, text.replace("\x00", ""))


# -- expressions --------------------------------------------------------------------------------------------------
EXPRESSION_PARTS = [
    "1",
    "0",
    "-",
    "+",
    "*",
    "/",
    "//",
    "%",
    "**",
    "(",
    ")",
    "x",
    "k",
    "in_channels",
    "min(",
    "max(",
    ",",
    " if ",
    " else ",
    "==",
    "<",
    " and ",
    " or ",
    "not ",
    "1e308",
    "64",
    "True",
    "[",
    "]",
    ".",
    "__class__",
    "lambda",
    ":",
    "'a'",
    "open(",
    "import ",
    "[1]*9",
    "{",
    "}",
    "@",
    "~",
    "<<",
    "x.y",
]


@settings(FUZZ, max_examples=400 * SCALE)
@given(parts=st.lists(st.sampled_from(EXPRESSION_PARTS), max_size=30))
def test_expressions_fail_only_with_expression_errors(parts):
    try:
        value = evaluate("".join(parts), {"x": 3, "k": [3, 3], "in_channels": 64})
    except ExpressionError:
        return
    assert isinstance(value, (int, float, bool, list))


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd').read()",
        "(1).__class__.__bases__",
        "x.real",
        "[c for c in ()]",
        "lambda: 1",
        "k[0]",
        "(y := 1)",
        "eval('1')",
        "exec('1')",
        "globals()",
        "f'{x}'",
        "getattr(x, 'real')",
        "().__class__",
        "'a' * 10",
        "k * 1000000000",
        "-k",
        "k < 2",
        "min(k, 2)",
    ],
)
def test_expressions_cannot_reach_python(text):
    with pytest.raises(ExpressionError):
        evaluate(text, {"x": 3, "k": [3, 3]})


def test_yaml_is_loaded_safely(tmp_path):
    marker = tmp_path / "marker"
    text = f"name: !!python/object/apply:os.system ['touch {marker}']\ninput: [3]\nlayers: [relu]\n"
    with pytest.raises(CnnCalcError, match="YAML tag .!!python/object/apply:os.system. is not allowed"):
        parse_network(text, "t.yaml")
    assert not marker.exists()


# -- the real entry points, in a subprocess ------------------------------------------------------------------------
BAD = Path(__file__).parent / "bad"


@pytest.mark.parametrize("command", [[sys.executable, "-m", "cnncalc"], [str(Path(sys.executable).parent / "cnncalc")]])
def test_entry_points_fail_cleanly(command, tmp_path):
    if not Path(command[0]).exists():
        pytest.skip("console script not installed beside this Python")
    (tmp_path / "bomb.yaml").write_bytes((BAD / "alias_bomb.yaml").read_bytes())
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage\x00")
    (tmp_path / "deep.yaml").write_text("input: [3]\nlayers: " + "[" * 100000 + "]" * 100000 + "\n")
    for target in ("bomb.yaml", "binary.yaml", "deep.yaml", str(BAD / "repeat_nested_skipped.yaml")):
        result = subprocess.run([*command, "check", target], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert result.returncode == 1, (target, result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
        assert result.stdout.splitlines()[0].split(": error: ")[1]


# -- every option, any text ----------------------------------------------------------------------------------------
# Each command with the options that take a value (paths written to are left out: a fuzzed path could be anywhere).
# run is fuzzed under a small --max-memory, so that no fuzzed size makes it allocate much.
OPTIONS = {
    ("shapes", "lenet5"): ["--input", "--batch", "--dtype", "--format", "--depth", "--set"],
    ("params", "lenet5"): ["--input", "--batch", "--format", "--depth", "--set"],
    ("flops", "lenet5"): ["--input", "--batch", "--format", "--set", "--at"],
    ("sizes", "lenet5"): ["--input", "--near", "--set"],
    ("check", "lenet5"): [
        "--input",
        "--batch",
        "--dtype",
        "--format",
        "--max-params",
        "--max-macs",
        "--max-flops",
        "--max-activation-bytes",
    ],
    ("run", "lenet5", "--max-memory", "96MiB"): ["--input", "--batch", "--seed", "--dtype", "--format", "--set"],
    ("run", "lenet5"): ["--max-memory", "--weights", "--input-data"],
    ("weights", "lenet5"): ["--input", "--format", "--set"],
    ("diff", "lenet5", "alexnet"): ["--input", "--batch", "--dtype", "--format"],
}
CASES = [(command, option) for command, options in OPTIONS.items() for option in options]
ANY_CHARACTER = st.one_of(st.characters(), st.characters(categories=["Cs"]))  # surrogates too: argv can hold them
OPTION_TEXT = st.one_of(
    st.text(ANY_CHARACTER, max_size=30),
    st.integers(-(10**40), 10**40).map(str),
    st.integers(1, 6000).map(lambda digits: "9" * digits),  # past Python's 4,300-digit int() limit
    st.integers(1, 6000).map(lambda digits: "-" + "1" * digits),
    st.sampled_from(["2147483647", "2147483648", "0", "-1", "1e400", "nan", "inf", "3xHxW", "H=2147483648", "²"]),
    st.sampled_from(["H=" + "9" * 5000, "x=1e999", "a=b=c", ",", "=", "224," + "9" * 5000, "1" + "0" * 400 + "B"]),
)


def assert_exit_0_1_or_2(runner, args: list[str]) -> None:
    """The CLI in-process: exit 0, 1 or 2, never an exception (exit 3 in the console script), never slow."""
    from cnncalc.cli import app

    start = time.perf_counter()
    result = runner.invoke(app, args, catch_exceptions=True)
    assert time.perf_counter() - start < SECONDS_PER_INPUT, f"too slow: {args}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"crash on {[arg[:50] for arg in args]}") from result.exception
    assert result.exit_code in (0, 1, 2), result.output
    assert "internal error" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("command, option", CASES, ids=[f"{c[0]} {o}" for c, o in CASES])
@settings(FUZZ, max_examples=15 * SCALE)
@given(text=OPTION_TEXT)
def test_any_text_for_any_option_is_exit_0_1_or_2(runner, command, option, text):
    assert_exit_0_1_or_2(runner, [*command, option, text])


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "lenet5", "--seed", "-1"], "Invalid value for '--seed'"),
        (["shapes", "lenet5", "--batch", "9" * 5000], "--batch must be at most 2,147,483,647, received '9999"),
        (["shapes", "lenet5", "--batch", "2147483648"], "--batch must be at most 2,147,483,647, received '2147483648'"),
        (["check", "lenet5", "--batch", "2147483648"], "Invalid value for '--batch'"),
        (["run", "lenet5", "--batch", "2147483648"], "Invalid value for '--batch'"),
        (["flops", "lenet5", "--at", "224," + "9" * 5000], "--at sizes must be at most 2,147,483,647"),
        (["flops", "lenet5", "--at", "2147483648"], "--at sizes must be at most 2,147,483,647"),
        (["shapes", "lenet5", "--input", "1xHxW", "--set", "H=" + "9" * 5000], "--set H: whole numbers go up to"),
        (["shapes", "lenet5", "--input", "1xHxW", "--set", "H=2147483648"], "--set H: whole numbers go up to"),
        (["shapes", "lenet5", "--input", "1xHxW", "--set", "H=1e400"], "--set H: a number must be finite"),
        (["run", "lenet5", "--max-memory", "9" * 400], "--max-memory must be a size in bytes"),
        (["sizes", "lenet5", "--near", "2147483648"], "Invalid value for '--near'"),
    ],
)
def test_unbounded_numbers_are_usage_errors(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output) < 1000  # a 5,000-digit value is not echoed in full
