"""Sliding-window kinds: convolution, transposed convolution and pooling, over 1 to 3 spatial dimensions.

One window formula (``formulas.window_output_size``) serves convolution and pooling; ``feature_map`` is the
input check every kind over spatial dimensions shares.
"""

from __future__ import annotations

from math import prod
from types import SimpleNamespace

from .. import formulas
from ..errors import CnnCalcError
from ..registry import BOOL, INT, PADDING, SIZES, Arg, LayerKind, Shape, Weight, format_shape, register

RANK_NAMES = "[C, L], [C, H, W] or [C, D, H, W]"


def feature_map(kind: str, x: Shape) -> None:
    """Convolution and pooling need channels and one to three spatial dimensions."""
    if not 2 <= len(x) <= 4:
        flat = " (a flattened tensor)" if len(x) == 1 else ""
        raise CnnCalcError(f"{kind} needs a {RANK_NAMES} input, received {format_shape(x)}{flat}")


def _padding(a: SimpleNamespace, x: Shape, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """Resolve 'same' / 'valid' / explicit padding to (before, after) pairs, one per spatial dimension."""
    if a.padding == "valid":
        return ((0, 0),) * len(kernel)
    if a.padding == "same":
        return tuple(formulas.same_padding(n, k, s, d) for n, k, s, d in zip(x[1:], kernel, stride, dilation))
    return a.padding


def _window_outputs(a: SimpleNamespace, x: Shape, dilation: tuple, ceil_mode: bool) -> tuple:
    pads = _padding(a, x, a.kernel, a.stride, dilation)
    return tuple(
        formulas.window_output_size(n, k, s, p, d, ceil_mode)
        for n, k, s, p, d in zip(x[1:], a.kernel, a.stride, pads, dilation)
    )


def _stride_default(a: SimpleNamespace) -> None:
    """Pooling stride defaults to the kernel size."""
    if a.stride is None:
        a.stride = a.kernel


KERNEL_ARG = Arg("kernel", SIZES, "window size, an int or one per spatial dimension", required=True)
PADDING_ARG = Arg(
    "padding",
    PADDING,
    "zero padding: int, per-dim list, [before, after] pairs, 'same' or 'valid'",
    default=0,
    minimum=0,
)
DILATION_ARG = Arg("dilation", SIZES, "spacing between kernel elements", default=1)


def _conv_args(extra: tuple[Arg, ...] = ()) -> tuple[Arg, ...]:
    return (
        Arg("out", INT, "output channels", required=True),
        KERNEL_ARG,
        Arg("stride", SIZES, "step of the window", default=1),
        PADDING_ARG,
        *extra,
        DILATION_ARG,
        Arg("groups", INT, "split input and output channels into this many groups", default=1),
        Arg("bias", BOOL, "add a learned bias per output channel", default=True),
    )


def _grouped(kind: str, a: SimpleNamespace, channels: int) -> int:
    """Input channels per group; both channel counts must divide by groups."""
    if channels % a.groups:
        raise CnnCalcError(
            f"{kind}: input channels {channels} are not divisible by groups {a.groups}", argument="groups"
        )
    if a.out % a.groups:
        raise CnnCalcError(f"{kind}: output channels {a.out} are not divisible by groups {a.groups}", argument="groups")
    return channels // a.groups


@register
class Conv(LayerKind):
    name = "conv"
    doc = "Convolution over 1 to 3 spatial dimensions, with stride, padding, dilation and groups."
    main = "out"
    args = _conv_args()
    shape_rule = (
        "`out = floor((in + before + after - dilation*(kernel-1) - 1) / stride) + 1` per spatial dim; "
        "channels become `out`"
    )
    macs_rule = "output elements x (input channels / groups) x kernel elements"
    flops_rule = "2 x MACs, plus one add per output element for the bias"

    def output(self, a, x):
        feature_map(self.name, x)
        _grouped(self.name, a, x[0])
        return (a.out, *_window_outputs(a, x, a.dilation, False))

    def weights(self, a, x):
        weight = Weight("weight", (a.out, x[0] // a.groups, *a.kernel))
        return [weight, Weight("bias", (a.out,))] if a.bias else [weight]

    def macs(self, a, x, y):
        return prod(y) * (x[0] // a.groups) * prod(a.kernel)

    def flops(self, a, x, y):
        return 2 * self.macs(a, x, y) + (prod(y) if a.bias else 0)


@register
class ConvTranspose(LayerKind):
    name = "convtranspose"
    doc = "Transposed convolution (PyTorch's ConvTranspose): each input element scatters a weighted kernel."
    main = "out"
    args = _conv_args((Arg("output_padding", SIZES, "extra size added on the far side", default=0, minimum=0),))
    shape_rule = "`out = (in - 1)*stride - before - after + dilation*(kernel-1) + output_padding + 1`"
    macs_rule = "input elements x (output channels / groups) x kernel elements"
    flops_rule = "2 x MACs (MACs = input elements x out/groups x kernel elements), plus the bias adds"

    def output(self, a, x):
        feature_map(self.name, x)
        _grouped(self.name, a, x[0])
        if isinstance(a.padding, str):
            raise CnnCalcError(
                f"{self.name}: padding '{a.padding}' is not supported; give the padding as numbers", argument="padding"
            )
        limits = [max(s, d) for s, d in zip(a.stride, a.dilation)]
        if any(op >= limit for op, limit in zip(a.output_padding, limits)):
            raise CnnCalcError(
                f"{self.name}: output_padding {list(a.output_padding)} must be smaller than stride or dilation "
                f"({list(a.stride)}, {list(a.dilation)})",
                argument="output_padding",
            )
        return (
            a.out,
            *(
                formulas.transposed_output_size(n, k, s, p, d, op)
                for n, k, s, p, d, op in zip(x[1:], a.kernel, a.stride, a.padding, a.dilation, a.output_padding)
            ),
        )

    def weights(self, a, x):
        weight = Weight("weight", (x[0], a.out // a.groups, *a.kernel))
        return [weight, Weight("bias", (a.out,))] if a.bias else [weight]

    def macs(self, a, x, y):
        return prod(x) * (a.out // a.groups) * prod(a.kernel)

    def flops(self, a, x, y):
        return 2 * self.macs(a, x, y) + (prod(y) if a.bias else 0)


def _check_pool_padding(kind: str, a: SimpleNamespace, x: Shape, span_of) -> None:
    """PyTorch refuses a padding above half the (effective) kernel: the window would see only padding."""
    if isinstance(a.padding, str):
        return
    for (before, after), kernel, dilation in zip(a.padding, a.kernel, getattr(a, "dilation", None) or a.kernel):
        half = span_of(kernel, dilation) // 2
        if max(before, after) > half:
            raise CnnCalcError(
                f"{kind}: padding {max(before, after)} is more than half the kernel "
                f"({half} at most for kernel {kernel})",
                argument="padding",
            )


@register
class MaxPool(LayerKind):
    name = "maxpool"
    doc = "Max pooling; stride defaults to the kernel; ceil_mode follows PyTorch (the last window starts inside)."
    main = "kernel"
    args = (
        KERNEL_ARG,
        Arg("stride", SIZES, "step of the window (default: the kernel)"),
        PADDING_ARG,
        DILATION_ARG,
        Arg("ceil_mode", BOOL, "round the output size up instead of down", default=False),
    )
    flops_rule = "kernel elements - 1 comparisons per output element"
    shape_rule = (
        "the conv rule; in ceil mode the floor becomes a ceiling and, as in PyTorch, a last window that "
        "would start beyond the input and the left padding is dropped"
    )

    def output(self, a, x):
        feature_map(self.name, x)
        _stride_default(a)
        _check_pool_padding(self.name, a, x, formulas.window_span)
        return (x[0], *_window_outputs(a, x, a.dilation, a.ceil_mode))

    def flops(self, a, x, y):
        return prod(y) * (prod(a.kernel) - 1)


@register
class AvgPool(LayerKind):
    name = "avgpool"
    doc = "Average pooling; stride defaults to the kernel; ceil_mode and count_include_pad as in PyTorch."
    main = "kernel"
    args = (
        KERNEL_ARG,
        Arg("stride", SIZES, "step of the window (default: the kernel)"),
        PADDING_ARG,
        Arg("ceil_mode", BOOL, "round the output size up instead of down", default=False),
        Arg("count_include_pad", BOOL, "divide by the full window, padding included", default=True),
    )
    flops_rule = "kernel elements per output element (the adds and one divide)"
    shape_rule = "as maxpool"

    def output(self, a, x):
        feature_map(self.name, x)
        _stride_default(a)
        _check_pool_padding(self.name, a, x, lambda kernel, _: kernel)
        return (x[0], *_window_outputs(a, x, (1,) * len(a.kernel), a.ceil_mode))

    def flops(self, a, x, y):
        return prod(y) * prod(a.kernel)


@register
class GlobalAvgPool(LayerKind):
    name = "globalavgpool"
    doc = "Average over all spatial positions; keeps the dimensions as size 1 (C x 1 x 1)."
    flops_rule = "one per input element (the adds and one divide per channel)"
    shape_rule = "every spatial size becomes 1 (`C x 1 x 1`)"

    def output(self, a, x):
        feature_map(self.name, x)
        return (x[0], *(1 for _ in x[1:]))

    def flops(self, a, x, y):
        return prod(x)


@register
class AdaptiveAvgPool(LayerKind):
    name = "adaptiveavgpool"
    doc = "Average pooling to a fixed output size; window i spans [floor(i*in/out), ceil((i+1)*in/out))."
    main = "output"
    args = (Arg("output", SIZES, "output size, an int or one per spatial dimension", required=True),)
    flops_rule = "the window's element count per output element (exact, windows may overlap)"
    shape_rule = "spatial sizes become `output`; window i spans `[floor(i*in/out), ceil((i+1)*in/out))`"

    def output(self, a, x):
        feature_map(self.name, x)
        return (x[0], *a.output)

    def flops(self, a, x, y):
        return x[0] * prod(formulas.adaptive_window_total(n, m) for n, m in zip(x[1:], a.output))
