"""The text of ``cnncalc sizes`` and of the conditions under a symbolic table; the solving is in ``solve``."""

from __future__ import annotations

from ..network import Network
from ..render import aligned
from .recording import Recorded
from .solve import RULES, VALID, Dimension, SizeSet, describe

#: The least widths of the label and size-set columns, so that layer lists start at one place whatever the net.
_LEAST_WIDTHS = (19, 24)


def _layer_list(items: list[Recorded]) -> str:
    paths = list(dict.fromkeys(item.layer for item in items))
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return f"({shown})" if paths else ""


def _nearest(sizes: SizeSet, x: int) -> str:
    if x in sizes:
        return f"{x} itself"
    below, above = sizes.nearest(x)
    return " or ".join(str(v) for v in (below, above) if v is not None) or "none"


def _set(dim: Dimension, sizes: SizeSet, *rules: str) -> str:
    """The set in words, preceded by 'within' when undecided conditions may narrow it further."""
    return ("within " if dim.within(*rules) else "") + describe(sizes, dim.name)


def _undecided(dim: Dimension) -> str:
    """How many conditions are undecided, and the first with its layer and reason."""
    entries = [entry for rule in RULES for entry in dim.undecided[rule]]
    item, reason = entries[0]
    first = reason if item is None else f"{item.layer}: {item.condition}, {reason}"
    count = f"{len(entries)} conditions" if len(entries) > 1 else "1 condition"
    return f"{count}, the first: {first}"


def sizes_text(network: Network, dimensions: list[Dimension], near: int | None = None) -> str:
    """The text ``cnncalc sizes`` prints for what ``solve.analyse`` found (its network has the symbolic input)."""
    shape = " x ".join(str(size) for size in network.input)
    rows: list[list[str]] = []
    names = {}  # row index -> the dimension whose rows start there
    for dim in dimensions:
        names[len(rows)] = dim.name
        rows += [
            [label, _set(dim, dim.by_rule[rule], rule), _layer_list(dim.layers[rule])] for rule, label in RULES.items()
        ]
        rows += [["valid", _set(dim, dim.valid, *VALID)], ["valid and exact", _set(dim, dim.exact, *RULES)]]
        if near is not None:
            rows.append([f"nearest to {near}", f"{_nearest(dim.valid, near)}  (exact: {_nearest(dim.exact, near)})"])
        if dim.within(*RULES):
            rows.append(["undecided", _undecided(dim)])
    lines = [f"{network.name}: input {shape}  (sizes >= 1; k = 0, 1, 2, ...)"]
    for index, line in enumerate(aligned(rows, minimum=_LEAST_WIDTHS, indent="  ")):
        lines += [names[index], line] if index in names else [line]
    return "\n".join(lines)


def conditions_text(conditions: list[Recorded]) -> list[str]:
    """One line per required condition of a symbolic report: the layer, the condition and the rule."""
    return [f"  {item.layer}: {item.condition}  ({RULES[item.rule]})" for item in conditions if item.rule != "exact"]
