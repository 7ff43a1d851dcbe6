"""What is printed adds up: group rows and the footer against the printed layer rows, the summary against the footer,
JSON totals against the layer records, in every table format, with and without --depth.

The group subtotals are the renderer's own sums (render.rows) and the totals the propagator's; these tests read both
back from the printed text, so a subtotal or total that drifts from its rows fails here.
"""

from __future__ import annotations

import csv
import io
import json
import re
from fractions import Fraction
from functools import cache
from typing import NamedTuple

import pytest

NETWORKS = ["resnet50", "unet", "alexnet", "vgg16", "lenet5"]
#: The figures each command prints: the CSV / JSON key, then the table header.
FIGURES = {"params": (("params", "Params"), ("buffers", "Buffers")), "flops": (("macs", "MACs"), ("flops", "FLOPs"))}
DEPTHS = [None, 0, 1]


@cache
def printed(*args: str) -> str:
    """Standard output of ``cnncalc ARGS`` (cached: the uncollapsed tables are read by many tests)."""
    from typer.testing import CliRunner

    from cnncalc.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout


def command_output(command: str, net: str, output_format: str, depth: int | None = None) -> str:
    return printed(command, net, "--format", output_format, *(("--depth", str(depth)) if depth is not None else ()))


class Line(NamedTuple):
    path: str
    kind: str
    output: str
    figures: tuple[int, ...]
    bold: bool | None  # markdown: a group row; csv: its group flag; the plain text table does not say


class Table(NamedTuple):
    rows: list[Line]
    total: tuple[int, ...] | None  # the footer; csv has none
    shares: dict[str, str]  # path -> the % cell (text table only)
    summary: list[str]  # the lines under the table (text table only)


def number(cell: str) -> int:
    """A printed count: blank is zero, digits may be grouped with commas."""
    return int(cell.replace(",", "")) if cell else 0


def path_of(stack: list[str], depth: int, name: str) -> str:
    """The path of a row indented ``depth`` levels, under the rows printed before it."""
    assert depth <= len(stack), f"{name} is indented deeper than the row above it"
    stack[depth:] = [name]
    return ".".join(stack)


def parse_text(text: str, command: str) -> Table:
    lines = text.splitlines()
    blank = lines.index("")
    header, body, footer = lines[1], lines[2 : blank - 1], lines[blank - 1]
    words = [(word.group(), word.start(), word.end()) for word in re.finditer(r"\S+", header)]
    assert [word for word, _, _ in words] == ["Layer", "Kind", "Output", *(head for _, head in FIGURES[command]), "%"]
    kind_start = words[1][1]
    ends = [end for _, _, end in words[2:]]  # Output and the numbers are flush right: a cell ends under its header

    def cells(line: str) -> tuple[str, int, list[str], list[str]]:
        name = line[:kind_start]
        kind_and_output = line[kind_start : ends[0]].split()
        right = [line[start:end].strip() for start, end in zip(ends, ends[1:])]
        return name, len(name) - len(name.lstrip(" ")), kind_and_output, right

    rows, shares, stack = [], {}, []
    for line in body:
        name, indent, (kind, output), right = cells(line)
        assert indent % 2 == 0, line
        path = path_of(stack, indent // 2, name.strip())
        rows.append(Line(path, kind, output, tuple(map(number, right[:-1])), None))
        shares[path] = right[-1]
    name, _, [output], right = cells(footer)
    assert name.strip() == "Total" and right[-1] == "100%", footer
    return Table(rows, tuple(map(number, right[:-1])), shares, lines[blank + 1 :])


def parse_markdown(text: str, command: str) -> Table:
    lines = text.splitlines()

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]

    assert cells(lines[2]) == ["Layer", "Kind", "Output", *(head for _, head in FIGURES[command])]
    rows, stack = [], []
    for line in lines[4:-1]:
        name, kind, output, *figures = cells(line)
        bold = name.startswith("**") and name.endswith("**")
        name = name.strip("*")
        depth = name.count("&nbsp;&nbsp;")
        rows.append(
            Line(path_of(stack, depth, name.replace("&nbsp;", "")), kind, output, tuple(map(number, figures)), bold)
        )
    name, _, _, *total = (cell.strip("*") for cell in cells(lines[-1]))
    assert name == "Total", lines[-1]
    return Table(rows, tuple(map(number, total)), {}, [])


def parse_csv(text: str, command: str) -> Table:
    records = list(csv.DictReader(io.StringIO(text)))
    keys = [key for key, _ in FIGURES[command]]
    assert list(records[0]) == ["path", "depth", "kind", "group", "output", *keys]
    for record in records:
        assert int(record["depth"]) == record["path"].count("."), record
    rows = [
        Line(
            record["path"],
            record["kind"],
            record["output"],
            tuple(int(record[key]) for key in keys),
            record["group"] == "1",
        )
        for record in records
    ]
    return Table(rows, None, {}, [])


PARSERS = {"table": parse_text, "markdown": parse_markdown, "csv": parse_csv}


def table(command: str, net: str, output_format: str, depth: int | None = None) -> Table:
    return PARSERS[output_format](command_output(command, net, output_format, depth), command)


def inside(rows: list[Line], path: str) -> list[Line]:
    return [row for row in rows if row.path.startswith(path + ".")]


def column_sums(rows: list[Line], width: int) -> tuple[int, ...]:
    return tuple(sum(row.figures[i] for row in rows) for i in range(width))


@pytest.mark.parametrize("output_format", list(PARSERS))
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("command", list(FIGURES))
@pytest.mark.parametrize("net", NETWORKS)
def test_group_rows_and_total_are_the_sums_of_the_printed_layer_rows(net, command, depth, output_format):
    shown, full = table(command, net, output_format, depth), table(command, net, output_format)
    width = len(FIGURES[command])
    groups = {row.path for row in full.rows if inside(full.rows, row.path)}
    layers = [row for row in full.rows if row.path not in groups]
    assert [row.path for row in shown.rows] == [
        row.path for row in full.rows if depth is None or row.path.count(".") <= depth
    ]
    leaves = [row for row in shown.rows if not inside(shown.rows, row.path)]  # layers and collapsed groups
    for row in shown.rows:
        if row.bold is not None:
            assert row.bold == (row.path in groups), row
        if row.path not in groups:
            continue
        members = [leaf for leaf in leaves if leaf.path.startswith(row.path + ".")] or inside(layers, row.path)
        assert row.figures == column_sums(members, width), f"group row {row.path} is not the sum of its layers"
        assert row.output == inside(layers, row.path)[-1].output, f"group row {row.path}: not its last layer's output"
    if shown.total is not None:
        assert shown.total == column_sums(leaves, width), "the Total row is not the sum of the layer rows"
    for row in shown.rows:  # the % column: each row's share of the first figure's total
        if shown.shares and row.figures[0]:
            assert abs(float(shown.shares[row.path].rstrip("%")) - 100 * row.figures[0] / shown.total[0]) <= 0.05
        elif shown.shares:
            assert shown.shares[row.path] == "", row


PREFIXES = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}


def summary_figures(summary: list[str]) -> dict[str, int]:
    """The exact figures of the summary lines, each checked against its human-unit rounding beside it."""
    figures = {}
    for line in summary[:3]:
        match = re.fullmatch(
            r"(params|MACs|FLOPs) +(\d+(?:\.\d\d)?)(?: ([kMGTP]?)(?:MACs|FLOPs)?)? \(([\d,]+)\)"
            r"(?:  \+ buffers ([\d,]+))?",
            line,
        )
        assert match, line
        label, rounded, prefix, exact, buffers = match.groups()
        scale, value = PREFIXES[prefix or ""], number(exact)
        assert scale <= max(value, 1) < 1000 * scale, line
        assert abs(Fraction(rounded) * scale - value) <= Fraction(scale, 200), line
        figures[label.lower()] = value
        if buffers is not None:
            figures["buffers"] = number(buffers)
    return figures


@pytest.mark.parametrize("depth", [None, 0])
@pytest.mark.parametrize("command", list(FIGURES))
@pytest.mark.parametrize("net", NETWORKS)
def test_summary_lines_agree_with_the_footer(net, command, depth):
    shown = table(command, net, "table", depth)
    figures = summary_figures(shown.summary)
    assert tuple(figures[key] for key, _ in FIGURES[command]) == shown.total


@pytest.mark.parametrize("net", NETWORKS)
def test_json_totals_are_the_sums_of_the_layer_records(net):
    document = json.loads(printed("params", net, "--format", "json"))
    layers, totals = document["layers"], document["totals"]
    for field in ("params", "buffers", "macs", "flops", "activations"):
        assert totals[field] == sum(layer[field] for layer in layers), field
    assert (totals["activation_bytes"], totals["param_bytes"]) == (4 * totals["activations"], 4 * totals["params"])
    assert document["output"] == layers[-1]["output"]
    # ... and agree with what the tables print (csv has no footer: its layer rows)
    for command, figures in FIGURES.items():
        expected = tuple(totals[key] for key, _ in figures)
        assert table(command, net, "table").total == table(command, net, "markdown").total == expected
        assert column_sums([row for row in table(command, net, "csv").rows if not row.bold], len(figures)) == expected
    group_rows = {row.path: row.kind for row in table("params", net, "csv").rows if row.bold}
    paths = [layer["path"] for layer in layers]
    kinds = {
        group["path"]: group["kind"]
        for group in document["groups"]
        if any(path.startswith(group["path"] + ".") for path in paths)
    }  # an identity shortcut holds no layer
    assert kinds.items() <= group_rows.items()
