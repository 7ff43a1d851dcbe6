"""Comparisons of symbolic sizes.

A comparison of size expressions is decided exactly when it holds for every size or for none (``True`` /
``False``); otherwise it is a ``Condition``, which the size rules hand to ``recording.require``. Using an
undecided Condition as a plain bool raises ``UndecidedError`` instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd, lcm

from .errors import CnnCalcError
from .symbolic import Sym, Value, Var, _is_int, evaluate

PERIOD_LIMIT = 4096  # longest period a comparison is decided by evaluating one period


class UndecidedError(CnnCalcError):
    """A size rule that holds for some input sizes only, met where no collector can record it."""


# -- deciding comparisons ----------------------------------------------------------------------------------
def period(p: Value) -> tuple[int, int] | None:
    """``(T, delta)`` with ``p(x + T) = p(x) + delta`` for a one-symbol expression without products, else None."""
    if isinstance(p, int):
        return 1, 0
    parts = []
    for monomial, c in p.terms:
        if not monomial:
            continue
        if len(monomial) > 1:
            return None
        atom = monomial[0]
        if isinstance(atom, Var):
            parts.append((1, c))
            continue
        inner = period(atom.num)
        if inner is None:
            return None
        t, delta = inner
        steps = atom.den // gcd(delta, atom.den)
        parts.append((t * steps, c * delta * steps // atom.den))
    total_period = lcm(1, *(t for t, _ in parts))
    return total_period, sum(delta * (total_period // t) for t, delta in parts)


def _lower_bound(p: Value) -> int | None:
    """A lower bound over all sizes >= 1 when every coefficient is positive, else None."""
    if isinstance(p, int):
        return p
    bound = 0
    for monomial, c in p.terms:
        if not monomial:
            bound += c
            continue
        if c < 0:
            return None
        product = c
        for atom in monomial:
            low = 1 if isinstance(atom, Var) else _lower_bound(atom.num)
            if low is None or low < 0:
                return None
            product *= low if isinstance(atom, Var) else low // atom.den
        bound += product
    return bound


_DECIDED: dict = {}


def decide(f: Value, kind: str) -> bool | None:
    """Whether ``f >= 0`` (kind 'ge') or ``f == 0`` (kind 'eq') holds for every size (True), none (False), or
    only some (None)."""
    if isinstance(f, int):
        return f >= 0 if kind == "ge" else f == 0
    key = (f.key, kind)
    if key in _DECIDED:
        return _DECIDED[key]
    result = None
    shape = period(f) if len(f.symbols) == 1 else None
    if shape is not None and shape[0] <= PERIOD_LIMIT:
        t, delta = shape
        name = next(iter(f.symbols))
        values = [f.evaluate({name: x}) for x in range(1, t + 1)]
        if kind == "ge":
            if delta >= 0 and min(values) >= 0:
                result = True
            elif delta <= 0 and max(values) < 0:
                result = False
        elif delta == 0:
            result = True if all(v == 0 for v in values) else False if all(v != 0 for v in values) else None
        elif not any((-v) % delta == 0 and -v // delta >= 0 for v in values):
            result = False
    if result is None:
        low = _lower_bound(f)
        if low is not None and (low >= 0 if kind == "ge" else low > 0):
            result = kind == "ge"
    _DECIDED[key] = result
    return result


_NORMAL = {">=": (1, 0, "ge"), ">": (1, -1, "ge"), "<=": (-1, 0, "ge"), "<": (-1, -1, "ge"),
           "==": (1, 0, "eq"), "!=": (1, 0, "ne")}
_SHOWN = {"==": "=", "!=": "!="}


@dataclass(frozen=True, eq=False)
class Condition:
    """A comparison of sizes that holds for some input sizes only: ``left relation right``."""

    left: Value
    relation: str
    right: Value

    @staticmethod
    def of(left: Value, relation: str, right: Value):
        """True or False when decided for every size, else the Condition."""
        sign, shift, kind = _NORMAL[relation]
        decided = decide(sign * (left - right) + shift, "eq" if kind == "ne" else kind)
        if decided is not None:
            return decided if kind != "ne" else not decided
        return Condition(left, relation, right)

    def normal(self) -> tuple[Value, str]:
        """``(f, kind)``: the condition is ``f >= 0`` (ge), ``f == 0`` (eq) or ``f != 0`` (ne)."""
        sign, shift, kind = _NORMAL[self.relation]
        return sign * (self.left - self.right) + shift, kind

    @property
    def symbols(self) -> frozenset:
        f, _ = self.normal()
        return f.symbols if isinstance(f, Sym) else frozenset()

    def evaluate(self, binding: dict) -> bool:
        f, kind = self.normal()
        value = evaluate(f, binding)
        return value >= 0 if kind == "ge" else value == 0 if kind == "eq" else value != 0

    def __str__(self) -> str:
        left, right = self.left, self.right
        if isinstance(left, Sym) and _is_int(right):  # move the constant across: floor(H/2) >= 3, not ... - 2 >= 1
            constant = dict(left.terms).get((), 0)
            left, right = left - constant, right - constant
        return f"{left} {_SHOWN.get(self.relation, self.relation)} {right}"

    def __bool__(self) -> bool:
        raise UndecidedError(
            f"cannot tell whether {self} for every input size: this rule is not supported with symbolic sizes "
            "(give whole numbers, e.g. --input 3x224x224)")
