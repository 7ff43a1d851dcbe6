"""Exact symbolic sizes: integer expressions in size symbols (``H``, ``W``, ``N``) with floor division.

An expression is a polynomial with integer coefficients over *atoms*: a symbol, or ``floor(P / d)`` of another
such polynomial ``P`` and a whole number ``d >= 2``. Every operation returns the canonical form at once, and a
plain ``int`` whenever the result is a constant, so code written for ints (``formulas.py``) runs unchanged:

- ``floor((d*Q + R) / d) = Q + floor(R / d)``: whole multiples leave the floor, so its coefficients lie in [0, d);
- ``floor(g*R / d) = floor(R / (d/g))`` after taking the common factor g of R's coefficients and d;
- ``floor((floor(P/a) + c) / b) = floor((P + a*c) / (a*b))``: nested floors collapse into one;
- ``floor(P / d) = -floor((-P + d - 1) / d)`` keeps the leading coefficient of a numerator positive.

So a chain of convolutions and poolings folds to ``c * floor((x + a) / d) + b`` and ResNet-152's final size to
``ceil(H/32)``. Nothing is ever rounded: what does not simplify stays as an exact nested expression.

Size symbols stand for whole numbers >= 1. Comparing expressions gives True or False when that holds for every
size or for none, else a ``Condition``: a comparison that holds for some sizes only, which the size rules record
(``recording.require``). Using an undecided Condition as a plain bool raises ``UndecidedError`` instead of
guessing; ``decide.py`` does the deciding.
"""

from __future__ import annotations

import re
from math import gcd
from typing import Union

from ..errors import CnnCalcError
from .decide import decide

SYMBOL_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TERM_LIMIT = 20_000  # most terms a product may expand to: bounds the work of any one operation (docs/symbolic.md)
RESERVED = ("floor", "ceil", "k", "true", "false", "True", "False")


class Var:
    """A size symbol as an atom."""

    __slots__ = ("name", "key", "symbols")
    is_symbol = True

    def __init__(self, name: str):
        self.name = name
        self.key = name
        self.symbols = frozenset((name,))

    def text(self) -> str:
        return self.name

    def __eq__(self, other) -> bool:
        return isinstance(other, (Var, Floor)) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


class Floor:
    """``floor(num / den)`` as an atom; ``num`` is a canonical expression, ``den >= 2``."""

    __slots__ = ("num", "den", "key", "symbols")
    is_symbol = False

    def __init__(self, num: Sym, den: int):
        self.num = num
        self.den = den
        self.key = f"floor(({num.key})/{den})"
        self.symbols = num.symbols

    def text(self) -> str:
        constant = dict(self.num.terms).get((), 0)
        if constant == self.den - 1:  # floor((P + d - 1)/d) reads better as ceil(P/d)
            return f"ceil({_operand(self.num - constant)}/{self.den})"
        return f"floor({_operand(self.num)}/{self.den})"

    def __eq__(self, other) -> bool:
        return isinstance(other, (Var, Floor)) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


Monomial = tuple  # sorted tuple of atoms; () is the constant monomial
Value = Union[int, "Sym"]


def _monomial_key(monomial: Monomial) -> tuple:
    return (-len(monomial), "*".join(atom.key for atom in monomial))


def _make(terms: dict) -> Value:
    """Canonical value of a {monomial: coefficient} mapping: an int when nothing but a constant is left."""
    items = [(monomial, c) for monomial, c in terms.items() if c]
    if not any(monomial for monomial, _ in items):
        return items[0][1] if items else 0
    items.sort(key=lambda item: _monomial_key(item[0]))
    return Sym(tuple(items))


def _terms(value: Value) -> dict:
    if isinstance(value, Sym):
        return dict(value.terms)
    return {(): value} if value else {}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Sym:
    """An exact integer expression in size symbols; immutable, canonical, hashable by its structure."""

    __slots__ = ("terms", "key", "symbols")

    def __init__(self, terms: tuple):
        self.terms = terms
        self.key = " + ".join(f"{c}*{'*'.join(a.key for a in m) or 1}" for m, c in terms)
        self.symbols = frozenset().union(*(atom.symbols for monomial, _ in terms for atom in monomial))

    # -- arithmetic -------------------------------------------------------------------------------------------
    def __add__(self, other) -> Value:
        if not (_is_int(other) or isinstance(other, Sym)):
            return NotImplemented
        terms = dict(self.terms)
        for monomial, c in _terms(other).items():
            terms[monomial] = terms.get(monomial, 0) + c
        return _make(terms)

    __radd__ = __add__

    def __neg__(self) -> Value:
        return _make({monomial: -c for monomial, c in self.terms})

    def __pos__(self) -> Sym:
        return self

    def __sub__(self, other) -> Value:
        if not (_is_int(other) or isinstance(other, Sym)):
            return NotImplemented
        return self + (-other)

    def __rsub__(self, other) -> Value:
        if not _is_int(other):
            return NotImplemented
        return (-self) + other

    def __mul__(self, other) -> Value:
        if _is_int(other):
            return _make({monomial: c * other for monomial, c in self.terms})
        if not isinstance(other, Sym):
            return NotImplemented
        if len(self.terms) * len(other.terms) > TERM_LIMIT:
            raise CnnCalcError(
                f"a size expression would have up to {len(self.terms) * len(other.terms):,} terms, more than the "
                f"limit of {TERM_LIMIT:,}; give whole-number sizes here"
            )
        terms: dict = {}
        for m1, c1 in self.terms:
            for m2, c2 in other.terms:
                monomial = tuple(sorted(m1 + m2, key=lambda atom: atom.key))
                terms[monomial] = terms.get(monomial, 0) + c1 * c2
        return _make(terms)

    __rmul__ = __mul__

    def __floordiv__(self, other) -> Value:
        if not _is_int(other) or other < 1:
            raise CnnCalcError(f"a size expression can only be divided by a whole number >= 1, not by {other}")
        return floor_div(self, other)

    def __rfloordiv__(self, other):
        raise CnnCalcError(f"cannot divide {other} by the size expression {self}: the divisor must be a whole number")

    def __mod__(self, other) -> Value:
        return self - other * (self // other)

    def __truediv__(self, other):
        raise CnnCalcError(f"size expressions use exact floor division (//), received {self} / {other}")

    __rtruediv__ = __truediv__

    # -- comparisons --------------------------------------------------------------------------------------------
    def _compare(self, other, relation: str):
        if not (_is_int(other) or isinstance(other, Sym)):  # floats and fractions are not sizes
            return NotImplemented
        return Condition.of(self, relation, other)

    def __ge__(self, other):
        return self._compare(other, ">=")

    def __gt__(self, other):
        return self._compare(other, ">")

    def __le__(self, other):
        return self._compare(other, "<=")

    def __lt__(self, other):
        return self._compare(other, "<")

    def __eq__(self, other):
        if isinstance(other, Sym) and other.key == self.key:
            return True
        if not (_is_int(other) or isinstance(other, Sym)):
            return False
        return Condition.of(self, "==", other)

    def __ne__(self, other):
        if not (_is_int(other) or isinstance(other, Sym)):
            return True
        return Condition.of(self, "!=", other)

    def __hash__(self) -> int:
        return hash(self.key)

    def __bool__(self) -> bool:
        return bool(Condition.of(self, "!=", 0))

    # -- use ----------------------------------------------------------------------------------------------------
    def evaluate(self, binding: dict) -> int:
        """The value at a binding of every symbol to an int, e.g. ``{'H': 227}``."""
        value = _substitute(self, binding)
        if not isinstance(value, int):
            missing = ", ".join(sorted(value.symbols))
            raise CnnCalcError(f"no value given for {missing} (evaluating {self})")
        return value

    def __str__(self) -> str:
        return _text(self)

    def __repr__(self) -> str:
        return f"Sym({_text(self)!r})"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec.replace(",", ""))


def symbol(name: str) -> Sym:
    """The expression made of one size symbol."""
    return Sym((((Var(name),), 1),))


def is_symbol_name(text) -> bool:
    """Whether ``text`` can name a size symbol: a word that is not a reserved one (floor, ceil, k, ...)."""
    return isinstance(text, str) and bool(SYMBOL_PATTERN.match(text)) and text not in RESERVED


def floor_div(p: Value, d: int) -> Value:
    """``floor(p / d)`` in canonical form (see the module docstring for the rules)."""
    if isinstance(p, int):
        return p // d
    if d == 1:
        return p
    if p.terms[0][1] < 0:
        return -floor_div(-p + (d - 1), d)
    whole: dict = {}
    rest: dict = {}
    for monomial, c in p.terms:
        q, r = divmod(c, d)
        if q:
            whole[monomial] = q
        if r:
            rest[monomial] = r
    constant = rest.pop((), 0)
    if not rest:
        return _make(whole)
    common = gcd(d, *rest.values())
    if common > 1:
        rest = {monomial: c // common for monomial, c in rest.items()}
        constant //= common
        d //= common
    if len(rest) == 1:
        ((monomial, c),) = rest.items()
        if c == 1 and len(monomial) == 1 and isinstance(monomial[0], Floor):
            inner = monomial[0]
            return _make(whole) + floor_div(inner.num + constant * inner.den, inner.den * d)
    numerator = _make({**rest, (): constant})
    atom = Floor(numerator, d)
    whole[(atom,)] = whole.get((atom,), 0) + 1
    return _make(whole)


def _substitute(p: Sym, binding: dict) -> Value:
    total: Value = 0
    for monomial, c in p.terms:
        product: Value = c
        for atom in monomial:
            if isinstance(atom, Var):
                product = product * (binding[atom.name] if atom.name in binding else symbol(atom.name))
            else:
                product = product * (_substitute(atom.num, binding) // atom.den)
        total = total + product
    return total


def evaluate(value, binding: dict):
    """Evaluate an int, a Sym, or a tuple/list of them at a binding."""
    if isinstance(value, Sym):
        return value.evaluate(binding)
    if isinstance(value, (tuple, list)):
        return type(value)(evaluate(item, binding) for item in value)
    return value


def _prime_factors(n: int) -> dict[int, int]:
    """``{p: e}`` with ``n = prod(p**e)``, by trial division up to sqrt(n): 46,341 steps at most for a size."""
    factors: dict[int, int] = {}
    p = 2
    while p * p <= n:
        while n % p == 0:
            factors[p] = factors.get(p, 0) + 1
            n //= p
        p += 1 if p == 2 else 2
    if n > 1:
        factors[n] = factors.get(n, 0) + 1
    return factors


def divisors_with_totient(n: int) -> list[tuple[int, int]]:
    """Every divisor d of ``n >= 1`` with Euler's phi(d), ascending; built from the prime factors, so the work is
    sqrt(n) plus the number of divisors (at most 1,600 below 2^31), never n."""
    pairs = [(1, 1)]
    for p, e in _prime_factors(n).items():
        pairs = [(d * p**k, phi * (p**k - p ** (k - 1) if k else 1)) for d, phi in pairs for k in range(e + 1)]
    return sorted(pairs)


def exact_gcd(size: Value, whole: int) -> Value:
    """``gcd(size, whole)`` for a whole number ``whole >= 1``; for an expression, exactly
    ``sum of phi(d) * [d divides size]`` over the divisors d of ``whole``, with ``[d | x] = x//d - (x - 1)//d``."""
    if not isinstance(size, Sym):
        return gcd(size, whole)
    terms: dict = {}
    for d, phi in divisors_with_totient(whole):  # summed in one mapping: adding one by one would rebuild it each time
        for monomial, c in _terms(phi * (size // d - (size - 1) // d)).items():
            terms[monomial] = terms.get(monomial, 0) + c
    return _make(terms)


def is_symbolic(value) -> bool:
    """True for a Sym or a tuple/list holding one."""
    if isinstance(value, (tuple, list)):
        return any(is_symbolic(item) for item in value)
    return isinstance(value, Sym)


# -- comparisons ------------------------------------------------------------------------------------------------
class UndecidedError(CnnCalcError):
    """A size rule that holds for some input sizes only, met where no collector can record it."""


_NORMAL = {
    ">=": (1, 0, "ge"),
    ">": (1, -1, "ge"),
    "<=": (-1, 0, "ge"),
    "<": (-1, -1, "ge"),
    "==": (1, 0, "eq"),
    "!=": (1, 0, "ne"),
}
_SHOWN = {"==": "=", "!=": "!="}


class Condition:
    """A comparison of sizes that holds for some input sizes only: ``left relation right``."""

    __slots__ = ("left", "relation", "right")

    def __init__(self, left: Value, relation: str, right: Value):
        self.left = left
        self.relation = relation
        self.right = right

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
            "(give whole numbers, e.g. --input 3x224x224)"
        )


# -- printing ---------------------------------------------------------------------------------------------------
def _operand(p: Value) -> str:
    """An expression as the numerator of floor/ceil: parenthesised when it has several terms."""
    text = _text(p) if isinstance(p, Sym) else str(p)
    return f"({text})" if isinstance(p, Sym) and len(p.terms) > 1 else text


def _term_text(monomial: Monomial, c: int) -> str:
    atoms = "*".join(atom.text() for atom in monomial)
    if not atoms:
        return str(c)
    return atoms if c == 1 else f"-{atoms}" if c == -1 else f"{c}*{atoms}"


def _sum_text(p: Sym) -> str:
    text = ""
    for monomial, c in p.terms:
        piece = _term_text(monomial, abs(c) if text else c)
        text = piece if not text else f"{text} {'-' if c < 0 else '+'} {piece}"
    return text


def _text(p: Sym) -> str:
    factored = _factor(p) if len(p.symbols) > 1 else None
    if factored is None:
        return _sum_text(p)
    coeff, factors = factored
    parts = [f"({_sum_text(f)})" if len(f.terms) > 1 else _sum_text(f) for f in factors]
    if coeff == -1:
        return "-" + "*".join(parts)
    return "*".join(([str(coeff)] if coeff != 1 else []) + parts)


def _content(terms: dict) -> int:
    """The gcd of the coefficients, signed so the leading term's coefficient becomes positive."""
    g = gcd(*terms.values())
    leading = min(terms, key=_monomial_key)
    return -g if terms[leading] < 0 else g


def _factor(p: Sym) -> tuple[int, list[Sym]] | None:
    """Write ``p`` as ``coeff * F1 * F2 ...`` with one factor per symbol (areas like H*W), or None."""
    from fractions import Fraction  # printing only: kept off the start-up path

    if any(len(atom.symbols) > 1 for monomial, _ in p.terms for atom in monomial):
        return None
    terms = dict(p.terms)
    coeff, factors = 1, []
    for name in sorted(p.symbols):
        rows: dict = {}
        for monomial, c in terms.items():
            mine = tuple(atom for atom in monomial if name in atom.symbols)
            rest = tuple(atom for atom in monomial if name not in atom.symbols)
            rows.setdefault(mine, {})[rest] = c
        first_row = next(iter(rows.values()))
        pivot_column, pivot = next(iter(first_row.items()))
        columns = {column for row in rows.values() for column in row}
        for row in rows.values():
            for column in columns:
                if row.get(column, 0) * pivot != row.get(pivot_column, 0) * first_row.get(column, 0):
                    return None
        mine = {monomial: row.get(pivot_column, 0) for monomial, row in rows.items() if row.get(pivot_column, 0)}
        rest = dict(first_row)
        g_mine, g_rest = _content(mine), _content(rest)
        coeff *= Fraction(g_mine * g_rest, pivot)
        factors.append(_make({m: c // g_mine for m, c in mine.items()}))
        terms = {m: c // g_rest for m, c in rest.items()}
    if terms != {(): 1} or coeff.denominator != 1:
        return None
    return int(coeff), sorted((f for f in factors if not _is_int(f)), key=lambda f: (len(f.terms) > 1, f.key))
