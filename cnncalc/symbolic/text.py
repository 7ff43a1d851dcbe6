"""The text of ``cnncalc sizes`` and of the conditions under a symbolic table; the solving is in ``solve``."""

from __future__ import annotations

from ..network import Network
from .recording import Recorded
from .solve import RULES, SizeSet, analyse, describe


def _layer_list(items: list[Recorded]) -> str:
    paths = list(dict.fromkeys(item.layer for item in items))
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return f"  ({shown})" if paths else ""


def _nearest(sizes: SizeSet, x: int) -> str:
    if x in sizes:
        return f"{x} itself"
    below, above = sizes.nearest(x)
    return " or ".join(str(v) for v in (below, above) if v is not None) or "none"


def sizes_text(network: Network, near: int | None = None) -> str:
    """The text ``cnncalc sizes`` prints."""
    network, dimensions = analyse(network)
    shape = " x ".join(str(size) for size in network.input)
    lines = [f"{network.name}: input {shape}  (sizes >= 1; k = 0, 1, 2, ...)"]
    for dim in dimensions:
        lines.append(dim.name)
        for rule, label in RULES.items():
            lines.append(f"  {label:<20} {describe(dim.by_rule[rule], dim.name):<24}{_layer_list(dim.layers[rule])}")
        lines.append(f"  {'valid':<20} {describe(dim.valid, dim.name)}")
        lines.append(f"  {'valid and exact':<20} {describe(dim.exact, dim.name)}")
        if near is not None:
            lines.append(f"  {f'nearest to {near}':<20} {_nearest(dim.valid, near)}"
                         f"  (exact: {_nearest(dim.exact, near)})")
    return "\n".join(lines)


def conditions_text(conditions: list[Recorded]) -> list[str]:
    """One line per required condition of a symbolic report: the layer, the condition and the rule."""
    return [f"  {item.layer}: {item.condition}  ({RULES[item.rule]})" for item in conditions if item.rule != "exact"]
