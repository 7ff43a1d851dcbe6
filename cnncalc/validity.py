"""Which input sizes a network accepts: symbolic propagation, its conditions, and their exact solution.

Each recorded condition compares one-symbol expressions whose value grows by a fixed step over a period
(``f(x + T) = f(x) + delta``, see ``conditions.period``). On each residue class ``x = r + k*L`` (L the lcm of the
periods) a condition is therefore linear in k, and the sizes it allows are an interval of k: solving it is
integer arithmetic, with no search and no rounding. docs/symbolic.md explains every line ``sizes`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import lcm

from .errors import CnnCalcError, UsageError
from .layers import Weight
from .network import Network
from .propagate import Report, Totals, propagate
from .conditions import period
from .recording import Recorded, collecting
from .symbolic import Sym, evaluate, is_symbol_name, is_symbolic, symbol
from .units import grouped

MODULUS_LIMIT = 1 << 16
SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
RULES = {"size": "every output >= 1", "merge": "merges line up", "exact": "no pixels dropped"}


# -- propagation with symbols -------------------------------------------------------------------------------
def parse_batch(text: str | int) -> int | Sym:
    """``--batch 8`` or ``--batch N``."""
    text = str(text).strip()
    if is_symbol_name(text):
        return symbol(text)
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise UsageError(f"--batch must be a whole number >= 1 or a size symbol like N, received '{text}'")


def parse_binding(text: str) -> dict[str, int]:
    """``--set H=227,W=227`` -> {'H': 227, 'W': 227}."""
    binding = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not is_symbol_name(name) or not value.isdigit() or int(value) < 1:
            raise UsageError(f"--set must look like H=227,W=227 (sizes >= 1), received '{text}'")
        binding[name] = int(value)
    return binding


def symbols_of(network: Network, batch) -> list[str]:
    """The size symbols of the input and the batch, in order of appearance."""
    names: list[str] = []
    for size in (batch, *network.input):
        for name in sorted(size.symbols) if isinstance(size, Sym) else ():
            if name not in names:
                names.append(name)
    return names


def propagate_symbolic(network: Network, batch=1, dtype: str = "float32") -> tuple[Report, list[Recorded]]:
    """Propagate with whatever symbols the input and batch hold; returns the report and its conditions."""
    with collecting() as collector:
        report = propagate(network, batch, dtype)
    return report, collector.items


def propagate_any(network: Network, batch=1, dtype: str = "float32",
                  binding: dict | None = None) -> tuple[Report, list[Recorded]]:
    """Concrete propagation for whole numbers, symbolic otherwise; ``binding`` evaluates a symbolic report."""
    if not is_symbolic((batch, *network.input)):
        if binding:
            raise UsageError("--set needs size symbols in the input or batch, e.g. --input 3xHxW")
        return propagate(network, batch, dtype), []
    report, conditions = propagate_symbolic(network, batch, dtype)
    if binding is None:
        return report, conditions
    return evaluate_report(network, batch, report, conditions, binding), []


def evaluate_report(network: Network, batch, report: Report, conditions: list[Recorded], binding: dict) -> Report:
    """The symbolic report at ``binding``; a violated condition raises the error concrete propagation gives."""
    names = symbols_of(network, batch)
    unknown = sorted(set(binding) - set(names))
    missing = [name for name in names if name not in binding]
    if unknown or missing:
        raise UsageError(f"--set must give a value to each size symbol ({', '.join(names)}); "
                         + (f"unknown: {', '.join(unknown)}" if unknown else f"missing: {', '.join(missing)}"))
    for item in conditions:
        if item.rule != "exact" and not item.condition.evaluate(binding):
            concrete = network._replace(input=evaluate(network.input, binding))
            propagate(concrete, evaluate(batch, binding), report.dtype)  # raises the located error
            raise CnnCalcError(item.message, item.location, item.layer)  # not reached: the rules agree

    def at(value):
        return evaluate(value, binding)

    layers = tuple(layer._replace(output=at(layer.output), params=at(layer.params), buffers=at(layer.buffers),
                           macs=at(layer.macs), flops=at(layer.flops), activations=at(layer.activations),
                           weights=tuple(Weight(w.name, at(w.shape), w.trainable) for w in layer.weights))
                   for layer in report.layers)
    totals = Totals(**{name: at(value) for name, value in report.totals._asdict().items()})
    return report._replace(input=at(report.input), output=at(report.output), layers=layers, totals=totals)


def at_resolutions(network: Network, resolutions: list[int], batch=1, dtype: str = "float32") -> list[Report]:
    """Concrete reports with every spatial size set to each resolution in turn (square inputs)."""
    if len(network.input) < 2:
        raise UsageError(f"--at needs an input with spatial sizes, this network's input is {network.input}")
    reports = []
    for size in resolutions:
        shape = (network.input[0], *(size,) * (len(network.input) - 1))
        reports.append(propagate(network._replace(input=shape), batch, dtype))
    return reports


def parse_resolutions(text: str) -> list[int]:
    """``--at 128,160,224`` -> [128, 160, 224]."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise UsageError(f"--at must be sizes >= 1 separated by commas, e.g. 128,160,224, received '{text}'")
    return [int(part) for part in parts]


def resolutions_text(network: Network, at: str, batch=1, as_json: bool = False) -> str:
    """One line per square input size: input, output, params and MACs (``flops --at``)."""
    import json

    from .layers import format_shape
    from .units import grouped

    if is_symbolic(batch):
        raise UsageError("--at needs a whole-number --batch")
    reports = at_resolutions(network, parse_resolutions(at), batch)
    if as_json:
        return json.dumps([{"input": list(r.input), "output": list(r.output), "params": r.totals.params,
                            "macs": r.totals.macs, "flops": r.totals.flops} for r in reports], indent=1) + "\n"
    rows = [("input", "output", "params", "MACs")]
    rows += [(format_shape(r.input), format_shape(r.output), grouped(r.totals.params), grouped(r.totals.macs))
             for r in reports]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{network.name}: MACs and params per input size (batch {batch})"]
    lines += ["  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in rows]
    return "\n".join(lines) + "\n"


# -- sets of sizes -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SizeSet:
    """The sizes x >= 1 in ``classes``: residue r (1..modulus) -> (k_low, k_high or None) meaning
    ``x = r + k * modulus`` for k in that range, or None when no size of the class is in the set."""

    modulus: int
    classes: tuple

    @staticmethod
    def everything() -> "SizeSet":
        return SizeSet(1, ((0, None),))

    def is_empty(self) -> bool:
        return all(interval is None for interval in self.classes)

    def widen(self, modulus: int) -> "SizeSet":
        """The same set over a multiple of the modulus."""
        factor = modulus // self.modulus
        classes = []
        for r in range(1, modulus + 1):
            base = (r - 1) % self.modulus
            j = (r - 1) // self.modulus  # x = r + k'*modulus = (base + 1) + (j + k'*factor)*self.modulus
            interval = self.classes[base]
            if interval is None:
                classes.append(None)
                continue
            low, high = interval
            k_low = max(0, -((j - low) // factor))
            k_high = None if high is None else (high - j) // factor
            classes.append(None if k_high is not None and k_high < k_low else (k_low, k_high))
        return SizeSet(modulus, tuple(classes))

    def members(self, r: int):
        """(first, last or None) of residue class r, or None."""
        interval = self.classes[r - 1]
        if interval is None:
            return None
        low, high = interval
        return r + low * self.modulus, None if high is None else r + high * self.modulus

    def __contains__(self, x: int) -> bool:
        r = (x - 1) % self.modulus + 1
        interval = self.classes[r - 1]
        if interval is None:
            return False
        k = (x - r) // self.modulus
        return interval[0] <= k and (interval[1] is None or k <= interval[1])

    def minimum(self) -> int | None:
        firsts = [m[0] for r in range(1, self.modulus + 1) if (m := self.members(r))]
        return min(firsts) if firsts else None

    def nearest(self, x: int) -> tuple[int | None, int | None]:
        """The largest member <= x and the smallest member >= x."""
        below, above = None, None
        for r in range(1, self.modulus + 1):
            span = self.members(r)
            if span is None:
                continue
            first, last = span
            top = x if last is None else min(x, last)
            if top >= first:
                candidate = top - (top - r) % self.modulus
                below = candidate if below is None else max(below, candidate)
            bottom = max(x, first)
            if last is None or bottom <= last:
                candidate = bottom + (r - bottom) % self.modulus
                if last is None or candidate <= last:
                    above = candidate if above is None else min(above, candidate)
        return below, above


def _intersect(a: SizeSet, b: SizeSet) -> SizeSet:
    modulus = lcm(a.modulus, b.modulus)
    if modulus > MODULUS_LIMIT:
        raise CnnCalcError(f"the size conditions repeat only every {modulus:,} sizes; too many to analyse exactly")
    a, b = a.widen(modulus), b.widen(modulus)
    classes = []
    for x, y in zip(a.classes, b.classes):
        if x is None or y is None:
            classes.append(None)
            continue
        low = max(x[0], y[0])
        high = x[1] if y[1] is None else y[1] if x[1] is None else min(x[1], y[1])
        classes.append(None if high is not None and high < low else (low, high))
    return SizeSet(modulus, tuple(classes))


def solve(item: Recorded, name: str) -> SizeSet:
    """The sizes of symbol ``name`` that satisfy one recorded condition."""
    f, kind = item.condition.normal()
    shape = period(f)
    if shape is None or (isinstance(f, Sym) and f.symbols - {name}):
        raise CnnCalcError(f"cannot analyse the condition {item.condition}: it is not a sum of floors of {name} alone",
                           item.location, item.layer)
    t, delta = shape
    if t > MODULUS_LIMIT:
        raise CnnCalcError(f"the condition {item.condition} repeats only every {t:,} sizes; too many to analyse",
                           item.location, item.layer)
    classes = []
    for r in range(1, t + 1):
        value = evaluate(f, {name: r})
        if kind == "ge":
            if delta > 0:
                classes.append((max(0, -(value // delta)), None))
            elif value < 0:
                classes.append(None)
            else:
                classes.append((0, None if delta == 0 else value // -delta))
        elif kind == "eq":
            if delta == 0:
                classes.append((0, None) if value == 0 else None)
            elif (-value) % delta == 0 and -value // delta >= 0:
                classes.append((-value // delta, -value // delta))
            else:
                classes.append(None)
        else:
            raise CnnCalcError(f"cannot analyse the condition {item.condition}: '!=' rules are not supported",
                               item.location, item.layer)
    return SizeSet(t, tuple(classes))


# -- describing sets -----------------------------------------------------------------------------------------
def _congruence(name: str, modulus: int, residues: list[int]) -> str:
    def one(r: int) -> str:
        return f"{modulus}k" + (f" + {r}" if r else "")

    if modulus == 1:
        return ""
    if len(residues) <= 3:
        return f"{name} = " + " or ".join(one(r) for r in residues)
    return f"{name} mod {modulus} in {{{', '.join(map(str, residues))}}}"


def describe(sizes: SizeSet, name: str) -> str:
    """``H >= 67``, ``H = 16k``, ``H = 32k + 3, H >= 35``: the set in the fewest words that are exact."""
    if sizes.is_empty():
        return "no size"
    allowed = [sizes.classes[r] is not None for r in range(sizes.modulus)]
    modulus = next(m for m in range(1, sizes.modulus + 1)
                   if sizes.modulus % m == 0 and all(allowed[i] == allowed[i % m] for i in range(sizes.modulus)))
    finite = [r for r in range(1, sizes.modulus + 1) if (m := sizes.members(r)) and m[1] is not None]
    if finite:
        members = sorted(x for r in range(1, sizes.modulus + 1) if (m := sizes.members(r)) and m[1] is not None
                         for x in range(m[0], m[1] + 1, sizes.modulus))
        infinite = [r for r in range(1, sizes.modulus + 1) if (m := sizes.members(r)) and m[1] is None]
        if not infinite and len(members) <= 12:
            return f"{name} in {{{', '.join(map(str, members))}}}"
        return "; ".join(f"{name} = {sizes.modulus}k + {r % sizes.modulus}, {name} from {m[0]}"
                         + (f" to {m[1]}" if m[1] is not None else "")
                         for r in range(1, sizes.modulus + 1) if (m := sizes.members(r)))
    lowest = sizes.minimum()
    residues = sorted({(r % modulus) for r in range(1, sizes.modulus + 1) if allowed[r - 1]})
    threshold = all((m := sizes.members(r)) is None or m[0] == r + max(0, -((r - lowest) // sizes.modulus)) * sizes.modulus
                    for r in range(1, sizes.modulus + 1))
    congruence = _congruence(name, modulus, residues)
    if threshold:
        first_of_congruence = min(r if r else modulus for r in residues)
        if not congruence:
            return f"{name} >= {lowest}"
        return congruence if lowest == first_of_congruence else f"{congruence}, {name} >= {lowest}"
    return "; ".join(f"{name} = {sizes.modulus}k + {r % sizes.modulus}, {name} >= {m[0]}"
                     for r in range(1, sizes.modulus + 1) if (m := sizes.members(r)))


# -- the analysis ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dimension:
    """The sizes one spatial symbol may take: per rule, combined, and which layers set them."""

    name: str
    by_rule: dict  # rule -> SizeSet
    layers: dict  # rule -> list of Recorded that restrict it
    valid: SizeSet
    exact: SizeSet


def symbolic_input(network: Network) -> Network:
    """The network with its spatial sizes made symbols (H, W; L; D, H, W) unless they already are."""
    if is_symbolic(network.input):
        return network
    rank = len(network.input) - 1
    if rank not in SPATIAL_NAMES:
        raise UsageError(f"sizes needs an input with spatial sizes, this network's input is "
                         f"{'x'.join(map(str, network.input))}")
    return network._replace(input=(network.input[0], *map(symbol, SPATIAL_NAMES[rank])))


def analyse(network: Network) -> tuple[Network, list[Dimension]]:
    """Solve the conditions of every spatial symbol; a network no size satisfies raises, naming the layer."""
    network = symbolic_input(network)
    _, conditions = propagate_symbolic(network)
    names = [name for name in symbols_of(network, 1)]
    dimensions = []
    for name in names:
        mine = [item for item in conditions if name in item.condition.symbols]
        by_rule, layers = {}, {}
        valid = SizeSet.everything()
        for rule in RULES:
            by_rule[rule] = SizeSet.everything()
            layers[rule] = []
        for item in mine:
            allowed = solve(item, name)
            before = by_rule[item.rule]
            by_rule[item.rule] = _intersect(before, allowed)
            if by_rule[item.rule] != before.widen(by_rule[item.rule].modulus):
                layers[item.rule].append(item)
            if item.rule == "exact":
                continue
            narrowed = _intersect(valid, allowed)
            if narrowed.is_empty():
                raise CnnCalcError(
                    f"no input size satisfies every layer: {item.message} (needs {item.condition}, "
                    f"{describe(allowed, name)}), but the layers before it need {describe(valid, name)}",
                    item.location, item.layer)
            valid = narrowed
        dimensions.append(Dimension(name, by_rule, layers, valid, _intersect(valid, by_rule["exact"])))
    return network, dimensions


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


def summary_text(report: Report) -> str:
    """The totals: in human units for whole numbers (render.summary), as expressions for symbolic sizes."""
    from .render import summary

    t = report.totals
    if not is_symbolic((t.params, t.macs, t.flops, t.activation_bytes)):
        return summary(report)
    def exact(value) -> str:
        return grouped(value) if isinstance(value, int) else str(value)

    return "\n".join([f"params       {exact(t.params)}  + buffers {exact(t.buffers)}", f"MACs         {exact(t.macs)}",
                      f"FLOPs        {exact(t.flops)}", f"memory       activations {exact(t.activation_bytes)} B, "
                      f"params {exact(t.param_bytes)} B, input {exact(t.input_bytes)} B  ({report.dtype})"])
