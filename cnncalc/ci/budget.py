"""Budgets and expectations: limits on a network's totals, from its ``expect:`` key or from the command line.

```yaml
expect:
  output: [1000]                 # the output shape per sample (without the batch)
  params: {max: 25M}             # counts take k, M, G, T (steps of 1000)
  macs: {min: 1G, max: 4G}
  activation_bytes: {max: 200MB} # bytes take kB, MB, GB, TB (1000) or KiB, MiB, GiB, TiB (1024)
  flops: 3.6G                    # a bare value is an exact expectation
```

A violation is a CnnCalcError giving the limit and the actual value, located at the value that set the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..errors import CnnCalcError, Location, UsageError
from ..registry import format_shape, suggest
from ..units import grouped, human

#: The figures a limit may be set on, and whether they are plain counts or bytes.
BUDGET_UNITS = {
    "params": "count",
    "buffers": "count",
    "macs": "count",
    "flops": "count",
    "activations": "count",
    "activation_bytes": "bytes",
    "param_bytes": "bytes",
}
EXPECT_KEYS = ("output", *BUDGET_UNITS)
BOUNDS = ("min", "max")

COUNT_UNITS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
BYTE_UNITS = {
    "": 1, "B": 1,
    "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
UNIT_HELP = {
    "count": "a count like 25M (k, M, G, T: steps of 1000)",
    "bytes": "a size like 200MB (kB, MB, GB, TB: steps of 1000; KiB, MiB, GiB, TiB: steps of 1024)",
}
_QUANTITY = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


@dataclass(frozen=True)
class Limit:
    """One bound on one figure: ``params <= 25M``. ``source`` says who set it (``expect`` or an option name)."""

    figure: str
    bound: str  # "min", "max" or "exact"
    value: Fraction
    text: str
    location: Location | None = None
    source: str = "expect"


@dataclass(frozen=True)
class Expectations:
    """What a description's ``expect:`` asks for."""

    output: tuple | None = None
    output_location: Location | None = None
    limits: tuple[Limit, ...] = ()


def parse_quantity(value: Any, unit: str) -> Fraction:
    """``25M`` -> 25000000, ``200MB`` -> 200000000, ``1.5GiB`` -> 1610612736; ValueError with the accepted forms."""
    units = COUNT_UNITS if unit == "count" else BYTE_UNITS
    if isinstance(value, bool) or value is None:
        raise ValueError(UNIT_HELP[unit])
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")) or value < 0:
            raise ValueError(UNIT_HELP[unit])
        return Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    match = _QUANTITY.match(str(value)) if isinstance(value, str) and len(value) < 40 else None
    if not match or match.group(2) not in units:
        raise ValueError(UNIT_HELP[unit])
    return Fraction(match.group(1).replace("_", "").replace(",", "")) * units[match.group(2)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:,}" if isinstance(value, int) else str(value)


def parse_expectations(value: Any, location: Location) -> Expectations:
    """Check the ``expect:`` mapping of a description; every mistake points at its key or value."""
    from ..source import Mapping

    if not isinstance(value, Mapping):
        raise CnnCalcError("expect must be a mapping like {params: {max: 25M}, output: [1000]}", location)
    output, output_location, limits = None, None, []
    for key, entry in value.items():
        where = value.location_of(key)
        if key not in EXPECT_KEYS:
            raise CnnCalcError(f"expect has no key '{key}'{suggest(key, list(EXPECT_KEYS))} "
                               f"(it takes: {', '.join(EXPECT_KEYS)})", value.key_locations.get(key, location))
        if key == "output":
            output, output_location = _expected_shape(entry, where), where
            continue
        if isinstance(entry, Mapping):
            if not entry:
                raise CnnCalcError(f"expect {key} needs min or max", where)
            for bound, amount in entry.items():
                if bound not in BOUNDS:
                    raise CnnCalcError(f"expect {key} takes min and max, not '{bound}'{suggest(bound, list(BOUNDS))}",
                                       entry.key_locations.get(bound, where))
                limits.append(_limit(key, bound, amount, entry.location_of(bound)))
        else:
            limits.append(_limit(key, "exact", entry, where))
    return Expectations(output, output_location, tuple(limits))


def _expected_shape(value: Any, location: Location) -> tuple:
    if not isinstance(value, list) or not value or not all(
            isinstance(size, int) and not isinstance(size, bool) and size >= 1 for size in value):
        raise CnnCalcError(f"expect output must be a shape without the batch like [1000], received {value!r}", location)
    return tuple(value)


def _limit(figure: str, bound: str, amount: Any, location: Location) -> Limit:
    try:
        value = parse_quantity(amount, BUDGET_UNITS[figure])
    except ValueError as error:
        raise CnnCalcError(f"expect {figure} {bound}: must be {error}, received {amount!r}", location) from None
    return Limit(figure, bound, value, _text(amount), location)


def option_limits(options: dict[str, Any]) -> list[Limit]:
    """Limits from command-line options: ``{"--max-params": "25M", ...}``; None values are skipped."""
    limits = []
    for option, text in options.items():
        if text is None:
            continue
        bound, figure = option.lstrip("-").split("-", 1)
        figure = figure.replace("-", "_")
        try:
            value = parse_quantity(text, BUDGET_UNITS[figure])
        except ValueError as error:
            raise UsageError(f"{option} must be {error}, received '{text}'") from None
        limits.append(Limit(figure, bound, value, text, None, option))
    return limits


def violations(report, expectations: Expectations | None, extra: list[Limit] = ()) -> list[CnnCalcError]:
    """Every expectation and limit the report breaks, in the order they were written."""
    found = []
    expectations = expectations or Expectations()
    if expectations.output is not None and tuple(report.output[1:]) != expectations.output:
        found.append(CnnCalcError(
            f"output shape {format_shape(report.output[1:])} differs from the expected "
            f"{format_shape(expectations.output)}", expectations.output_location))
    for limit in (*expectations.limits, *extra):
        actual = getattr(report.totals, limit.figure)
        broken = {"max": actual > limit.value, "min": actual < limit.value, "exact": actual != limit.value}[limit.bound]
        if broken:
            found.append(CnnCalcError(_message(limit, actual), limit.location))
    return found


def _message(limit: Limit, actual: int) -> str:
    unit = "B" if BUDGET_UNITS[limit.figure] == "bytes" else ""
    exact = Fraction(limit.value)
    amount = f"{exact.numerator:,}" if exact.denominator == 1 else f"{float(exact):,.1f}"
    setting = f"{limit.text} = {amount}" if limit.text.replace(",", "") != amount.replace(",", "") else amount
    where = f" ({limit.source})" if limit.source != "expect" else ""
    relation = {"max": "is above the maximum", "min": "is below the minimum", "exact": "differs from the expected"}
    readable = f" ({human(actual, unit)})" if human(actual, unit) != f"{grouped(actual)} {unit}".strip() else ""
    return f"{limit.figure} {grouped(actual)}{readable} {relation[limit.bound]} {setting}{where}"
