"""Rendering a Report: display rows (indented, optionally collapsed by depth), rich tables and JSON.

Nothing here computes shapes or counts; it only arranges what the propagator returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from .layers import format_shape
from .propagate import Report
from .units import grouped, human

FIGURES = {
    "shapes": ("output",),
    "params": ("output", "params", "buffers"),
    "flops": ("output", "macs", "flops"),
}

HEADERS = {"params": "Params", "buffers": "Buffers", "macs": "MACs", "flops": "FLOPs"}

CONVENTION = (
    "params: trainable parameters (batch-norm running statistics are buffers); "
    "macs: multiply-accumulates of conv, convtranspose and linear, bias excluded; "
    "flops: every arithmetic operation, 2 per MAC plus bias, normalisation, activation, pooling and add; "
    "counts are for the whole batch"
)


@dataclass(frozen=True)
class Row:
    """One line of a table: a layer, or a group with the subtotals of the layers in it."""

    path: str
    name: str
    depth: int
    kind: str
    output: tuple
    params: int
    buffers: int
    macs: int
    flops: int
    is_group: bool


def _depth(path: str) -> int:
    return path.count(".")


def rows(report: Report, max_depth: int | None = None) -> list[Row]:
    """Layers in order, each preceded by a header row for every group it opens; groups at ``max_depth`` collapse."""
    group_kinds = {group.path: group.kind for group in report.groups}
    members: dict[str, list] = {}
    for layer in report.layers:
        parts = layer.path.split(".")
        for end in range(1, len(parts)):
            members.setdefault(".".join(parts[:end]), []).append(layer)

    result: list[Row] = []
    opened: set[str] = set()
    for layer in report.layers:
        parts = layer.path.split(".")
        collapsed = False
        for end in range(1, len(parts)):
            prefix = ".".join(parts[:end])
            if prefix in opened:
                if max_depth is not None and end - 1 >= max_depth:
                    collapsed = True
                    break
                continue
            opened.add(prefix)
            inside = members[prefix]
            result.append(Row(prefix, parts[end - 1], end - 1, group_kinds.get(prefix, "group"), inside[-1].output,
                              sum(m.params for m in inside), sum(m.buffers for m in inside),
                              sum(m.macs for m in inside), sum(m.flops for m in inside), True))
            if max_depth is not None and end - 1 >= max_depth:
                collapsed = True
                break
        if not collapsed:
            result.append(Row(layer.path, parts[-1], len(parts) - 1, layer.kind, layer.output, layer.params,
                              layer.buffers, layer.macs, layer.flops, False))
    return result


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def table(report: Report, figure: str, max_depth: int | None = None):
    """A rich Table of the layers focused on ``figure`` (shapes, params or flops), with a totals footer."""
    from rich.table import Table
    from rich.text import Text

    totals = report.totals
    grid = Table(title=f"{report.name}  input {format_shape(report.input)}  ({report.dtype})", title_justify="left",
                 show_footer=True, header_style="bold", footer_style="bold", box=None, pad_edge=False)
    grid.add_column("Layer", footer="Total")
    grid.add_column("Kind", style="cyan")
    grid.add_column("Output", footer=format_shape(report.output), justify="right")
    columns = FIGURES[figure][1:]
    for column in columns:
        total = getattr(totals, column)
        grid.add_column(HEADERS[column], footer=grouped(total), justify="right")
    if figure != "shapes":
        grid.add_column("%", footer="100%", justify="right")
    main_total = getattr(totals, columns[0]) if columns else 0
    for row in rows(report, max_depth):
        name = Text("  " * row.depth + row.name, style="bold" if row.is_group else "")
        cells = [name, row.kind, format_shape(row.output)]
        cells += [grouped(getattr(row, column)) if getattr(row, column) else "" for column in columns]
        if figure != "shapes":
            cells.append(_share(getattr(row, columns[0]), main_total) if getattr(row, columns[0]) else "")
        grid.add_row(*cells)
    return grid


def summary(report: Report) -> str:
    """The totals in human units, one line per figure."""
    t = report.totals
    return "\n".join([
        f"params       {human(t.params)} ({grouped(t.params)})  + buffers {grouped(t.buffers)}",
        f"MACs         {human(t.macs, 'MACs')} ({grouped(t.macs)})",
        f"FLOPs        {human(t.flops, 'FLOPs')} ({grouped(t.flops)})",
        f"memory       activations {human(t.activation_bytes, 'B')}, params {human(t.param_bytes, 'B')}, "
        f"input {human(t.input_bytes, 'B')}",
        f"             ({report.dtype}; 1 MB = 10^6 bytes; activations = every layer's output)",
    ])


def to_json(report: Report) -> dict:
    """The one JSON document shapes, params and flops print (documented in docs/json.md)."""
    paths = [layer.path for layer in report.layers]
    return {
        "name": report.name,
        "file": report.file,
        "dtype": report.dtype,
        "input": list(report.input),
        "output": list(report.output),
        "layers": [
            {
                "path": layer.path,
                "kind": layer.kind,
                "line": layer.line,
                "inputs": [paths[i] if i >= 0 else "input" for i in layer.inputs],
                "output": list(layer.output),
                "params": layer.params,
                "buffers": layer.buffers,
                "macs": layer.macs,
                "flops": layer.flops,
                "activations": layer.activations,
            }
            for layer in report.layers
        ],
        "groups": [{"path": group.path, "kind": group.kind} for group in report.groups],
        "totals": {
            "params": report.totals.params,
            "buffers": report.totals.buffers,
            "macs": report.totals.macs,
            "flops": report.totals.flops,
            "activations": report.totals.activations,
            "activation_bytes": report.totals.activation_bytes,
            "param_bytes": report.totals.param_bytes,
            "input_bytes": report.totals.input_bytes,
        },
        "convention": CONVENTION,
    }
