"""Rendering a Report: display rows (indented, optionally collapsed by depth), rich tables and JSON.

Nothing here computes shapes or counts; it only arranges what the propagator returned.
"""

from __future__ import annotations

from typing import NamedTuple

from .propagate import Report
from .registry import format_shape
from .symbolic.algebra import is_symbolic
from .units import grouped, human, is_zero

#: The columns each table command shows, after the layer name and kind.
COLUMNS = {"shapes": ("output",), "params": ("output", "params", "buffers"), "flops": ("output", "macs", "flops")}

HEADERS = {"params": "Params", "buffers": "Buffers", "macs": "MACs", "flops": "FLOPs"}

CONVENTION = (
    "params: trainable parameters (batch-norm running statistics are buffers); "
    "macs: multiply-accumulates of conv, convtranspose and linear, bias excluded; "
    "flops: every arithmetic operation, 2 per MAC plus bias, normalisation, activation, pooling and add; "
    "counts are for the whole batch"
)


class Row(NamedTuple):
    """One line of a table: a layer, or a group with the subtotals of the layers in it (a NamedTuple: a table
    makes hundreds, and they are cheap to create)."""

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


def rows(report: Report, max_depth: int | None = None) -> list[Row]:
    """Layers in order, each preceded by a header row for every group it opens; groups at ``max_depth`` collapse."""
    group_kinds = {group.path: group.kind for group in report.groups}
    members: dict[str, list] = {}  # group path -> [params, buffers, macs, flops, output of its last layer]
    for layer in report.layers:
        prefix = layer.path
        while "." in prefix:
            prefix = prefix.rpartition(".")[0]
            totals = members.get(prefix)
            if totals is None:
                members[prefix] = [layer.params, layer.buffers, layer.macs, layer.flops, layer.output]
            else:
                totals[0] += layer.params
                totals[1] += layer.buffers
                totals[2] += layer.macs
                totals[3] += layer.flops
                totals[4] = layer.output

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
            params, buffers, macs, flops, output = members[prefix]
            result.append(
                Row(
                    prefix,
                    parts[end - 1],
                    end - 1,
                    group_kinds.get(prefix, "group"),
                    output,
                    params,
                    buffers,
                    macs,
                    flops,
                    True,
                )
            )
            if max_depth is not None and end - 1 >= max_depth:
                collapsed = True
                break
        if not collapsed:
            result.append(
                Row(
                    layer.path,
                    parts[-1],
                    len(parts) - 1,
                    layer.kind,
                    layer.output,
                    layer.params,
                    layer.buffers,
                    layer.macs,
                    layer.flops,
                    False,
                )
            )
    return result


def _share(part: int, whole: int) -> str:
    if not (isinstance(part, int) and isinstance(whole, int)):
        return "-"  # symbolic counts have no single share
    return f"{100 * part / whole:.1f}%" if whole else "-"


BOLD, CYAN, RESET = "\x1b[1m", "\x1b[36m", "\x1b[0m"


def table(report: Report, figure: str, max_depth: int | None = None, color: bool = False) -> str:
    """The layers focused on ``figure`` (shapes, params or flops) as aligned text with a totals footer.

    Plain string formatting rather than a rich Table: ResNet-152's 600 rows render in milliseconds, not a second.
    With ``color``, headers, group rows and totals are bold and kinds cyan (ANSI).
    """
    columns = COLUMNS[figure][1:]
    totals = report.totals
    header = ["Layer", "Kind", "Output", *(HEADERS[column] for column in columns)]
    footer = ["Total", "", format_shape(report.output), *(grouped(getattr(totals, column)) for column in columns)]
    if figure != "shapes":
        header.append("%")
        footer.append("100%")
    main_total = getattr(totals, columns[0]) if columns else 0
    body: list[tuple[list[str], bool]] = []
    for row in rows(report, max_depth):
        cells = ["  " * row.depth + row.name, row.kind, format_shape(row.output)]
        cells += ["" if is_zero(getattr(row, column)) else grouped(getattr(row, column)) for column in columns]
        if figure != "shapes":
            cells.append("" if is_zero(getattr(row, columns[0])) else _share(getattr(row, columns[0]), main_total))
        body.append((cells, row.is_group))
    title = f"{report.name}  input {format_shape(report.input)}  ({report.dtype})"
    return title + "\n" + _table_text(header, body, footer, "ll" + "r" * (len(header) - 2), color)


def padded(rows: list[list[str]], justify: str = "", minimum: tuple[int, ...] = ()) -> list[list[str]]:
    """Every cell padded to its column's width: the widest cell, and at least ``minimum[i]``; flush left or right
    as ``justify`` says (``"llrr"``; left where it says nothing).

    A row's last cell, when flush left, runs to the end of the line: it is neither padded nor counted in its
    column's width, so a long cell ending a short row does not push the columns of the longer rows apart.
    """

    count = max(map(len, rows), default=0)
    right = [justify[i : i + 1] == "r" for i in range(count)]
    widths = [minimum[i] if i < len(minimum) else 0 for i in range(count)]
    for cells in rows:  # one pass over the cells, no call per cell: 100,000 rows in a fraction of a second
        last = len(cells) - 1
        for i, cell in enumerate(cells):
            if (i < last or right[i]) and len(cell) > widths[i]:
                widths[i] = len(cell)
    result = []
    for cells in rows:
        last = len(cells) - 1
        result.append(
            [
                cell.rjust(widths[i]) if right[i] else cell if i == last else cell.ljust(widths[i])
                for i, cell in enumerate(cells)
            ]
        )
    return result


def aligned(rows: list[list[str]], justify: str = "", minimum: tuple[int, ...] = (), indent: str = "") -> list[str]:
    """Rows of cells as lines of text: columns two spaces apart, padded as ``padded`` says, no trailing spaces.

    The one aligner of every text output: tables, ``list``, ``flops --at``, ``sizes`` and ``diff``.
    """
    return [(indent + "  ".join(cells)).rstrip() for cells in padded(rows, justify, minimum)]


def _table_text(
    header: list[str],
    body: list[tuple[list[str], bool]],
    footer: list[str] | None = None,
    justify: str = "",
    color: bool = False,
) -> str:
    """``body`` rows are (cells, bold); the header and footer are bold. With ``color`` (ANSI), bold is bold and
    the second column cyan."""
    rows = [(header, True), *body, *([(footer, True)] if footer else [])]
    lines = []
    for parts, bold in zip(padded([cells for cells, _ in rows], justify), (bold for _, bold in rows)):
        if not color:
            lines.append("  ".join(parts).rstrip())
            continue
        parts[1] = CYAN + parts[1] + RESET + (BOLD if bold else "")
        lines.append((BOLD if bold else "") + "  ".join(parts).rstrip() + RESET)
    return "\n".join(lines) + "\n"


def labelled(rows: list[list[str]]) -> str:
    """Summary lines, ``[label, value]`` each: the values start in one column, 13 as under every table."""
    return "\n".join(aligned(rows, minimum=(11,)))


def outputs_line(report: Report) -> list[list[str]]:
    """With auxiliary outputs, the summary lines naming every output and saying what the totals include."""
    if len(report.outputs) < 2:
        return []
    shown = ", ".join(
        f"{out.path} {format_shape(out.shape)}" + (" (main)" if out.aux is None else f" ({out.aux})")
        for out in report.outputs
    )
    t = report.totals
    heads = ", ".join(out.aux for out in report.outputs if out.aux is not None)
    return [
        ["outputs", shown],
        ["", f"params include the heads {heads}; MACs, FLOPs and activations are the inference pass, which"],
        ["", f"does not run them (in training they add {_exact(t.aux_macs)} MACs, {_exact(t.aux_flops)} FLOPs)"],
    ]


def _exact(value) -> str:
    return grouped(value) if isinstance(value, int) else str(value)


def summary(report: Report) -> str:
    """The totals, one line per figure: in human units for whole numbers, as exact expressions for symbolic sizes."""
    t = report.totals
    if is_symbolic((t.params, t.macs, t.flops, t.activation_bytes)):
        return _symbolic_summary(report)
    return labelled(
        [
            *outputs_line(report),
            ["params", f"{human(t.params)} ({grouped(t.params)})  + buffers {grouped(t.buffers)}"],
            ["MACs", f"{human(t.macs, 'MACs')} ({grouped(t.macs)})"],
            ["FLOPs", f"{human(t.flops, 'FLOPs')} ({grouped(t.flops)})"],
            [
                "memory",
                f"activations {human(t.activation_bytes, 'B')}, params {human(t.param_bytes, 'B')}, "
                f"input {human(t.input_bytes, 'B')}",
            ],
            ["", f"({report.dtype}; 1 MB = 10^6 bytes; activations = every layer's output)"],
        ]
    )


def _symbolic_summary(report: Report) -> str:
    t = report.totals

    return labelled(
        [
            *outputs_line(report),
            ["params", f"{_exact(t.params)}  + buffers {_exact(t.buffers)}"],
            ["MACs", _exact(t.macs)],
            ["FLOPs", _exact(t.flops)],
            [
                "memory",
                f"activations {_exact(t.activation_bytes)} B, "
                f"params {_exact(t.param_bytes)} B, input {_exact(t.input_bytes)} B  ({report.dtype})",
            ],
        ]
    )


def to_json(report: Report) -> dict:
    """The one JSON document shapes, params and flops print (documented in docs/json.md)."""
    paths = [layer.path for layer in report.layers]
    return {
        "name": report.name,
        "file": report.file,
        "dtype": report.dtype,
        "input": list(report.input),
        "output": list(report.output),
        "outputs": [{"path": out.path, "aux": out.aux, "shape": list(out.shape)} for out in report.outputs],
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
            "aux_macs": report.totals.aux_macs,
            "aux_flops": report.totals.aux_flops,
            "aux_activations": report.totals.aux_activations,
            "outputs": [out.path for out in report.outputs],
        },
        "convention": CONVENTION,
    }


def resolutions_text(name: str, batch: int, reports: list[Report]) -> str:
    """One line per input size: input, output, params and MACs (``flops --at``)."""
    rows = [["input", "output", "params", "MACs"]]
    rows += [
        [format_shape(r.input), format_shape(r.output), grouped(r.totals.params), grouped(r.totals.macs)]
        for r in reports
    ]
    return "\n".join([f"{name}: MACs and params per input size (batch {batch})", *aligned(rows, "rrrr")]) + "\n"


def resolutions_json(reports: list[Report]) -> list[dict]:
    """``flops --at --format json``: one object per input size."""
    return [
        {
            "input": list(r.input),
            "output": list(r.output),
            "params": r.totals.params,
            "macs": r.totals.macs,
            "flops": r.totals.flops,
        }
        for r in reports
    ]
