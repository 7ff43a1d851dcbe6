"""The per-kind tables of the docs, generated from the registry, never written by hand.

``docs/format.md`` holds the kinds table, ``docs/counting.md`` the MAC and FLOP rules, each between two marker
comments (``BEGIN`` and ``END``); ``tests/test_docs.py`` keeps the files equal to what ``fill`` makes of them, and
``pytest --update-golden`` rewrites them.
"""

from __future__ import annotations

from typing import Any

from . import kinds  # noqa: F401  (registers the layer kinds)
from .registry import REGISTRY, LayerKind


def _value(value: Any) -> str:
    """A default as it is written in YAML: ``true``, ``1e-5``, ``nearest``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value and abs(value) < 1e-3:
        mantissa, exponent = f"{value:e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _arguments(kind: LayerKind) -> str:
    """``out`` (main), ``stride`` (1), ...: the arguments with the main one and the defaults."""
    parts = []
    if kind.operands is not None:
        branches = ", or `branches` (below)" if kind.joins == "branches" else ""
        parts.append(f"`{kind.operands}` (main): a list of two or more earlier layers{branches}")
    for arg in kind.args:
        notes = ["main"] if arg.name == kind.main else []
        if arg.choices:
            notes.append(" or ".join(arg.choices))
        if arg.default is not None:
            notes.append(("default " if arg.choices else "") + _value(arg.default))
        text = ", ".join(notes)
        if arg.below is not None:
            low = "" if arg.minimum is None else f"{_value(arg.minimum)} <= "
            text += f"{'; ' if text else ''}{low}{arg.name} < {_value(arg.below)}"
        parts.append(f"`{arg.name}`" + (f" ({text})" if text else ""))
    return ", ".join(parts) or "-"


def kinds_table() -> str:
    """docs/format.md: every kind with what it computes, its arguments and its shape rule."""
    lines = ["| kind | what it computes | arguments (default) | shape rule |", "|---|---|---|---|"]
    lines += [f"| `{kind.name}` | {kind.doc} | {_arguments(kind)} | {kind.shape_rule} |" for kind in REGISTRY.values()]
    return "\n".join(lines) + "\n"


def macs_table() -> str:
    """docs/counting.md: the MAC rule of every kind that counts MACs."""
    lines = ["| kind | MACs |", "|---|---|"]
    lines += [f"| `{kind.name}` | {kind.macs_rule} |" for kind in REGISTRY.values() if kind.macs_rule is not None]
    return "\n".join(lines) + "\n"


def flops_table() -> str:
    """docs/counting.md: the FLOP rule of every kind; the kinds that compute nothing share the last row."""
    lines = ["| kind | FLOPs |", "|---|---|"]
    lines += [f"| `{kind.name}` | {kind.flops_rule} |" for kind in REGISTRY.values() if kind.flops_rule != "0"]
    free = [f"`{kind.name}`" for kind in REGISTRY.values() if kind.flops_rule == "0"]
    lines.append(f"| {', '.join(free)} | 0 |")
    return "\n".join(lines) + "\n"


#: The generated sections of each file under docs/: marker name -> the function making the text.
SECTIONS = {"format.md": {"kinds": kinds_table}, "counting.md": {"macs": macs_table, "flops": flops_table}}
BEGIN = "<!-- generated: {} (from the registry by cnncalc/doctables.py; pytest --update-golden rewrites it) -->\n"
END = "<!-- end generated: {} -->"


def fill(text: str, file: str) -> str:
    """``text`` of docs/``file`` with every generated section made anew; a missing marker is an error."""
    for name, make in SECTIONS[file].items():
        begin, end = BEGIN.format(name), END.format(name)
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ValueError(f"docs/{file} needs the markers {begin.strip()} and {end} once each")
        head, rest = text.split(begin)
        text = head + begin + make() + end + rest.split(end, 1)[1]
    return text
