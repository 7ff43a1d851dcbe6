"""Kinds that merge earlier outputs: ``add`` (also a residual's join), ``mul``, and ``concat`` (also a branch
set's join).

Operands agree in rank; ``add`` and ``mul`` broadcast as NumPy does, ``concat`` needs equal sizes but for the
channels. With symbolic sizes, sizes that agree for some inputs only become a condition (rule 'merge').
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


def _broadcast(x: list[Operand], message) -> tuple:
    """The NumPy broadcast of the operands' per-sample shapes, which must have one rank (the batch leads every
    operand, so a shorter shape would broadcast the batch against a feature dimension).

    Per dimension: equal sizes stay; a size that is literally 1 stretches to the other. A symbolic size that may
    or may not be 1 is never taken to stretch: it must equal the other (a condition, rule 'merge').
    """
    first = x[0].shape
    if any(len(op.shape) != len(first) for op in x[1:]):
        raise CnnCalcError(message() + " (operands need one rank)")
    out = list(first)
    for op in x[1:]:
        for axis, theirs in enumerate(op.shape):
            mine = out[axis]
            if isinstance(theirs, int) and theirs == 1:
                continue
            if isinstance(mine, int) and mine == 1:
                out[axis] = theirs
                continue
            same = mine == theirs
            if same is not True:
                require(same, message, rule="merge")
    return tuple(out)


def _operand_list(operands: list[Operand]) -> str:
    return ", ".join(f"{op.path or 'input'} {format_shape(op.shape)}" for op in operands)


class _Join(LayerKind):
    """Kinds that read two or more earlier outputs, listed under ``of`` (``- add: [previous, skip]``)."""

    operands = "of"


class _Broadcasting(_Join):
    """Element-wise joins whose operand shapes broadcast as NumPy's do; one operation per operand after the first
    at each output element."""

    verb = ""  # how the error names the operation: "add", "multiply"
    shape_rule = (
        "one rank; per dimension the sizes are equal or one of them is 1 (it stretches); the output takes the larger"
    )

    def output(self, a, x):
        return _broadcast(x, lambda: f"cannot {self.verb} tensors whose shapes do not broadcast: {_operand_list(x)}")

    def flops(self, a, x, y):
        return (len(x) - 1) * prod(y)


@register
class Add(_Broadcasting):
    name = "add"
    doc = "Element-wise sum of two or more earlier outputs (also the join of a residual); shapes broadcast as in NumPy."
    joins = "residual"
    verb = "add"
    flops_rule = "(operands - 1) adds per output element"


@register
class Mul(_Broadcasting):
    name = "mul"
    doc = (
        "Element-wise product of two or more earlier outputs; shapes broadcast as in NumPy (a `C x 1 x 1` gate "
        "times `C x H x W`)."
    )
    verb = "multiply"
    flops_rule = "(operands - 1) multiplies per output element"


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
