"""Every layer kind of the description format: arguments, shape rule, weights and counts side by side.

Shapes are per sample: ``(C, *spatial)`` for feature maps, ``(features,)`` after ``flatten``. Counts are per
sample too; the propagator multiplies by the batch. MACs count only convolutions and fully connected layers,
bias excluded; FLOPs count every arithmetic operation (the rule of each kind is in its ``flops_rule``).
"""

from __future__ import annotations

from math import prod
from types import SimpleNamespace

from . import formulas
from .errors import CnnCalcError
from .registry import (
    BOOL,
    CHOICE,
    FLOAT,
    INT,
    PADDING,
    SCALE,
    SIZES,
    Arg,
    LayerKind,
    Operand,
    Shape,
    Weight,
    format_shape,
    register,
)
from .symbolic.recording import require

RANK_NAMES = "[C, L], [C, H, W] or [C, D, H, W]"


def _feature_map(kind: str, x: Shape) -> None:
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


KERNEL = Arg("kernel", SIZES, "window size, an int or one per spatial dimension", required=True)
PADDING = Arg(
    "padding",
    PADDING,
    "zero padding: int, per-dim list, [before, after] pairs, 'same' or 'valid'",
    default=0,
    minimum=0,
)
DILATION = Arg("dilation", SIZES, "spacing between kernel elements", default=1)


def _conv_args(extra: tuple[Arg, ...] = ()) -> tuple[Arg, ...]:
    return (
        Arg("out", INT, "output channels", required=True),
        KERNEL,
        Arg("stride", SIZES, "step of the window", default=1),
        PADDING,
        *extra,
        DILATION,
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
        _feature_map(self.name, x)
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
        _feature_map(self.name, x)
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
        KERNEL,
        Arg("stride", SIZES, "step of the window (default: the kernel)"),
        PADDING,
        DILATION,
        Arg("ceil_mode", BOOL, "round the output size up instead of down", default=False),
    )
    flops_rule = "kernel elements - 1 comparisons per output element"
    shape_rule = (
        "the conv rule; in ceil mode the floor becomes a ceiling and, as in PyTorch, a last window that "
        "would start beyond the input and the left padding is dropped"
    )

    def output(self, a, x):
        _feature_map(self.name, x)
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
        KERNEL,
        Arg("stride", SIZES, "step of the window (default: the kernel)"),
        PADDING,
        Arg("ceil_mode", BOOL, "round the output size up instead of down", default=False),
        Arg("count_include_pad", BOOL, "divide by the full window, padding included", default=True),
    )
    flops_rule = "kernel elements per output element (the adds and one divide)"
    shape_rule = "as maxpool"

    def output(self, a, x):
        _feature_map(self.name, x)
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
        _feature_map(self.name, x)
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
        _feature_map(self.name, x)
        return (x[0], *a.output)

    def flops(self, a, x, y):
        return x[0] * prod(formulas.adaptive_window_total(n, m) for n, m in zip(x[1:], a.output))


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
    doc = "Fully connected layer on a flattened feature vector."
    main = "out"
    args = (
        Arg("out", INT, "output features", required=True),
        Arg("bias", BOOL, "add a learned bias per output feature", default=True),
    )
    flops_rule = "2 x MACs, plus one add per output for the bias"
    shape_rule = "needs a flattened input; `out` features"
    macs_rule = "input features x output features"

    def output(self, a, x):
        if len(x) != 1:
            raise CnnCalcError(
                f"linear needs a flattened input (features), received {format_shape(x)}; add '- flatten' before it"
            )
        return (a.out,)

    def weights(self, a, x):
        weight = Weight("weight", (a.out, x[0]))
        return [weight, Weight("bias", (a.out,))] if a.bias else [weight]

    def macs(self, a, x, y):
        return x[0] * a.out

    def flops(self, a, x, y):
        return 2 * self.macs(a, x, y) + (a.out if a.bias else 0)


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
        _feature_map(self.name, x)
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

    multi_input = True
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
