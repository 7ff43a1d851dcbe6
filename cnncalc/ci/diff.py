"""``cnncalc diff OLD NEW``: what changes between two descriptions, layer by layer (matched by path) and in total.

Made for review comments: the Markdown form is a totals table and the changed layers; JSON holds everything.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from ..propagate import LayerResult, Report
from ..registry import format_shape
from ..render import aligned
from ..units import grouped, human

TOTALS = ("params", "buffers", "macs", "flops", "activation_bytes", "param_bytes")
TOTAL_NAMES = {
    "params": "params",
    "buffers": "buffers",
    "macs": "MACs",
    "flops": "FLOPs",
    "activation_bytes": "activation bytes",
    "param_bytes": "param bytes",
}
#: What can become of a layer path between two descriptions (LayerChange.status).
STATUSES = ("added", "removed", "changed", "same")


@dataclass(frozen=True)
class LayerChange:
    """One layer path: ``added``, ``removed``, ``changed`` (kind, shape, params or MACs differ) or ``same``."""

    path: str
    status: str
    old: LayerResult | None
    new: LayerResult | None

    def figure(self, name: str) -> tuple[int, int]:
        return (getattr(self.old, name) if self.old else 0, getattr(self.new, name) if self.new else 0)


@dataclass(frozen=True)
class Diff:
    old: Report
    new: Report
    layers: tuple[LayerChange, ...]

    @property
    def changed(self) -> list[LayerChange]:
        return [change for change in self.layers if change.status != "same"]


def _same(old: LayerResult, new: LayerResult) -> bool:
    return (old.kind, old.output, old.params, old.macs) == (new.kind, new.output, new.params, new.macs)


def compare(old: Report, new: Report) -> Diff:
    """Match layers by path, keeping the order of both networks (removed layers stand where they were)."""
    old_paths = [layer.path for layer in old.layers]
    new_paths = [layer.path for layer in new.layers]
    old_by_path = {layer.path: layer for layer in old.layers}
    new_by_path = {layer.path: layer for layer in new.layers}
    changes: list[LayerChange] = []
    matcher = difflib.SequenceMatcher(None, old_paths, new_paths, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for path in new_paths[j1:j2]:
                a, b = old_by_path[path], new_by_path[path]
                changes.append(LayerChange(path, "same" if _same(a, b) else "changed", a, b))
            continue
        for path in old_paths[i1:i2]:
            if path in new_by_path:
                continue  # moved: reported where it stands in the new network
            changes.append(LayerChange(path, "removed", old_by_path[path], None))
        for path in new_paths[j1:j2]:
            if path in old_by_path:
                a, b = old_by_path[path], new_by_path[path]
                changes.append(LayerChange(path, "same" if _same(a, b) else "changed", a, b))
            else:
                changes.append(LayerChange(path, "added", None, new_by_path[path]))
    return Diff(old, new, tuple(changes))


def _delta(old: int, new: int) -> str:
    if old == new:
        return "0"
    share = f" ({100 * (new - old) / old:+.1f}%)" if old else ""
    return f"{new - old:+,}{share}"


def _shape(layer: LayerResult | None) -> str:
    return format_shape(layer.output) if layer else "-"


def _number(layer: LayerResult | None, name: str) -> str:
    return grouped(getattr(layer, name)) if layer else "-"


def _totals_rows(diff: Diff) -> list[tuple[str, str, str, str]]:
    rows = [
        (
            "output",
            format_shape(diff.old.output),
            format_shape(diff.new.output),
            "same" if diff.old.output == diff.new.output else "changed",
        ),
        (
            "layers",
            str(len(diff.old.layers)),
            str(len(diff.new.layers)),
            _delta(len(diff.old.layers), len(diff.new.layers)),
        ),
    ]
    for name in TOTALS:
        a, b = getattr(diff.old.totals, name), getattr(diff.new.totals, name)
        rows.append((TOTAL_NAMES[name], grouped(a), grouped(b), _delta(a, b)))
    return rows


def _layer_cells(change: LayerChange) -> tuple[str, ...]:
    kind = change.new.kind if change.new else change.old.kind
    if change.old and change.new and change.old.kind != change.new.kind:
        kind = f"{change.old.kind} -> {change.new.kind}"
    shape = _shape(change.new) if change.status != "removed" else _shape(change.old)
    if change.old and change.new and change.old.output != change.new.output:
        shape = f"{_shape(change.old)} -> {_shape(change.new)}"
    params = _delta(*change.figure("params"))
    macs = _delta(*change.figure("macs"))
    return change.path, change.status, kind, shape, params, macs


def text(diff: Diff, show_all: bool = False) -> str:
    """Plain text: the totals, then one line per changed layer."""
    lines = [f"{diff.old.name} ({diff.old.file}) -> {diff.new.name} ({diff.new.file})", ""]
    lines += aligned([list(row) for row in _totals_rows(diff)], "lrrl", minimum=(0, 16, 16), indent="  ")
    shown = diff.layers if show_all else diff.changed
    lines.append("")
    lines.append(f"{len(diff.changed)} of {len(diff.layers)} layers differ" + (":" if shown else ""))
    rows = []
    for path, status, kind, shape, params, macs in map(_layer_cells, shown):
        rows.append([status, f"{path}  {kind}  {shape}  params {params}  MACs {macs}"])
    lines += aligned(rows, minimum=(max(map(len, STATUSES)),), indent="  ")
    return "\n".join(lines) + "\n"


def _md(text_value: str) -> str:
    return text_value.replace("|", "\\|")


def markdown(diff: Diff, show_all: bool = False) -> str:
    """A review comment: totals table, then the changed layers in a collapsible table."""
    new_params, old_params = diff.new.totals.params, diff.old.totals.params
    lines = [
        f"### cnncalc diff: `{_md(diff.old.name)}` → `{_md(diff.new.name)}`",
        "",
        f"params {human(old_params)} → {human(new_params)}, "
        f"MACs {human(diff.old.totals.macs, 'MACs')} → {human(diff.new.totals.macs, 'MACs')}",
        "",
        "| | old | new | change |",
        "|:---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {a} | {b} | {delta} |" for name, a, b, delta in _totals_rows(diff)]
    shown = diff.layers if show_all else diff.changed
    if shown:
        lines += [
            "",
            f"<details><summary>{len(diff.changed)} of {len(diff.layers)} layers differ</summary>",
            "",
            "| layer | change | kind | output | params | MACs |",
            "|:---|:---|:---|---:|---:|---:|",
        ]
        lines += ["| " + " | ".join(_md(cell) for cell in cells) + " |" for cells in map(_layer_cells, shown)]
        lines += ["", "</details>"]
    else:
        lines += ["", f"No layer differs ({len(diff.layers)} layers)."]
    return "\n".join(lines) + "\n"


def _layer_json(layer: LayerResult | None) -> dict | None:
    if layer is None:
        return None
    return {
        "kind": layer.kind,
        "output": list(layer.output),
        "params": layer.params,
        "macs": layer.macs,
        "flops": layer.flops,
    }


def to_json(diff: Diff, show_all: bool = False) -> str:
    """Everything, exact integers: totals old/new/delta and every layer (or only the changed ones)."""
    totals = {}
    for name in TOTALS:
        a, b = getattr(diff.old.totals, name), getattr(diff.new.totals, name)
        totals[name] = {"old": a, "new": b, "delta": b - a}
    document = {
        "old": {"name": diff.old.name, "file": diff.old.file, "output": list(diff.old.output)},
        "new": {"name": diff.new.name, "file": diff.new.file, "output": list(diff.new.output)},
        "totals": totals,
        "changed": len(diff.changed),
        "layers": [
            {
                "path": change.path,
                "status": change.status,
                "old": _layer_json(change.old),
                "new": _layer_json(change.new),
            }
            for change in (diff.layers if show_all else diff.changed)
        ],
    }
    return json.dumps(document, indent=1) + "\n"


def render(diff: Diff, diff_format: str, show_all: bool = False) -> str:
    return {"text": text, "markdown": markdown, "json": to_json}[diff_format](diff, show_all)
