"""A small, safe evaluator for the arithmetic allowed in descriptions (``out: 4 * width``).

Expressions are parsed with :mod:`ast` and walked node by node against a whitelist: numbers, names bound by
blocks and repeats, arithmetic, comparisons, ``and``/``or``/``not``, ``a if cond else b`` and the functions
``min``, ``max``. There are no attributes, subscripts, calls of anything else or lambdas, so an expression can
compute and nothing more. Python's ``eval`` is never used.
"""

from __future__ import annotations

import ast
import operator
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any

MAX_LENGTH = 400
MAX_NODES = 200
MAX_MAGNITUDE = 10**18


class ExpressionError(ValueError):
    """An expression that cannot be evaluated; the caller adds where it stands."""


def _div(a: Any, b: Any) -> Any:
    if b == 0:
        raise ExpressionError("division by zero")
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return a / b


def _floordiv(a: Any, b: Any) -> Any:
    if b == 0:
        raise ExpressionError("division by zero")
    return a // b


def _mod(a: Any, b: Any) -> Any:
    if b == 0:
        raise ExpressionError("modulo by zero")
    return a % b


def _pow(a: Any, b: Any) -> Any:
    if not isinstance(b, int) or isinstance(b, bool) or not 0 <= b <= 64:
        raise ExpressionError(f"exponent must be a whole number from 0 to 64, got {b!r}")
    return a**b


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _div,
    ast.FloorDiv: _floordiv,
    ast.Mod: _mod,
    ast.Pow: _pow,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"min": min, "max": max}
_CONSTANTS = {"true": True, "false": False, "True": True, "False": False}


def evaluate(text: str, names: dict[str, Any]) -> Any:
    """Evaluate ``text`` with the given variable bindings; raise ExpressionError on anything else."""
    tree = _parse(text)
    try:
        return _Evaluator(names).visit(tree.body)
    except (OverflowError, RecursionError):
        raise ExpressionError(f"'{text}' is too large to compute") from None


@lru_cache(maxsize=4096)
def _parse(text: str) -> ast.Expression:
    """Parse once per distinct text: a block used 36 times has the same expressions each time."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        with warnings.catch_warnings():  # "invalid decimal literal" and the like would be printed, not raised
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExpressionError(f"'{text}' is not a valid expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExpressionError(f"expression has more than {MAX_NODES} parts")
    return tree


def _number(value: Any, node: ast.AST) -> Any:
    """Arithmetic is on numbers only: a name bound to a list or a word is passed through, never computed with."""
    if not isinstance(value, (int, float)):
        raise ExpressionError(f"cannot compute with {value!r} in '{ast.unparse(node)}'")
    return value


class _Evaluator:
    def __init__(self, names: dict[str, Any]):
        self.names = names

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ExpressionError(f"'{ast.unparse(node)}' is not allowed in an expression")
        value = method(node)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
            raise ExpressionError(f"value of '{ast.unparse(node)}' is too large")
        return value

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, (int, float, bool)):
            return node.value
        raise ExpressionError(f"{node.value!r} is not a number")

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        known = ", ".join(sorted(self.names)) or "none"
        raise ExpressionError(f"unknown name '{node.id}' (names defined here: {known})")

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        function = _BINARY.get(type(node.op))
        if function is None:
            raise ExpressionError(f"operator in '{ast.unparse(node)}' is not allowed")
        left, right = _number(self.visit(node.left), node), _number(self.visit(node.right), node)
        return function(left, right)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(node.op, ast.USub):
            return -_number(value, node)
        if isinstance(node.op, ast.UAdd):
            return +_number(value, node)
        raise ExpressionError(f"operator in '{ast.unparse(node)}' is not allowed")

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            function = _COMPARE.get(type(op))
            if function is None:
                raise ExpressionError(f"comparison in '{ast.unparse(node)}' is not allowed")
            right = self.visit(right_node)
            try:
                holds = function(left, right)
            except TypeError:
                raise ExpressionError(f"cannot compare {left!r} and {right!r} in '{ast.unparse(node)}'") from None
            if not holds:
                return False
            left = right
        return True

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value = None
        for operand in node.values:
            value = self.visit(operand)
            if bool(value) != is_and:
                return value
        return value

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
            raise ExpressionError(f"'{ast.unparse(node)}': only min(...) and max(...) may be called")
        arguments = [_number(self.visit(argument), node) for argument in node.args]
        if not arguments:
            raise ExpressionError(f"'{ast.unparse(node)}' needs at least one argument")
        return _FUNCTIONS[node.func.id](arguments)  # over the list: min(4) is 4, not a call of min on an int
