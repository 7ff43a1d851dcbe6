"""Normalisation kinds: batch normalisation (its running statistics are buffers) and local response
normalisation.
"""

from __future__ import annotations

from math import prod

from ..registry import BOOL, FLOAT, INT, Arg, LayerKind, Weight, register


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
    shape_rule = "shape kept"

    def output(self, a, x):
        return x

    def flops(self, a, x, y):
        return prod(y) * (2 * a.size + 3)
