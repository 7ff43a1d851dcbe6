"""The command line. The only module that prints errors and chooses exit codes.

Exit codes: 0 ok, 1 invalid network, 2 usage error (unknown option, missing file), 3 internal error (one line;
CNNCALC_DEBUG=1 prints its traceback too).
"""

# No 'from __future__ import annotations' here: typer would evaluate every annotation string of every command at
# each start, a few milliseconds of start-up.
import os
import sys
from enum import Enum
from typing import NoReturn

import typer

from .errors import CnnCalcError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Layer-by-layer shapes, parameters, MACs, FLOPs and memory of convolutional networks.",
)


class Format(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"


class DataFormat(str, Enum):
    table = "table"
    json = "json"


DATA_FORMAT = typer.Option(DataFormat.table, "--format", help="table (for people) or json.")


class DType(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    float64 = "float64"
    int8 = "int8"


NET = typer.Argument(..., help="A YAML description file or a built-in network name (see 'cnncalc list').")
INPUT = typer.Option(None, "--input", help="Override the input shape without batch, e.g. 3x224x224.")
BATCH = typer.Option(1, "--batch", min=1, max=2**31 - 1, help="Batch size N; shapes and counts include it.")
DTYPE_OPTION = typer.Option(DType.float32, "--dtype", help="Element type for the byte figures.")
FORMAT = typer.Option(
    Format.table,
    "--format",
    help="table (for people), json (one document, exact integers), markdown or csv (the table's rows).",
)
OUTPUT = typer.Option(
    None,
    "--output",
    "-o",
    help="Write to this file instead of standard output (atomically; a FIFO or device is written through).",
)
DEPTH = typer.Option(None, "--depth", min=0, help="Collapse groups deeper than this to one row each (0: top level).")
ARGS_SET = typer.Option(None, "--set", help="Values of the description's args, e.g. aux_logits=true.")
SYMBOLIC_BATCH = typer.Option("1", "--batch", help="Batch size: a whole number or a size symbol like N.")
SET = typer.Option(
    None,
    "--set",
    help="Values of the description's args (aux_logits=true) and sizes of a symbolic input's symbols (H=227,W=227).",
)


def _dumps(data) -> str:
    """JSON text; the json module is imported only when JSON is asked for (start-up time)."""
    import json

    return json.dumps(data, indent=1, default=str)


def _version() -> str:
    """The installed distribution's version; from a source tree that is not installed, its pyproject.toml's.
    importlib.metadata is imported only when --version is asked for (start-up time)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cnncalc")
    except PackageNotFoundError:
        import tomllib
        from pathlib import Path

        try:
            with open(Path(__file__).parent.parent / "pyproject.toml", "rb") as file:
                return tomllib.load(file)["project"]["version"] + " (not installed)"
        except (OSError, ValueError, KeyError):
            return "unknown (not installed)"


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"cnncalc {_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print cnncalc's version and exit."
    ),
) -> None:
    """The options before the command (typer's app callback; the app's help text stays the one given above)."""


def _fail(error: CnnCalcError) -> NoReturn:
    """Print the error in its one line and exit: 2 for a usage error, 1 for an invalid network."""
    typer.echo(str(error), err=True)
    raise typer.Exit(2 if isinstance(error, UsageError) else 1)


def _load(net: str, input_shape: str | None, binding: str | None = None):
    """(network, settings): the network with its ``args:`` set by ``--set``, and every ``--set`` value."""
    from .load import load
    from .options import parse_input_option, parse_settings

    settings = parse_settings(binding) if binding else {}
    return load(net, parse_input_option(input_shape) if input_shape else None, settings), settings


def _concrete(net: str, input_shape: str | None, batch: int, dtype: DType, binding: str | None = None):
    """(network, report) at whole-number sizes; a --set name that is not one of the description's args is an
    error (a concrete input has no size symbols)."""
    from .propagate import propagate, size_binding

    network, settings = _load(net, input_shape, binding)
    size_binding(network, batch, settings)
    return network, propagate(network, batch, dtype.value)


def _report(net: str, input_shape: str | None, batch: int, dtype: DType, binding: str | None = None):
    return _concrete(net, input_shape, batch, dtype, binding)[1]


def _emit(text: str, output: str | None) -> None:
    """Print ``text``, or write it atomically to ``output``."""
    if output is None:
        typer.echo(text, nl=False)
        return
    from .atomic import write_atomic

    try:
        write_atomic(output, text)
    except CnnCalcError as error:
        _fail(error)


def _propagate(network, batch: str, dtype: DType, settings: dict):
    """(report, conditions); the symbolic machinery is imported only for symbolic sizes (start-up time)."""
    from .options import parse_batch

    sizes = [name for name in settings if name not in (network.args or {})]
    parsed_batch = parse_batch(batch)
    if isinstance(parsed_batch, int) and not sizes and all(isinstance(n, int) for n in network.input):
        from .propagate import propagate

        return propagate(network, parsed_batch, dtype.value), []
    from .propagate import propagate_any, size_binding

    symbolic_batch = parsed_batch
    binding = size_binding(network, symbolic_batch, settings)
    return propagate_any(network, symbolic_batch, dtype.value, binding)


def _show(figure: str, net: str, input_shape, batch, dtype, output_format, depth, output=None, binding=None) -> None:
    try:
        network, settings = _load(net, input_shape, binding)
        report, conditions = _propagate(network, batch, dtype, settings)
    except CnnCalcError as error:
        _fail(error)
    from . import render

    if output_format is Format.json:  # symbolic sizes and counts are strings (docs/symbolic.md)
        _emit(_dumps(render.to_json(report)) + "\n", output)
        return
    if output_format in (Format.markdown, Format.csv):
        from . import tables

        text = (tables.markdown if output_format is Format.markdown else tables.csv_text)(report, figure, depth)
        _emit(text, output)
        return
    color = output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    text = render.table(report, figure, depth, color) + "\n" + render.summary(report) + "\n"
    if conditions:
        from .symbolic.text import conditions_text

        if conditions_text(conditions):
            text += "\nholds only when (see 'cnncalc sizes'):\n" + "\n".join(conditions_text(conditions)) + "\n"
    _emit(text, output)


@app.command()
def shapes(
    net: str = NET,
    input: str | None = INPUT,
    batch: str = SYMBOLIC_BATCH,
    dtype: DType = DTYPE_OPTION,
    format: Format = FORMAT,
    depth: int | None = DEPTH,
    output: str | None = OUTPUT,
    set: str | None = SET,
) -> None:
    """Output shape of every layer (closed-form expressions for a symbolic input such as 3xHxW)."""
    _show("shapes", net, input, batch, dtype, format, depth, output, set)


@app.command()
def params(
    net: str = NET,
    input: str | None = INPUT,
    batch: str = SYMBOLIC_BATCH,
    dtype: DType = DTYPE_OPTION,
    format: Format = FORMAT,
    depth: int | None = DEPTH,
    output: str | None = OUTPUT,
    set: str | None = SET,
) -> None:
    """Parameters (and batch-norm buffers) of every layer."""
    _show("params", net, input, batch, dtype, format, depth, output, set)


@app.command()
def flops(
    net: str = NET,
    input: str | None = INPUT,
    batch: str = SYMBOLIC_BATCH,
    dtype: DType = DTYPE_OPTION,
    format: Format = FORMAT,
    depth: int | None = DEPTH,
    output: str | None = OUTPUT,
    set: str | None = SET,
    at: str | None = typer.Option(
        None, "--at", help="MACs and params at square inputs of these sizes, e.g. 128,160,224,320 (one line each)."
    ),
) -> None:
    """MACs and FLOPs of every layer."""
    if at is not None:
        from . import render
        from .options import parse_batch, parse_resolutions
        from .propagate import at_resolutions, size_binding

        try:
            sizes, whole_batch = parse_resolutions(at), parse_batch(batch)
            if not isinstance(whole_batch, int):
                raise UsageError("--at needs a whole-number --batch")
            network, settings = _load(net, input, set)
            if size_binding(network, whole_batch, settings):
                raise UsageError("--at sets the sizes itself: --set takes only the description's args here")
            reports = at_resolutions(network, sizes, whole_batch)
        except CnnCalcError as error:
            _fail(error)
        if format is Format.json:
            _emit(_dumps(render.resolutions_json(reports)) + "\n", output)
        else:
            _emit(render.resolutions_text(network.name, whole_batch, reports), output)
        return
    _show("flops", net, input, batch, dtype, format, depth, output, set)


@app.command()
def sizes(
    net: str = NET,
    input: str | None = INPUT,
    near: int | None = typer.Option(
        None, "--near", min=1, max=2**31 - 1, help="Also show the valid sizes nearest to this."
    ),
    set: str | None = typer.Option(None, "--set", help="Values of the description's args, e.g. aux_logits=true."),
) -> None:
    """The input sizes a network accepts, per spatial size: minimum, congruences, nearest valid (docs/symbolic.md)."""
    from .propagate import size_binding
    from .symbolic.solve import analyse
    from .symbolic.text import sizes_text

    try:
        network, settings = _load(net, input, set)
        if size_binding(network, 1, settings):
            raise UsageError("sizes solves for the sizes itself: --set takes only the description's args here")
        network, dimensions = analyse(network)
    except CnnCalcError as error:
        _fail(error)
    typer.echo(sizes_text(network, dimensions, near))


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    junit = "junit"


def _limit_option(option: str, what: str):
    return typer.Option(None, option, help=f"Fail a network whose {what} is above this (e.g. 25M, 4G; bytes: 200MB).")


@app.command()
def check(
    paths: list[str] = typer.Argument(
        ..., help="Description files, folders (every .yaml/.yml below), glob patterns or built-in names."
    ),
    input: str | None = INPUT,
    batch: int = BATCH,
    dtype: DType = DTYPE_OPTION,
    format: CheckFormat = typer.Option(
        CheckFormat.text,
        "--format",
        help="text (file:line:col: error: ...), json, github (workflow annotations) or junit (XML test results).",
    ),
    output: str | None = OUTPUT,
    max_params: str | None = _limit_option("--max-params", "parameter count"),
    max_macs: str | None = _limit_option("--max-macs", "MAC count"),
    max_flops: str | None = _limit_option("--max-flops", "FLOP count"),
    max_activation_bytes: str | None = _limit_option("--max-activation-bytes", "activation memory"),
    execute: bool = typer.Option(
        False,
        "--execute",
        help="Also run each network with NumPy (random weights, "
        "seed 0) and compare every layer's shape (see docs/execution.md).",
    ),
) -> None:
    """Validate every network and its budgets ('expect:'); report all failures. Exit 0 only if all pass."""
    from .ci import formats
    from .ci.budget import option_limits
    from .ci.check import CheckOptions, check_all, exit_code
    from .options import parse_input_option

    try:
        limits = option_limits(
            {
                "--max-params": max_params,
                "--max-macs": max_macs,
                "--max-flops": max_flops,
                "--max-activation-bytes": max_activation_bytes,
            }
        )
        shape = parse_input_option(input) if input else None
    except CnnCalcError as error:
        _fail(error)
    extra = [_cross_check] if execute else []
    results = check_all(paths, CheckOptions(shape, batch, dtype.value, tuple(limits)), extra)
    _emit(formats.render(results, format.value), output)
    raise typer.Exit(exit_code(results))


def _cross_check(target: str, network, report) -> str:
    from .backend.crosscheck import check_command  # imports NumPy: only on this path

    return check_command(network, report)


class RunDType(str, Enum):
    float32 = "float32"
    float64 = "float64"


@app.command()
def run(
    net: str = NET,
    input: str | None = INPUT,
    batch: int = BATCH,
    seed: int = typer.Option(
        0, "--seed", min=0, max=2**64 - 1, help="Seed of the random weights and input (0 to 2^64-1)."
    ),
    weights: str | None = typer.Option(
        None,
        "--weights",
        help="An .npz or .safetensors of arrays keyed <layer path>.weight, .bias, .running_mean, .running_var "
        "(see 'cnncalc weights').",
    ),
    input_data: str | None = typer.Option(None, "--input-data", help="An .npy input batch instead of noise."),
    save_output: str | None = typer.Option(
        None, "--save-output", help="Write the main output as .npy; each auxiliary output beside it (OUT.aux1.npy)."
    ),
    dtype: RunDType = typer.Option(RunDType.float32, "--dtype", help="Element type of the arrays."),
    max_memory: str = typer.Option("4GiB", "--max-memory", help="Refuse a run estimated above this (512MiB, 2GB)."),
    format: DataFormat = DATA_FORMAT,
    set: str | None = ARGS_SET,
) -> None:
    """Execute the network with NumPy and compare each layer's executed shape with the computed one."""
    try:
        network, report = _concrete(net, input, batch, DType(dtype.value), set)
        from .backend import crosscheck, view  # imports NumPy: only on this path

        with view.DelayedProgress(f"running {report.name}") as progress:
            result = crosscheck.run(
                network,
                report,
                seed=seed,
                weights_file=weights,
                input_file=input_data,
                dtype=dtype.value,
                max_memory=max_memory,
                save_to=save_output,
                on_layer=progress,
            )
    except CnnCalcError as error:
        _fail(error)
    if format is DataFormat.json:
        typer.echo(_dumps(view.run_json(result)))
    else:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        typer.echo(view.run_table(result, color) + "\n" + view.run_summary(result))
    if result.mismatch is not None:
        _fail(crosscheck.mismatch_error(network, result))


@app.command("weights")
def weights_command(
    net: str = NET, input: str | None = INPUT, format: DataFormat = DATA_FORMAT, set: str | None = ARGS_SET
) -> None:
    """The arrays 'run --weights' expects: keys (PyTorch state_dict names) and shapes."""
    try:
        report = _report(net, input, 1, DType.float32, set)
    except CnnCalcError as error:
        _fail(error)
    from .backend import view
    from .backend.weights import expected

    if format is DataFormat.json:
        typer.echo(_dumps(view.weights_json(report.name, expected(report))))
        return
    from rich.console import Console

    Console(highlight=False).print(view.weights_table(report.name, expected(report)))


class DiffFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


@app.command("diff")
def diff_command(
    old: str = typer.Argument(..., help="The description before the change (file or built-in name)."),
    new: str = typer.Argument(..., help="The description after the change."),
    input: str | None = INPUT,
    batch: int = BATCH,
    dtype: DType = DTYPE_OPTION,
    format: DiffFormat = typer.Option(
        DiffFormat.text, "--format", help="text, markdown (for a review comment) or json."
    ),
    all_layers: bool = typer.Option(False, "--all", help="List every layer, not only those that differ."),
    output: str | None = OUTPUT,
) -> None:
    """Differences in shapes, parameters and MACs between two descriptions: per layer (matched by path) and total."""
    from .ci import diff

    try:
        before = _report(old, input, batch, dtype)
        after = _report(new, input, batch, dtype)
    except CnnCalcError as error:
        _fail(error)
    _emit(diff.render(diff.compare(before, after), format.value, all_layers), output)


@app.command("schema")
def schema_command(output: str | None = OUTPUT) -> None:
    """The JSON Schema of the description format, for editors (see docs/ci.md)."""
    from .ci.schema import schema

    _emit(_dumps(schema()) + "\n", output)


@app.command("list")
def list_networks() -> None:
    """The built-in networks by family, with their input, parameters and MACs."""
    from .load import builtin_family, builtin_names, load
    from .propagate import propagate
    from .render import aligned
    from .units import grouped

    families: dict[str, list[str]] = {}
    rows = [["Family", "Name", "Input", "Params", "MACs", "Description"]]
    try:
        for name in builtin_names():
            families.setdefault(builtin_family(name), []).append(name)
        networks = {name: load(name) for names in families.values() for name in names}
        reports = {name: propagate(network) for name, network in networks.items()}
    except CnnCalcError as error:
        _fail(error)
    for family in sorted(families, key=lambda family: (family == "", family)):  # those of no family last
        for index, name in enumerate(families[family]):
            network, report = networks[name], reports[name]
            rows.append(
                [
                    "" if index else family or "other",
                    name,
                    "x".join(map(str, network.input)),
                    grouped(report.totals.params),
                    grouped(report.totals.macs),
                    network.description.split(". ")[0].split(" (")[0],
                ]
            )
    typer.echo("\n".join(aligned(rows, "llrrrl")))


def main() -> None:
    """Console entry point: run the app; an unexpected failure is reported in one line, not a traceback (with
    CNNCALC_DEBUG=1, the traceback first)."""
    try:
        app()
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
    except RecursionError:
        typer.echo("error: the description nests too deeply to process", err=True)
        sys.exit(1)
    except CnnCalcError as error:  # every command catches its own; this keeps a forgotten one a clean line too
        typer.echo(str(error), err=True)
        sys.exit(2 if isinstance(error, UsageError) else 1)
    except Exception as error:  # a bug in cnncalc: say so in one line; the traceback only for who debugs it
        if os.environ.get("CNNCALC_DEBUG", "") not in ("", "0"):
            import traceback

            traceback.print_exc()
        typer.echo(f"internal error: {type(error).__name__}: {error} (please report this)", err=True)
        sys.exit(3)
