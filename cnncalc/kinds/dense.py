"""Kinds on a flattened feature vector: ``flatten`` and the fully connected ``linear`` (also per position)."""

from __future__ import annotations

from math import prod

from ..errors import CnnCalcError
from ..registry import BOOL, INT, Arg, LayerKind, Weight, format_shape, register


@register
class Flatten(LayerKind):
    name = "flatten"
    doc = "Flatten channels and spatial dimensions into one feature vector."
    shape_rule = "`C x H x W` becomes one feature dimension of `C*H*W`"

    def output(self, a, x):
        return (prod(x),)


@register
class Linear(LayerKind):
    name = "linear"
    doc = (
        "Fully connected layer on a flattened feature vector, or with `per_position` on the last dimension at "
        "every other position (PyTorch's Linear on an N-D tensor)."
    )
    main = "out"
    args = (
        Arg("out", INT, "output features", required=True),
        Arg("bias", BOOL, "add a learned bias per output feature", default=True),
        Arg("per_position", BOOL, "apply to the last dimension at every other position", default=False),
    )
    flops_rule = "2 x MACs, plus one add per output for the bias"
    shape_rule = "needs a flattened input, or with `per_position` the last dimension becomes `out`"
    macs_rule = "input features x output features (x positions with `per_position`: the other sizes' product)"

    def output(self, a, x):
        if a.per_position:
            return (*x[:-1], a.out)
        if len(x) != 1:
            raise CnnCalcError(
                f"linear needs a flattened input (features), received {format_shape(x)}; add '- flatten' before it"
            )
        return (a.out,)

    def weights(self, a, x):
        weight = Weight("weight", (a.out, x[-1]))
        return [weight, Weight("bias", (a.out,))] if a.bias else [weight]

    def macs(self, a, x, y):
        return prod(x) * a.out  # input features x out at each position

    def flops(self, a, x, y):
        return 2 * self.macs(a, x, y) + (prod(y) if a.bias else 0)
