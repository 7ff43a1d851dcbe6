"""Size arithmetic of sliding windows, written once and shared by convolution and pooling.

Pure functions of one spatial dimension. They use only ``+ - * //`` and comparisons on the sizes, so that a
size can later be a symbol instead of an int. A size that breaks a rule raises CnnCalcError without a
location; the propagator adds the layer and the place in the file.
"""

from __future__ import annotations

from .symbolic.algebra import exact_gcd
from .symbolic.recording import note, require


def ceil_div(a: int, b: int) -> int:
    """ceil(a / b) for integers, exactly."""
    return -((-a) // b)


def window_span(kernel: int, dilation: int = 1) -> int:
    """Extent of a dilated window: ``dilation * (kernel - 1) + 1``."""
    return dilation * (kernel - 1) + 1


def same_padding(in_size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Padding (before, after) that makes ``out = ceil(in / stride)``; an odd total puts the extra on the after side.

    total = max((ceil(in / stride) - 1) * stride + dilation * (kernel - 1) + 1 - in, 0); before = total // 2.
    With stride 1 this is PyTorch's ``padding='same'``; for larger strides it is TensorFlow's.
    """
    total = max((ceil_div(in_size, stride) - 1) * stride + window_span(kernel, dilation) - in_size, 0)
    return total // 2, total - total // 2


def window_output_size(
    in_size: int,
    kernel: int,
    stride: int = 1,
    padding: tuple[int, int] = (0, 0),
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Number of window positions: ``floor((in + before + after - dilation * (kernel - 1) - 1) / stride) + 1``.

    In ceil mode the floor becomes a ceiling, then, as in PyTorch, the last window is dropped if it would start
    beyond the input and the before-padding: ``if (out - 1) * stride >= in + before: out -= 1``. That test
    depends only on ``e = span - after``: never true when ``e >= stride``, always when ``e <= 0``, and in between
    the result is ``floor((in + before - 1) / stride) + 1``; written so, a symbolic size needs no branch.
    A (dilated) window larger than the padded input raises CnnCalcError (a condition on a symbolic size).
    """
    before, after = padding
    padded = in_size + before + after
    span = window_span(kernel, dilation)
    fits = padded >= span
    if fits is not True:
        dilated = f" (dilated to {span})" if dilation != 1 else ""
        require(
            fits,
            lambda: (
                f"kernel {kernel}{dilated} is larger than the padded input {padded} "
                f"(input {in_size} + padding {before}+{after})"
            ),
            argument="kernel",
        )
    if not ceil_mode:
        if stride != 1:
            note(
                lambda: (padded - span) % stride,
                lambda: (
                    f"input {in_size} + padding {before}+{after} - window "
                    f"{span} is not a multiple of stride {stride}: the last rows or columns are never read"
                ),
            )
        return (padded - span) // stride + 1
    reach = span - after
    if reach >= stride:
        return ceil_div(padded - span, stride) + 1
    if reach > 0:
        return (in_size + before - 1) // stride + 1
    return ceil_div(padded - span, stride)


def transposed_output_size(
    in_size: int,
    kernel: int,
    stride: int = 1,
    padding: tuple[int, int] = (0, 0),
    dilation: int = 1,
    output_padding: int = 0,
) -> int:
    """Size after a transposed convolution:
    ``(in - 1) * stride - before - after + dilation * (kernel - 1) + output_padding + 1``.

    Raises CnnCalcError when the result is below 1.
    """
    before, after = padding
    out = (in_size - 1) * stride - before - after + window_span(kernel, dilation) + output_padding
    positive = out >= 1
    if positive is not True:
        require(
            positive,
            lambda: (
                f"output size {out} is below 1 (input {in_size}, kernel {kernel}, "
                f"stride {stride}, padding {before}+{after})"
            ),
        )
    return out


def adaptive_window_total(in_size: int, out_size: int) -> int:
    """Sum of the window lengths of adaptive pooling, whose window i spans
    ``[floor(i * in / out), ceil((i + 1) * in / out))``: in closed form ``in + out - gcd(in, out)``.

    Each of the ``out - 1`` inner boundaries ``i * in / out`` adds one element to the total unless it is whole,
    which it is for ``gcd(in, out) - 1`` of them; a sum over the windows would take time in ``out``.
    """
    return in_size + out_size - exact_gcd(in_size, out_size)
