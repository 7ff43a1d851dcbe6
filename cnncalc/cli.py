"""The command line. The only module that prints errors and chooses exit codes.

Exit codes: 0 ok, 1 invalid network, 2 usage error (unknown option, missing file), 3 internal error.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import List, Optional

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


class DType(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    float64 = "float64"
    int8 = "int8"


NET = typer.Argument(..., help="A YAML description file or a built-in network name (see 'cnncalc list').")
INPUT = typer.Option(None, "--input", help="Override the input shape without batch, e.g. 3x224x224.")
BATCH = typer.Option(1, "--batch", min=1, help="Batch size N; shapes and counts include it.")
DTYPE_OPTION = typer.Option(DType.float32, "--dtype", help="Element type for the byte figures.")
FORMAT = typer.Option(Format.table, "--format", help="table (for people) or json (one document, exact integers).")
DEPTH = typer.Option(None, "--depth", min=0, help="Collapse groups deeper than this to one row each (0: top level).")


def _fail(error: CnnCalcError) -> None:
    typer.echo(str(error), err=True)
    raise typer.Exit(2 if isinstance(error, UsageError) else 1)


def _report(net: str, input_shape: Optional[str], batch: int, dtype: DType):
    from .load import load, parse_input_option
    from .propagate import propagate

    shape = parse_input_option(input_shape) if input_shape else None
    return propagate(load(net, shape), batch, dtype.value)


def _show(figure: str, net: str, input_shape, batch, dtype, output_format, depth) -> None:
    try:
        report = _report(net, input_shape, batch, dtype)
    except CnnCalcError as error:
        _fail(error)
    from . import render

    if output_format is Format.json:
        typer.echo(json.dumps(render.to_json(report), indent=1))
        return
    from rich.console import Console

    console = Console(highlight=False)
    console.print(render.table(report, figure, depth))
    console.print()
    console.print(render.summary(report))


@app.command()
def shapes(net: str = NET, input: Optional[str] = INPUT, batch: int = BATCH, dtype: DType = DTYPE_OPTION,
           format: Format = FORMAT, depth: Optional[int] = DEPTH) -> None:
    """Output shape of every layer."""
    _show("shapes", net, input, batch, dtype, format, depth)


@app.command()
def params(net: str = NET, input: Optional[str] = INPUT, batch: int = BATCH, dtype: DType = DTYPE_OPTION,
           format: Format = FORMAT, depth: Optional[int] = DEPTH) -> None:
    """Parameters (and batch-norm buffers) of every layer."""
    _show("params", net, input, batch, dtype, format, depth)


@app.command()
def flops(net: str = NET, input: Optional[str] = INPUT, batch: int = BATCH, dtype: DType = DTYPE_OPTION,
          format: Format = FORMAT, depth: Optional[int] = DEPTH) -> None:
    """MACs and FLOPs of every layer."""
    _show("flops", net, input, batch, dtype, format, depth)


@app.command()
def check(nets: List[str] = typer.Argument(..., help="Description files or built-in names."),
          input: Optional[str] = INPUT, batch: int = BATCH) -> None:
    """Validate each network: one line per file, 'ok' or the error. Exit 0 only if all are valid."""
    from .units import human

    worst = 0
    for net in nets:
        try:
            report = _report(net, input, batch, DType.float32)
        except CnnCalcError as error:
            typer.echo(str(error) if error.location else f"{net}: {error}")
            worst = max(worst, 2 if isinstance(error, UsageError) else 1)
            continue
        typer.echo(f"{net}: ok ({report.name}: output {'x'.join(map(str, report.output))}, "
                   f"{human(report.totals.params)} params, {human(report.totals.macs, 'MACs')})")
    raise typer.Exit(worst)


@app.command("list")
def list_networks() -> None:
    """The built-in networks with their input, parameters and MACs."""
    from rich.console import Console
    from rich.table import Table

    from .load import builtin_names, load
    from .propagate import propagate
    from .units import grouped

    grid = Table(box=None, header_style="bold", pad_edge=False)
    for column, justify in (("Name", "left"), ("Input", "right"), ("Params", "right"), ("MACs", "right"),
                            ("Description", "left")):
        grid.add_column(column, justify=justify)
    for name in builtin_names():
        network = load(name)
        report = propagate(network)
        grid.add_row(name, "x".join(map(str, network.input)), grouped(report.totals.params),
                     grouped(report.totals.macs), network.description.split(". ")[0].split(" (")[0])
    Console(highlight=False).print(grid)


def main() -> None:
    """Console entry point: run the app; an unexpected failure is reported in one line, not a traceback."""
    try:
        app()
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
    except RecursionError:
        typer.echo("error: the description nests too deeply to process", err=True)
        sys.exit(1)
    except Exception as error:  # a bug in cnncalc: say so in one line, never a traceback
        typer.echo(f"internal error: {type(error).__name__}: {error} (please report this)", err=True)
        sys.exit(3)
