"""Deciding comparisons of size expressions exactly: for every size, for none, or only for some.

These functions read an expression's structure (its terms, and each atom's ``num``/``den`` or symbol) and never
build one, so the algebra (``algebra.py``) calls them without a cycle.
"""

from __future__ import annotations

from math import gcd, lcm
from typing import Any

PERIOD_LIMIT = 4096  # longest period a comparison is decided by evaluating one period


def period(p: Any) -> tuple[int, int] | None:
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
        if atom.is_symbol:
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


def direction(p: Any) -> int:
    """1 when a one-symbol expression never decreases as its symbol grows, -1 when it never increases, 0 when its
    terms pull both ways: read from the signs of its terms, as a floor of a non-decreasing numerator never
    decreases."""
    result = 0
    for monomial, c in p.terms:
        if not monomial:
            continue
        if len(monomial) > 1:
            return 0
        atom = monomial[0]
        inner = 1 if atom.is_symbol else direction(atom.num)
        if inner == 0 or result == -inner * (1 if c > 0 else -1):
            return 0
        result = inner * (1 if c > 0 else -1)
    return result


def _lower_bound(p: Any) -> int | None:
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
            low = 1 if atom.is_symbol else _lower_bound(atom.num)
            if low is None or low < 0:
                return None
            product *= low if atom.is_symbol else low // atom.den
        bound += product
    return bound


_DECIDED: dict = {}


def decide(f: Any, kind: str) -> bool | None:
    """Whether ``f >= 0`` (kind 'ge') or ``f == 0`` (kind 'eq') holds for every size (True), none (False), or
    only some (None)."""
    if isinstance(f, int):
        return f >= 0 if kind == "ge" else f == 0
    key = (f.key, kind)
    if key in _DECIDED:
        return _DECIDED[key]
    result = None
    shape = period(f) if len(f.symbols) == 1 else None
    monotone = direction(f) if len(f.symbols) == 1 and kind == "ge" else 0
    if monotone:  # one value settles it whatever the period: f(1) is the least (or the largest) value
        at_one = f.evaluate({next(iter(f.symbols)): 1})
        if monotone > 0 and at_one >= 0:
            result = True
        elif monotone < 0 and at_one < 0:
            result = False
    elif shape is not None and shape[0] <= PERIOD_LIMIT:
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
