"""Resampling kinds: ``upsample`` by a scale or to a size."""

from __future__ import annotations

from math import prod

from ..errors import CnnCalcError
from ..registry import CHOICE, SCALE, SIZES, Arg, LayerKind, format_shape, register
from ..symbolic.recording import require
from .window import feature_map


@register
class Upsample(LayerKind):
    name = "upsample"
    doc = "Upsampling by a scale (out = floor(in * scale)) or to a size; nearest or (bi/tri)linear."
    main = "scale"
    args = (
        Arg("scale", SCALE, "factor, one number or one per spatial dimension"),
        Arg("size", SIZES, "output size, an int or one per spatial dimension"),
        Arg("mode", CHOICE, "interpolation", default="nearest", choices=("nearest", "bilinear")),
    )
    flops_rule = (
        "nearest: 0; bilinear: 3 x (2^d - 1) per output element (2^d - 1 linear interpolations of 3 ops, "
        "d spatial dims)"
    )
    shape_rule = "`out = floor(in * scale)`, or `size`"

    def output(self, a, x):
        feature_map(self.name, x)
        if (a.scale is None) == (a.size is None):
            raise CnnCalcError("upsample needs exactly one of 'scale' and 'size'")
        if a.size is not None:
            return (x[0], *a.size)
        out = tuple(n * s.numerator // s.denominator for n, s in zip(x[1:], a.scale))  # floor(n * s), exactly
        for size in out:
            positive = size >= 1
            if positive is not True:
                require(positive, lambda: f"upsample: output size {format_shape(out)} is below 1", argument="scale")
        return (x[0], *out)

    def flops(self, a, x, y):
        if a.mode == "nearest":
            return 0
        return prod(y) * 3 * (2 ** (len(y) - 1) - 1)
