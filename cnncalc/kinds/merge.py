"""Kinds that merge earlier outputs: ``add`` (also a residual's join) and ``concat`` (also a branch set's join).

Operands agree in rank and in the dimensions the merge keeps; with symbolic sizes, sizes that agree for some
inputs only become a condition (rule 'merge').
"""

from __future__ import annotations

from math import prod

from ..errors import CnnCalcError
from ..registry import LayerKind, Operand, format_shape, register
from ..symbolic.recording import require


def _agree(x: list[Operand], start: int, message) -> None:
    """Operands have the same rank and sizes from dimension ``start`` on; symbolic sizes that agree for some
    inputs only become a condition (rule 'merge')."""
    first = x[0].shape
    for op in x[1:]:
        if len(op.shape) != len(first):
            raise CnnCalcError(message())
        for mine, theirs in zip(first[start:], op.shape[start:]):
            same = mine == theirs
            if same is not True:
                require(same, message, rule="merge")


def _operand_list(operands: list[Operand]) -> str:
    return ", ".join(f"{op.path or 'input'} {format_shape(op.shape)}" for op in operands)


class _Join(LayerKind):
    """Kinds that read two or more earlier outputs, listed under ``of`` (``- add: [previous, skip]``)."""

    operands = "of"


@register
class Add(_Join):
    name = "add"
    doc = "Element-wise sum of two or more earlier outputs of the same shape (also the join of a residual)."
    joins = "residual"
    shape_rule = "all operands must have one shape"
    flops_rule = "(operands - 1) adds per output element"

    def output(self, a, x):
        _agree(x, 0, lambda: f"cannot add tensors of different shapes: {_operand_list(x)}")
        return x[0].shape

    def flops(self, a, x, y):
        return (len(x) - 1) * prod(y)


@register
class Concat(_Join):
    name = "concat"
    doc = "Concatenation along channels of two or more earlier outputs with the same spatial size."
    joins = "branches"  # also takes 'branches:', parallel layer lists it concatenates
    shape_rule = "channels add up; the other sizes must agree"

    def output(self, a, x):
        _agree(x, 1, lambda: f"cannot concatenate along channels, the other dimensions differ: {_operand_list(x)}")
        first = x[0].shape
        return (sum(op.shape[0] for op in x), *first[1:])
