"""Budgets and expectations: limits on a network's totals, from its ``expect:`` key or from the command line.

```yaml
expect:
  output: [1000]                 # the output shape per sample (without the batch)
  params: {max: 25M}             # counts take k, M, G, T, P (steps of 1000)
  macs: {min: 1G, max: 4G}
  activation_bytes: {max: 200MB} # bytes take kB, MB, GB, TB, PB (1000) or KiB, MiB, GiB, TiB, PiB (1024)
  flops: 3.6G                    # a bare value is an exact expectation
```

Amounts are read by ``units.parse_quantity``, as the ``--max-*`` options and ``run --max-memory`` are. A violation
is a CnnCalcError giving the limit and the actual value, located at the value that set the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import CnnCalcError, Location, UsageError
from ..registry import format_shape, suggest
from ..units import grouped, human, parse_quantity

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


@dataclass(frozen=True)
class Limit:
    """One bound on one figure: ``params <= 25M``. ``source`` says who set it (``expect`` or an option name)."""

    figure: str
    bound: str  # "min", "max" or "exact"
    value: int
    text: str
    location: Location | None = None
    source: str = "expect"


@dataclass(frozen=True)
class Expectations:
    """What a description's ``expect:`` asks for."""

    output: tuple | None = None
    output_location: Location | None = None
    limits: tuple[Limit, ...] = ()


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
            raise CnnCalcError(
                f"expect has no key '{key}'{suggest(key, list(EXPECT_KEYS))} (it takes: {', '.join(EXPECT_KEYS)})",
                value.key_locations.get(key, location),
            )
        if key == "output":
            output, output_location = _expected_shape(entry, where), where
            continue
        if isinstance(entry, Mapping):
            if not entry:
                raise CnnCalcError(f"expect {key} needs min or max", where)
            for bound, amount in entry.items():
                if bound not in BOUNDS:
                    raise CnnCalcError(
                        f"expect {key} takes min and max, not '{bound}'{suggest(bound, list(BOUNDS))}",
                        entry.key_locations.get(bound, where),
                    )
                limits.append(_limit(key, bound, amount, entry.location_of(bound)))
        else:
            limits.append(_limit(key, "exact", entry, where))
    return Expectations(output, output_location, tuple(limits))


def _expected_shape(value: Any, location: Location) -> tuple:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(size, int) and not isinstance(size, bool) and size >= 1 for size in value)
    ):
        raise CnnCalcError(f"expect output must be a shape without the batch like [1000], received {value!r}", location)
    return tuple(value)


def _limit(figure: str, bound: str, amount: Any, location: Location) -> Limit:
    try:
        value = parse_quantity(amount, BUDGET_UNITS[figure], f"expect {figure} {bound}:", lower=bound == "min")
    except ValueError as error:
        raise CnnCalcError(str(error), location) from None
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
            value = parse_quantity(text, BUDGET_UNITS[figure], option)
        except ValueError as error:
            raise UsageError(str(error)) from None
        limits.append(Limit(figure, bound, value, text, None, option))
    return limits


def violations(report, expectations: Expectations | None, extra: Sequence[Limit] = ()) -> list[CnnCalcError]:
    """Every expectation and limit the report breaks, in the order they were written."""
    found = []
    expectations = expectations or Expectations()
    if expectations.output is not None and tuple(report.output[1:]) != expectations.output:
        found.append(
            CnnCalcError(
                f"output shape {format_shape(report.output[1:])} differs from the expected "
                f"{format_shape(expectations.output)}",
                expectations.output_location,
            )
        )
    for limit in (*expectations.limits, *extra):
        actual = getattr(report.totals, limit.figure)
        broken = {"max": actual > limit.value, "min": actual < limit.value, "exact": actual != limit.value}[limit.bound]
        if broken:
            found.append(CnnCalcError(_message(limit, actual), limit.location))
    return found


def _message(limit: Limit, actual: int) -> str:
    unit = "B" if BUDGET_UNITS[limit.figure] == "bytes" else ""
    amount = grouped(limit.value)
    setting = f"{limit.text} = {amount}" if limit.text.replace(",", "") != amount.replace(",", "") else amount
    where = f" ({limit.source})" if limit.source != "expect" else ""
    relation = {"max": "is above the maximum", "min": "is below the minimum", "exact": "differs from the expected"}
    readable = f" ({human(actual, unit)})" if human(actual, unit) != f"{grouped(actual)} {unit}".strip() else ""
    return f"{limit.figure} {grouped(actual)}{readable} {relation[limit.bound]} {setting}{where}"
