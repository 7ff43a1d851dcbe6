"""Which input sizes a network accepts: the exact solution of the conditions a symbolic propagation records.

Each recorded condition compares one-symbol expressions whose value grows by a fixed step over a period
(``f(x + T) = f(x) + delta``, see ``decide.period``). On each residue class ``x = r + k*L`` (L the lcm of the
periods) a condition is therefore linear in k, and the sizes it allows are an interval of k: solving it is
integer arithmetic, with no search and no rounding. A condition ``f >= 0`` whose f only grows (or only shrinks)
with the size, as every "output >= 1" of a conv/pool chain, is a threshold instead: found by bisection, whatever
the period. The work is bounded by design: at most WORK_LIMIT residue steps per symbol; a condition past that (or
past MODULUS_LIMIT, or not of a form solved here) is left *undecided* and reported so, never waited for.
docs/symbolic.md explains every line ``sizes`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import lcm

from ..errors import CnnCalcError, UsageError
from ..network import Network
from ..propagate import conditions_of, symbols_of
from .algebra import Sym, evaluate, is_symbolic, symbol
from .decide import direction, period
from .recording import Recorded

MODULUS_LIMIT = 1 << 16  # longest period a set of sizes is kept over
WORK_LIMIT = 1 << 18  # residue steps (values computed, classes combined) per symbol: about half a second
SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
RULES = {"size": "every output >= 1", "merge": "merges line up", "exact": "no pixels dropped"}
VALID = ("size", "merge")  # the rules a valid size must meet; 'exact' is advisory


@dataclass(frozen=True)
class SizeSet:
    """The sizes x >= 1 in ``classes``: residue r (1..modulus) -> (k_low, k_high or None) meaning
    ``x = r + k * modulus`` for k in that range, or None when no size of the class is in the set."""

    modulus: int
    classes: tuple

    @staticmethod
    def everything() -> SizeSet:
        return SizeSet(1, ((0, None),))

    def is_empty(self) -> bool:
        return all(interval is None for interval in self.classes)

    def widen(self, modulus: int) -> SizeSet:
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


class Unsolved(Exception):
    """A condition left undecided by design (its period, its form, or the work limit); the message says which."""


class Budget:
    """The residue steps one symbol's analysis may still take."""

    def __init__(self, steps: int = WORK_LIMIT):
        self.left = steps

    def spend(self, steps: int, what) -> None:
        """Take ``steps``, or raise Unsolved saying ``what()`` needed them."""
        if steps > self.left:
            raise Unsolved(f"{what()} is past the work limit of {WORK_LIMIT:,} steps")
        self.left -= steps


def _intersect(a: SizeSet, b: SizeSet, budget: Budget | None = None) -> tuple[SizeSet, bool]:
    """The sizes in both, and whether that is fewer than ``a``."""
    modulus = lcm(a.modulus, b.modulus)
    if modulus > MODULUS_LIMIT:
        raise Unsolved(f"the sets repeat only every {modulus:,} sizes, more than {MODULUS_LIMIT:,}")
    if budget is not None:
        budget.spend(2 * modulus, lambda: f"combining sets over {modulus:,} sizes")
    a, b = a.widen(modulus), b.widen(modulus)
    classes = []
    for x, y in zip(a.classes, b.classes):
        if x is None or y is None:
            classes.append(None)
            continue
        low = max(x[0], y[0])
        high = x[1] if y[1] is None else y[1] if x[1] is None else min(x[1], y[1])
        classes.append(None if high is not None and high < low else (low, high))
    classes = tuple(classes)
    return SizeSet(modulus, classes), classes != a.classes


def _threshold(f, name: str, rising: bool) -> SizeSet:
    """The sizes where a monotone f is >= 0: ``x >= first`` when f rises, ``x <= last`` when it falls; found by
    doubling then bisecting, so in steps logarithmic in the answer."""

    def holds(x: int) -> bool:
        return evaluate(f, {name: x}) >= 0

    if holds(1) != rising:  # rising: f(1) < 0; falling: f(1) >= 0
        low, high = 1, 2  # holds(low) != rising; find high with holds(high) == rising
        while holds(high) != rising:
            low, high = high, 2 * high
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if holds(middle) == rising else (middle, high)
        return SizeSet(1, ((high - 1, None),)) if rising else SizeSet(1, ((0, low - 1),))
    return SizeSet.everything() if rising else SizeSet(1, (None,))


def solve(item: Recorded, name: str, budget: Budget | None = None) -> SizeSet:
    """The sizes of symbol ``name`` that satisfy one recorded condition; raises Unsolved when it cannot within the
    limits."""
    f, kind = item.condition.normal()
    shape = period(f)
    if kind == "ne":
        raise Unsolved("'!=' rules are not solved")
    if shape is None or (isinstance(f, Sym) and f.symbols - {name}):
        raise Unsolved(f"not a sum of floors of {name} alone")
    t, delta = shape
    rising = direction(f) if isinstance(f, Sym) and kind == "ge" else 0
    if rising and delta:  # a monotone f that changes: one threshold, whatever its period
        return _threshold(f, name, rising > 0)
    if t > MODULUS_LIMIT:
        raise Unsolved(f"repeats only every {t:,} sizes, more than {MODULUS_LIMIT:,}")
    if budget is not None:
        budget.spend(t, lambda: f"solving it over its period of {t:,} sizes")
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
        else:
            if delta == 0:
                classes.append((0, None) if value == 0 else None)
            elif (-value) % delta == 0 and -value // delta >= 0:
                classes.append((-value // delta, -value // delta))
            else:
                classes.append(None)
    return SizeSet(t, tuple(classes))


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
    modulus = next(
        m
        for m in range(1, sizes.modulus + 1)
        if sizes.modulus % m == 0 and all(allowed[i] == allowed[i % m] for i in range(sizes.modulus))
    )
    finite = [r for r in range(1, sizes.modulus + 1) if (m := sizes.members(r)) and m[1] is not None]
    if finite:
        members = sorted(
            x
            for r in range(1, sizes.modulus + 1)
            if (m := sizes.members(r)) and m[1] is not None
            for x in range(m[0], m[1] + 1, sizes.modulus)
        )
        infinite = [r for r in range(1, sizes.modulus + 1) if (m := sizes.members(r)) and m[1] is None]
        if not infinite and len(members) <= 12:
            return f"{name} in {{{', '.join(map(str, members))}}}"
        return "; ".join(
            f"{name} = {sizes.modulus}k + {r % sizes.modulus}, {name} from {m[0]}"
            + (f" to {m[1]}" if m[1] is not None else "")
            for r in range(1, sizes.modulus + 1)
            if (m := sizes.members(r))
        )
    lowest = sizes.minimum()
    residues = sorted({(r % modulus) for r in range(1, sizes.modulus + 1) if allowed[r - 1]})
    threshold = all(
        (m := sizes.members(r)) is None or m[0] == r + max(0, -((r - lowest) // sizes.modulus)) * sizes.modulus
        for r in range(1, sizes.modulus + 1)
    )
    congruence = _congruence(name, modulus, residues)
    if threshold:
        first_of_congruence = min(r if r else modulus for r in residues)
        if not congruence:
            return f"{name} >= {lowest}"
        return congruence if lowest == first_of_congruence else f"{congruence}, {name} >= {lowest}"
    return "; ".join(
        f"{name} = {sizes.modulus}k + {r % sizes.modulus}, {name} >= {m[0]}"
        for r in range(1, sizes.modulus + 1)
        if (m := sizes.members(r))
    )


@dataclass(frozen=True)
class Dimension:
    """The sizes one spatial symbol may take: per rule, combined, and which layers set them.

    A rule with undecided conditions holds the sizes its other conditions allow: the true set lies within it.
    """

    name: str
    by_rule: dict  # rule -> SizeSet
    layers: dict  # rule -> list of Recorded that restrict it
    valid: SizeSet
    exact: SizeSet
    undecided: dict  # rule -> list of (Recorded, or None for combining valid with exact; why it is undecided)

    def within(self, *rules: str) -> bool:
        """Whether the set of these rules together is only known to lie within what is shown."""
        return any(self.undecided[rule] for rule in rules)


def symbolic_input(network: Network) -> Network:
    """The network with its spatial sizes made symbols (H, W; L; D, H, W) unless they already are."""
    if is_symbolic(network.input):
        return network
    rank = len(network.input) - 1
    if rank not in SPATIAL_NAMES:
        raise UsageError(
            f"sizes needs an input with spatial sizes, this network's input is {'x'.join(map(str, network.input))}"
        )
    return network._replace(input=(network.input[0], *map(symbol, SPATIAL_NAMES[rank])))


def analyse(network: Network) -> tuple[Network, list[Dimension]]:
    """Solve the conditions of every spatial symbol; a network no size satisfies raises, naming the layer.

    Each symbol's work is bounded (WORK_LIMIT): a condition already met is not solved again, and one that cannot
    be solved within the limits is listed as undecided instead."""
    network = symbolic_input(network)
    conditions = conditions_of(network)
    return network, [_dimension(name, conditions) for name in symbols_of(network, 1)]


def _dimension(name: str, conditions: list[Recorded]) -> Dimension:
    budgets = {rule: Budget() for rule in RULES}  # the advisory rule cannot starve the required ones
    by_rule = {rule: SizeSet.everything() for rule in RULES}
    layers: dict = {rule: [] for rule in RULES}
    undecided: dict = {rule: [] for rule in RULES}
    valid = SizeSet.everything()
    outcomes: dict = {}  # (rule, condition) -> None when applied, else why it is undecided
    for item in conditions:
        if name not in item.condition.symbols:
            continue
        key = item.rule, item.condition.normal()[0].key, item.condition.normal()[1]
        if key in outcomes:  # the same condition again cannot narrow anything
            if outcomes[key] is not None:
                undecided[item.rule].append((item, outcomes[key]))
            continue
        try:
            budget = budgets[item.rule]
            allowed = solve(item, name, budget)
            narrowed, changed = _intersect(by_rule[item.rule], allowed, budget)
            narrowed_valid = valid if item.rule == "exact" else _intersect(valid, allowed, budget)[0]
        except Unsolved as reason:
            outcomes[key] = str(reason)
            undecided[item.rule].append((item, str(reason)))
            continue
        outcomes[key] = None
        by_rule[item.rule] = narrowed
        if changed:
            layers[item.rule].append(item)
        if item.rule == "exact":
            continue
        if narrowed_valid.is_empty():
            raise CnnCalcError(
                f"no input size satisfies every layer: {item.message} (needs {item.condition}, "
                f"{describe(allowed, name)}), but the layers before it need {describe(valid, name)}",
                item.location,
                item.layer,
            )
        valid = narrowed_valid
    try:
        exact = _intersect(valid, by_rule["exact"])[0]  # once, over at most MODULUS_LIMIT sizes
    except Unsolved as reason:
        exact = valid
        undecided["exact"].append((None, f"combining valid with no pixels dropped: {reason}"))
    return Dimension(name, by_rule, layers, valid, exact, undecided)
