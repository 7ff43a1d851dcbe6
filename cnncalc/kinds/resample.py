"""Resampling kinds: ``upsample`` by a scale or to a size."""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..errors import CnnCalcError
from ..registry import CHOICE, MAX_SIZE, SCALE, SIZES, Arg, LayerKind, format_shape, register
from ..symbolic.recording import require
from .window import feature_map

#: A scale p / 2^e (every double is one) with p below this makes size * scale exact in double precision for every
#: size up to MAX_SIZE (2^31 - 1), since then size * p < 2^53: the symbolic floor(H * p / 2^e) is PyTorch's.
EXACT_NUMERATOR = 2**53 // (MAX_SIZE + 1)


def scaled_size(n, scale: float):
    """PyTorch's output size for a scale factor: ``int(double(n) * scale)``, the floor of the rounded product
    (300 x 0.3333333333333333 is 100 there, although the exact product is 99.99...). A symbolic size gets the
    exact floor(n * scale), which is the same value only when the product is exact at every size; other scales
    are refused on a symbolic size rather than given a rule that is wrong at some sizes."""
    if isinstance(n, int):
        return int(float(n) * scale)
    exact = Fraction(scale)
    if exact.numerator >= EXACT_NUMERATOR:
        raise CnnCalcError(
            f"upsample: scale {scale!r} on the symbolic size {n}: PyTorch computes floor(size x scale) in floating"
            " point, which for this scale is not the exact product at every size (300 x 1/3 gives 100); give the"
            " input size, or a scale that is a whole number or a fraction over a power of two (1.5, 0.25)",
            argument="scale",
        )
    return n * exact.numerator // exact.denominator


@register
class Upsample(LayerKind):
    name = "upsample"
    doc = "Upsampling by a scale (out = floor(in * scale), as PyTorch) or to a size; nearest or (bi/tri)linear."
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
    shape_rule = (
        "`out = floor(in * scale)` computed as PyTorch does, in double precision (100 x 0.29 = 28), or `size`; "
        "on a symbolic size the scale must make the product exact (a whole number, or a fraction over a power "
        "of two: 1.5, 0.25)"
    )

    def output(self, a, x):
        feature_map(self.name, x)
        if (a.scale is None) == (a.size is None):
            raise CnnCalcError("upsample needs exactly one of 'scale' and 'size'")
        if a.size is not None:
            return (x[0], *a.size)
        out = tuple(scaled_size(n, s) for n, s in zip(x[1:], a.scale))
        for size in out:
            positive = size >= 1
            if positive is not True:
                require(positive, lambda: f"upsample: output size {format_shape(out)} is below 1", argument="scale")
        return (x[0], *out)

    def flops(self, a, x, y):
        if a.mode == "nearest":
            return 0
        return prod(y) * 3 * (2 ** (len(y) - 1) - 1)
