"""Kinds that keep the shape and cost a fixed number of operations per element: dropout and stochastic depth, the
activations (``prelu`` with learned slopes), softmax, and the learned per-channel ``scale``.

FLOP rules count one per elementary operation (add, subtract, multiply, divide, compare, exp, log, erf, tanh), as
written out in each kind's doc; a clamp to a range is two comparisons.
"""

from __future__ import annotations

from math import prod

from ..errors import CnnCalcError
from ..registry import CHOICE, FLOAT, INT, SELF, Arg, LayerKind, Weight, format_shape, register


@register
class Dropout(LayerKind):
    name = "dropout"
    doc = "Dropout; the identity at inference."
    main = "p"
    args = (Arg("p", FLOAT, "probability of zeroing an element in training", default=0.5, minimum=0, below=1),)
    shape_rule = "shape kept; the identity at inference"

    def output(self, a, x):
        return x


@register
class StochasticDepth(LayerKind):
    name = "stochasticdepth"
    doc = (
        "Stochastic depth (torchvision's StochasticDepth), on a residual's main path: in training it drops the "
        "input of a whole sample (row) or of the whole batch; the identity at inference."
    )
    main = "p"
    args = (
        Arg("p", FLOAT, "probability of dropping in training", required=True, minimum=0, below=1),
        Arg(
            "mode",
            CHOICE,
            "what one draw drops in training: a sample or the batch",
            default="row",
            choices=("row", "batch"),
        ),
    )
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
_elementwise("relu6", 2, "min(max(x, 0), 6): two comparisons.")
_elementwise(
    "leakyrelu",
    2,
    "x if x > 0 else slope * x.",
    (Arg("slope", FLOAT, "slope for negative inputs", default=0.01),),
    main="slope",
)


@register
class PReLU(_Elementwise):
    name = "prelu"
    doc = "x if x > 0 else weight * x: leakyrelu with a learned slope, shared or one per channel (PyTorch's PReLU)."
    main = "channels"
    args = (Arg("channels", INT, "number of slopes: 1 (shared) or the input's channel count", default=1),)
    per_element = 2
    flops_rule = "2 per element"
    shape_rule = "shape kept; `channels` is 1 or the input's channel count"

    def output(self, a, x):
        if a.channels not in (1, x[0]):
            raise CnnCalcError(
                f"prelu: channels must be 1 or the input's channel count {x[0]}, received {a.channels}",
                argument="channels",
            )
        return x

    def weights(self, a, x):
        return [Weight("weight", (a.channels,))]


_elementwise(
    "elu",
    4,
    "x if x > 0 else alpha * (exp(x) - 1): compare, exp, subtract, multiply.",
    (Arg("alpha", FLOAT, "scale of the negative part", default=1.0),),
    main="alpha",
)
_elementwise("sigmoid", 4, "1 / (1 + exp(-x)): negate, exp, add, divide.")
_elementwise("hardsigmoid", 4, "relu6(x + 3) / 6: add, two comparisons, divide.")
_elementwise("tanh", 1, "tanh(x), one operation.")
_elementwise("gelu", 5, "x / 2 * (1 + erf(x / sqrt 2)): divide, erf, add, two multiplies.")
_elementwise("silu", 5, "x * sigmoid(x): the sigmoid's 4 and a multiply.")
_elementwise("hardswish", 5, "x * relu6(x + 3) / 6: the hardsigmoid's 4 and a multiply.")
_elementwise("mish", 5, "x * tanh(log(1 + exp(x))): exp, add, log, tanh, multiply.")
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


@register
class Scale(_Elementwise):
    name = "scale"
    doc = (
        "Learned per-channel multiplier (layer scale, as torchvision ConvNeXt's `layer_scale`); its array is keyed "
        "by the layer's path itself, with no `.weight`."
    )
    flops_rule = "1 per element"
    shape_rule = "shape kept; the array is `C x 1 x 1` for `C x H x W` (`C` for a flattened input)"

    def weights(self, a, x):
        return [Weight(SELF, (x[0],) + (1,) * (len(x) - 1))]
