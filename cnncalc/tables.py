"""The shapes / params / flops tables as Markdown (for review comments and docs) and CSV (for spreadsheets).

Both are made from render.rows(), like the rich table, so the three always show the same rows.
"""

from __future__ import annotations

import csv
import io

from .propagate import Report
from .registry import format_shape
from .render import COLUMNS, HEADERS, outputs_line, rows
from .units import grouped, is_zero


def _columns(figure: str) -> tuple[str, ...]:
    return COLUMNS[figure][1:]


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(report: Report, figure: str, max_depth: int | None = None) -> str:
    """A GitHub-flavoured Markdown table: layers indented by depth, groups in bold, totals in the last row."""
    columns = _columns(figure)
    header = ["Layer", "Kind", "Output", *(HEADERS[column] for column in columns)]
    lines = [
        f"**{_cell(report.name)}**  input {format_shape(report.input)} ({report.dtype})",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":---", ":---", "---:", *("---:" for _ in columns)]) + "|",
    ]
    for row in rows(report, max_depth):
        name = "&nbsp;&nbsp;" * row.depth + _cell(row.name)
        if row.is_group:
            name = f"**{name}**"
        values = ["" if is_zero(getattr(row, column)) else grouped(getattr(row, column)) for column in columns]
        lines.append("| " + " | ".join([name, _cell(row.kind), format_shape(row.output), *values]) + " |")
    totals = [f"**{grouped(getattr(report.totals, column))}**" for column in columns]
    lines.append("| " + " | ".join(["**Total**", "", f"**{format_shape(report.output)}**", *totals]) + " |")
    for label, text in outputs_line(report):
        lines += ["", f"{label}: {_cell(text)}"]
    return "\n".join(lines) + "\n"


def csv_text(report: Report, figure: str, max_depth: int | None = None) -> str:
    """CSV with a header row; one row per layer or group (``group`` is 1 for group rows), exact integers."""
    columns = _columns(figure)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "depth", "kind", "group", "output", *columns])
    for row in rows(report, max_depth):
        writer.writerow(
            [
                row.path,
                row.depth,
                row.kind,
                int(row.is_group),
                format_shape(row.output),
                *(getattr(row, column) for column in columns),
            ]
        )
    return buffer.getvalue()
