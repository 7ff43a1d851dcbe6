"""Normalisation kinds: batch normalisation (its running statistics are buffers), local response normalisation
and layer normalisation.
"""

from __future__ import annotations

from math import prod

from ..errors import CnnCalcError
from ..registry import BOOL, FLOAT, INT, Arg, LayerKind, Shape, Weight, format_shape, register


@register
class BatchNorm(LayerKind):
    name = "batchnorm"
    doc = "Batch normalisation over channels; running mean and variance are buffers, not parameters."
    args = (
        Arg("eps", FLOAT, "added to the variance", default=1e-5, minimum=0),
        Arg("affine", BOOL, "learn a scale and shift per channel", default=True),
    )
    flops_rule = "2 per element (inference: one multiply and one add, the per-channel constants folded)"
    shape_rule = "shape kept"

    def output(self, a, x):
        return x

    def weights(self, a, x):
        channels = x[0]
        stats = [Weight("running_mean", (channels,), False), Weight("running_var", (channels,), False)]
        if not a.affine:
            return stats
        return [Weight("weight", (channels,)), Weight("bias", (channels,)), *stats]

    def flops(self, a, x, y):
        return 2 * prod(y)


@register
class LRN(LayerKind):
    name = "lrn"
    doc = "Local response normalisation across channels: b = a / (k + alpha/size * sum of a^2 over size channels)^beta."
    main = "size"
    args = (
        Arg("size", INT, "number of neighbouring channels summed", required=True),
        Arg("alpha", FLOAT, "scale of the sum", default=1e-4),
        Arg("beta", FLOAT, "exponent", default=0.75),
        Arg("k", FLOAT, "additive constant", default=1.0),
    )
    flops_rule = "2 x size + 3 per element (squares and sum over the window, scale, add k, power, divide)"
    shape_rule = "shape kept; needs channels and at least one more dimension, as PyTorch's LocalResponseNorm"

    def output(self, a, x):
        if len(x) < 2:  # PyTorch: "Expected 3D or higher dimensionality input" (the batch is one of them)
            raise CnnCalcError(
                f"lrn needs channels and at least one more dimension (PyTorch's LocalResponseNorm takes 3 or more"
                f" dimensions with the batch), received {format_shape(x)} (a flattened tensor)"
            )
        return x

    def flops(self, a, x, y):
        return prod(y) * (2 * a.size + 3)


def sample_axis(kind: str, dim: int, x: Shape) -> int:
    """The per-sample axis of ``dim`` counted with the batch as 0 (negative from the end), as PyTorch's ``dim``."""
    axis = dim - 1 if dim > 0 else len(x) + dim
    if dim == 0 or not 0 <= axis < len(x):
        raise CnnCalcError(
            f"{kind}: dim {dim} is not a dimension of a {format_shape(x)} sample (batch is 0)", argument="dim"
        )
    return axis


@register
class LayerNorm(LayerKind):
    name = "layernorm"
    doc = (
        "Layer normalisation over one dimension at every other position: over the channels (ConvNeXt's "
        "LayerNorm2d) or the last dimension (nn.LayerNorm after a permute, or on a flattened vector)."
    )
    main = "dim"
    args = (
        Arg("dim", INT, "the dimension normalised, batch first (1: channels, -1: the last)", default=1, minimum=-4),
        Arg("eps", FLOAT, "added to the variance", default=1e-5, minimum=0),
    )
    flops_rule = (
        "7n + 2 per normalisation of n values (mean n, subtract n, variance 2n, add eps and square root 2, "
        "divide n, scale and shift 2n)"
    )
    shape_rule = "shape kept; `weight` and `bias` have the size of `dim`"

    def output(self, a, x):
        sample_axis(self.name, a.dim, x)
        return x

    def weights(self, a, x):
        size = x[sample_axis(self.name, a.dim, x)]
        return [Weight("weight", (size,)), Weight("bias", (size,))]

    def flops(self, a, x, y):
        axis = sample_axis(self.name, a.dim, y)
        positions = prod(size for i, size in enumerate(y) if i != axis)  # no division: sizes may be symbols
        return positions * (7 * y[axis] + 2)
