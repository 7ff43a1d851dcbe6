"""Kinds that keep the shape and cost a fixed number of operations per element: dropout, the activations,
softmax.
"""

from __future__ import annotations

from math import prod

from ..errors import CnnCalcError
from ..registry import FLOAT, INT, Arg, LayerKind, format_shape, register


@register
class Dropout(LayerKind):
    name = "dropout"
    doc = "Dropout; the identity at inference."
    main = "p"
    args = (Arg("p", FLOAT, "probability of zeroing an element in training", default=0.5, minimum=0, below=1),)
    shape_rule = "shape kept; the identity at inference"

    def output(self, a, x):
        return x


class _Elementwise(LayerKind):
    """Activations: the shape is kept, a fixed number of operations per element."""

    per_element = 1
    shape_rule = "shape kept"

    def output(self, a, x):
        return x

    def flops(self, a, x, y):
        return self.per_element * prod(y)


def _elementwise(kind: str, count: int, description: str, arguments: tuple[Arg, ...] = (), main: str | None = None):
    cls = type(
        kind,
        (_Elementwise,),
        {
            "name": kind,
            "doc": description,
            "per_element": count,
            "args": arguments,
            "main": main,
            "flops_rule": f"{count} per element" if count else "0",
        },
    )
    register(cls)


_elementwise("relu", 1, "max(x, 0).")
_elementwise(
    "leakyrelu",
    2,
    "x if x > 0 else slope * x.",
    (Arg("slope", FLOAT, "slope for negative inputs", default=0.01),),
    main="slope",
)
_elementwise("sigmoid", 4, "1 / (1 + exp(-x)): negate, exp, add, divide.")
_elementwise("tanh", 1, "tanh(x), one operation.")
_elementwise("gelu", 5, "x / 2 * (1 + erf(x / sqrt 2)): divide, erf, add, two multiplies.")
_elementwise("silu", 5, "x * sigmoid(x): the sigmoid's 4 and a multiply.")
_elementwise("identity", 0, "Passes its input through.")


@register
class Softmax(LayerKind):
    name = "softmax"
    doc = "Softmax along a dimension (default 1, the channels, counting the batch as dimension 0)."
    main = "dim"
    args = (Arg("dim", INT, "dimension, batch first; negative counts from the end", default=1, minimum=-4),)
    flops_rule = "5n - 2 per softmax of n values (max, subtract, exp, sum, divide)"
    shape_rule = "shape kept"

    def _axis(self, a, x) -> int:
        axis = a.dim - 1 if a.dim > 0 else len(x) + a.dim
        if a.dim == 0 or not 0 <= axis < len(x):
            raise CnnCalcError(
                f"softmax: dim {a.dim} is not a dimension of a {format_shape(x)} sample (batch is 0)", argument="dim"
            )
        return axis

    def output(self, a, x):
        self._axis(a, x)
        return x

    def flops(self, a, x, y):
        n = y[self._axis(a, y)]
        return prod(y) // n * (5 * n - 2)
