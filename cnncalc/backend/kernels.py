"""Forward-pass kernels on NumPy arrays, batch-first (N, C, *spatial) with spatial rank 1 to 3.

Every kernel is a pure function that returns a new array in the input's dtype (float32 or float64)
and follows PyTorch's inference semantics. Output shapes come only from real array operations
(windows of a padded array, slicing, scatter targets), never from an output-size formula: these
kernels exist to cross-check the size formulas of the rest of cnncalc, so they must not share them.
Padding is a per-dim list of (before, after) pairs; kernel, stride and dilation are per-dim tuples.
"""

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_FIRST_SPATIAL = 2  # axis of the first spatial dim in (N, C, *spatial)


# --- windows and padding -----------------------------------------------------------------------


def _pad(x, padding, value=0.0):
    """Pad the spatial axes of x by per-dim (before, after) pairs."""
    if not any(before or after for before, after in padding):
        return x
    widths = [(0, 0)] * _FIRST_SPATIAL + [tuple(pair) for pair in padding]
    return np.pad(x, widths, constant_values=value)


def _pad_axis(x, axis, before, after, value=0.0):
    """Pad one axis of x."""
    widths = [(0, 0)] * x.ndim
    widths[axis] = (before, after)
    return np.pad(x, widths, constant_values=value)


def _span(kernel, dilation):
    """Distance from the first to one past the last element of a dilated kernel dim."""
    return dilation * (kernel - 1) + 1


def _windows(xp, kernel, stride, dilation):
    """Read-only view (N, C, *out, *kernel) of the strided, dilated windows of the padded input."""
    spans = tuple(_span(k, d) for k, d in zip(kernel, dilation))
    if any(span > size for span, size in zip(spans, xp.shape[_FIRST_SPATIAL:])):
        raise ValueError(f"kernel span {spans} is larger than the padded input {xp.shape[_FIRST_SPATIAL:]}")
    view = sliding_window_view(xp, spans, axis=tuple(range(_FIRST_SPATIAL, xp.ndim)))
    return view[(..., *(slice(None, None, s) for s in stride), *(slice(None, None, d) for d in dilation))]


def _reduce_windows(xp, axis, kernel, stride, dilation, start_limit, combine):
    """Combine the windows of xp along one axis with a binary ufunc, keeping windows starting before start_limit."""
    span = _span(kernel, dilation)
    if span > xp.shape[axis]:
        raise ValueError(f"kernel span {span} is larger than the padded input ({xp.shape[axis]}) on axis {axis}")
    at_axis = (slice(None),) * axis
    windows = sliding_window_view(xp, span, axis=axis)[(*at_axis, slice(None, None, stride))][..., ::dilation]
    if start_limit is not None:
        starts = sliding_window_view(np.arange(xp.shape[axis]), span)[::stride, 0]
        windows = windows[(*at_axis, slice(np.count_nonzero(starts < start_limit)))]
    # A loop over the taps, not over pixels: each step is one vectorised ufunc call.
    out = windows[..., 0].copy()
    for tap in range(1, kernel):
        combine(out, windows[..., tap], out=out)
    return out


def _ceil_padding(size, before, stride, ceil_mode):
    """Extra right padding that makes ceil_mode's partial windows exist, and the start limit that prunes them."""
    if not ceil_mode:
        return 0, None
    # PyTorch keeps a partial window only if it starts inside the input or its left padding.
    return stride - 1, before + size


# --- convolution -------------------------------------------------------------------------------


def conv(x, weight, bias, stride, padding, dilation, groups):
    """Convolution (cross-correlation) with weight (C_out, C_in/groups, *k) and optional bias (C_out,)."""
    _check_channels(x.shape[1], weight.shape[1] * groups, weight.shape[0], groups)
    weight = weight.astype(x.dtype, copy=False)
    kernel = weight.shape[_FIRST_SPATIAL:]
    if math.prod(kernel) == 1 and set(stride) == {1} and not any(map(any, padding)):
        out = _conv_pointwise(x, weight, groups)
    elif groups == 1:
        out = _conv_im2col(_windows(_pad(x, padding), kernel, stride, dilation), weight)
    else:
        out = _conv_grouped(_pad(x, padding), weight, stride, dilation, groups)
    return _add_bias(out, bias)


def _check_channels(c_in, expected_c_in, c_out, groups):
    """Reject weights whose channel counts do not fit the input and the groups."""
    if c_in != expected_c_in or c_in % groups or c_out % groups:
        raise ValueError(
            f"channels do not fit: the input has {c_in}, the weight expects {expected_c_in} in and "
            f"{c_out} out, and both must be divisible by groups={groups}"
        )


#: Output positions per sample below which a batch's dense convolution is one matmul over the columns of all
#: samples: a matmul per sample would be too narrow for BLAS to run at speed (measured 1.35x faster on a batch of
#: 8 at 7x7, 1.05x at 14x14, even at 28x28).
_BATCHED_POSITIONS = 512


def _conv_im2col(windows, weight):
    """Convolution as one BLAS matmul per sample over the im2col columns, or one for the whole batch when the
    maps are small (then the product, channels first, is transposed into the batch-first output)."""
    n, rank = windows.shape[0], weight.ndim - _FIRST_SPATIAL
    out_shape = windows.shape[_FIRST_SPATIAL : _FIRST_SPATIAL + rank]
    matrix = weight.reshape(weight.shape[0], -1)
    if n > 1 and math.prod(out_shape) < _BATCHED_POSITIONS:
        columns = np.empty((*windows.shape[1:2], *weight.shape[_FIRST_SPATIAL:], n, *out_shape), weight.dtype)
        np.copyto(columns, windows.transpose(1, *range(2 + rank, 2 + 2 * rank), 0, *range(2, 2 + rank)))
        product = np.matmul(matrix, columns.reshape(matrix.shape[1], -1))
        del columns
        return np.ascontiguousarray(product.reshape(weight.shape[0], n, *out_shape).swapaxes(0, 1))
    out = np.empty((n, weight.shape[0], *out_shape), weight.dtype)
    # Columns laid out (C, *k, *out): the copy streams along output rows and the product lands
    # in (C_out, *out) order. One sample at a time keeps the columns small and cache-warm
    # (measured 13% faster at batch 8 than one batch-wide copy).
    to_columns = (0, *range(1 + rank, 1 + 2 * rank), *range(1, 1 + rank))
    for sample, sample_windows in enumerate(windows):
        columns = sample_windows.transpose(to_columns).reshape(matrix.shape[1], -1)
        np.matmul(matrix, columns, out=out[sample].reshape(matrix.shape[0], -1))
    return out


#: Bytes of im2col columns a grouped convolution copies at a time: small enough to stay in the L2 cache between
#: the copy and the product (measured 2x to 4x faster on depthwise convs than one copy of all the columns).
_GROUPED_CHUNK_BYTES = 1 << 20


def _conv_grouped(xp, weight, stride, dilation, groups):
    """Grouped and depthwise convolution: per group a small matmul (C_out/g x C_in/g*k) over its columns, the
    columns copied a few groups at a time so that they are still in cache when the product reads them.

    With stride 1 the columns are rows of the flattened padded input (tap offsets in one flat index), so each
    copy is a long contiguous run and the product lands in a 'wide' output holding every padded column of
    each row; the columns past the output's width are cropped at the end. That layout is used only when the
    wide output and one chunk take no more memory than the im2col columns of all groups would (the memory
    estimate's bound); otherwise, and with a stride, the columns come from the strided windows.
    """
    n, c_in = xp.shape[:2]
    kernel, spatial = weight.shape[_FIRST_SPATIAL:], xp.shape[_FIRST_SPATIAL:]
    out_shape = _windows(xp, kernel, stride, dilation).shape[_FIRST_SPATIAL : _FIRST_SPATIAL + len(kernel)]
    per_group = weight.reshape(groups, weight.shape[0] // groups, -1)
    in_per_group, taps = c_in // groups, math.prod(kernel)
    outputs = math.prod(out_shape)
    flat_strides = [math.prod(spatial[axis + 1 :]) for axis in range(len(spatial))]
    length = sum((size - 1) * step for size, step in zip(out_shape, flat_strides)) + 1  # last output's flat index
    wide_size = out_shape[0] * flat_strides[0]
    chunk = max(1, _GROUPED_CHUNK_BYTES // (in_per_group * taps * length * xp.itemsize))
    flat_workspace = n * weight.shape[0] * wide_size + min(chunk, groups) * in_per_group * taps * length
    flat = set(stride) == {1} and flat_workspace <= n * c_in * taps * outputs
    if flat:
        item = xp.itemsize
        sample_step, channel_step = c_in * math.prod(spatial) * item, math.prod(spatial) * item
        source = np.lib.stride_tricks.as_strided(
            xp,
            (n, groups, in_per_group, *kernel, length),
            (
                sample_step,
                in_per_group * channel_step,
                channel_step,
                *(d * s * item for d, s in zip(dilation, flat_strides)),
                item,
            ),
            writeable=False,
        )
        wide = np.empty((n, weight.shape[0], wide_size), xp.dtype)
        target = wide.reshape(n, groups, per_group.shape[1], wide_size)[..., :length]
        positions = length
    else:
        windows = _windows(xp, kernel, stride, dilation)
        rank = len(kernel)
        to_columns = (0, 1, *range(2 + rank, 2 + 2 * rank), *range(2, 2 + rank))
        source = windows.transpose(to_columns).reshape(n, groups, in_per_group, *kernel, *out_shape)
        out = np.empty((n, weight.shape[0], *out_shape), xp.dtype)
        target = out.reshape(n, groups, per_group.shape[1], outputs)
        positions = outputs
        chunk = max(1, _GROUPED_CHUNK_BYTES // (in_per_group * taps * outputs * xp.itemsize))
    buffer = np.empty((min(chunk, groups), in_per_group, *kernel, *source.shape[3 + len(kernel) :]), xp.dtype)
    for sample in range(n):
        for first in range(0, groups, chunk):
            count = min(chunk, groups - first)
            columns = buffer[:count]
            np.copyto(columns, source[sample, first : first + count])
            np.matmul(
                per_group[first : first + count],
                columns.reshape(count, in_per_group * taps, positions),
                out=target[sample, first : first + count],
            )
    if not flat:
        return out
    rows = wide.reshape(n, weight.shape[0], out_shape[0], *spatial[1:])
    return np.ascontiguousarray(rows[(..., *(slice(size) for size in out_shape[1:]))])


def _conv_pointwise(x, weight, groups):
    """A 1x1 convolution with stride 1 and no padding is a plain matmul over the channels."""
    n, c_in = x.shape[:2]
    columns = x.reshape(n, groups, c_in // groups, -1)
    product = np.matmul(weight.reshape(groups, weight.shape[0] // groups, -1), columns)
    return product.reshape(n, weight.shape[0], *x.shape[_FIRST_SPATIAL:])


def conv_transpose(x, weight, bias, stride, padding, output_padding, dilation, groups):
    """Transposed convolution with weight (C_in, C_out/groups, *k), PyTorch's ConvTranspose semantics."""
    n, c_in = x.shape[:2]
    c_out = weight.shape[1] * groups
    _check_channels(c_in, weight.shape[0], c_out, groups)
    weight = weight.astype(x.dtype, copy=False)
    kernel, in_shape = weight.shape[_FIRST_SPATIAL:], x.shape[_FIRST_SPATIAL:]
    # Each input pixel spreads into a kernel-sized patch of columns: one matmul per sample and group.
    spread = weight.reshape(groups, c_in // groups, -1).transpose(0, 2, 1)
    columns = np.matmul(spread, x.reshape(n, groups, c_in // groups, -1)).reshape(n, c_out, *kernel, *in_shape)
    # col2im: input pixel i and tap t land at i*stride + t*dilation; the buffer fits the furthest target.
    positions = [np.arange(size) * s for size, s in zip(in_shape, stride)]
    taps = [np.arange(k) * d for k, d in zip(kernel, dilation)]
    full_shape = tuple(int(np.add.outer(p, t).max()) + 1 for p, t in zip(positions, taps))
    full = np.zeros((n, c_out, *full_shape), x.dtype)
    for offset in itertools.product(*map(range, kernel)):
        target = tuple(slice(t[o], t[o] + p[-1] + 1, s) for t, o, p, s in zip(taps, offset, positions, stride))
        full[(..., *target)] += columns[(slice(None), slice(None), *offset)]
    full = _pad(full, [(0, extra) for extra in output_padding])
    # max(..., 0) keeps a crop wider than the buffer from wrapping around as a negative index.
    crop = [slice(before, max(size - after, 0)) for (before, after), size in zip(padding, full.shape[_FIRST_SPATIAL:])]
    out = full[(..., *crop)]
    if 0 in out.shape[_FIRST_SPATIAL:]:
        raise ValueError(f"padding {padding} crops away the whole transposed-convolution output {full.shape}")
    return _add_bias(np.ascontiguousarray(out), bias)


def _add_bias(out, bias):
    """Add a per-channel bias in place to a freshly computed output."""
    if bias is not None:
        out += bias.astype(out.dtype, copy=False).reshape((-1,) + (1,) * (out.ndim - _FIRST_SPATIAL))
    return out


# --- pooling -----------------------------------------------------------------------------------


def _pool(x, kernel, stride, padding, dilation, ceil_mode, fill, combine):
    """Separable pooling: boxes are products of 1-d windows, so reduce one spatial axis at a time."""
    for axis, k, s, (before, after), d in zip(range(_FIRST_SPATIAL, x.ndim), kernel, stride, padding, dilation):
        extra, start_limit = _ceil_padding(x.shape[axis], before, s, ceil_mode)
        x = _reduce_windows(_pad_axis(x, axis, before, after + extra, fill), axis, k, s, d, start_limit, combine)
    return x


def max_pool(x, kernel, stride, padding, dilation, ceil_mode):
    """Max pooling; padding never wins because it is -inf."""
    return _pool(x, kernel, stride, padding, dilation, ceil_mode, -np.inf, np.maximum)


def avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad):
    """Average pooling with PyTorch's divisors, also for windows hanging over the edge in ceil_mode."""
    sums = _pool(x, kernel, stride, padding, (1,) * len(kernel), ceil_mode, 0.0, np.add)
    divisor = np.ones((1,) * x.ndim, x.dtype)
    for axis, k, s, (before, after) in zip(range(_FIRST_SPATIAL, x.ndim), kernel, stride, padding):
        extra, start_limit = _ceil_padding(x.shape[axis], before, s, ceil_mode)
        # Count by pooling a mask: padding counts only with count_include_pad, the ceil_mode overhang never.
        covered = np.pad(np.ones(x.shape[axis], x.dtype), (before, after), constant_values=float(count_include_pad))
        counts = _reduce_windows(np.pad(covered, (0, extra)), 0, k, s, 1, start_limit, np.add)
        divisor = divisor * counts.reshape((-1,) + (1,) * (x.ndim - 1 - axis))
    return sums / divisor


def adaptive_avg_pool(x, output_size):
    """Adaptive average pooling with PyTorch's windows [floor(i*in/out), ceil((i+1)*in/out))."""
    for axis, out in zip(range(_FIRST_SPATIAL, x.ndim), output_size):
        size, index = x.shape[axis], np.arange(out)
        starts, ends = index * size // out, -(-(index + 1) * size // out)
        covered = (np.arange(size) >= starts[:, None]) & (np.arange(size) < ends[:, None])
        averaging = (covered / covered.sum(axis=1, keepdims=True)).astype(x.dtype)
        x = np.moveaxis(np.tensordot(x, averaging, axes=([axis], [1])), -1, axis)
    return np.ascontiguousarray(x)


def global_avg_pool(x):
    """Mean over all spatial dims, kept as size-1 dims."""
    return np.mean(x, axis=tuple(range(_FIRST_SPATIAL, x.ndim)), keepdims=True)


# --- dense, shape and normalisation ------------------------------------------------------------


def linear(x, weight, bias):
    """Fully connected layer on the last axis: x (N, ..., F_in) times weight (F_out, F_in) transposed, plus bias.

    The positions are folded into one matrix product (a view of a contiguous x), and the bias is added in place.
    """
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear weight {weight.shape} expects {weight.shape[1]} features, input has {x.shape[-1]}")
    out = x.reshape(-1, x.shape[-1]) @ weight.astype(x.dtype, copy=False).T
    out = out.reshape(*x.shape[:-1], weight.shape[0])
    if bias is not None:
        out += bias.astype(x.dtype, copy=False)
    return out


def flatten(x):
    """Flatten everything but the batch dim."""
    return x.reshape(x.shape[0], -1).copy()


def batch_norm(x, weight, bias, running_mean, running_var, eps=1e-5, activation=None, out=None):
    """Inference batch norm over dim 1, folded into one scale and shift; weight and bias may be None.

    x * scale + shift, then ``activation`` (one of the ``*_block`` functions below, or None) in place; ``out``
    may be x itself (C-contiguous). An array larger than BLOCKED_BATCH_NORM elements runs block by block
    (``_channel_blocks``), each block activated while it is in the cache; a smaller one runs whole, since it stays
    in the last-level cache anyway and the many small broadcasting calls would cost more."""
    scale = 1 / np.sqrt(running_var.astype(x.dtype) + eps)
    if weight is not None:
        scale = scale * weight.astype(x.dtype)
    shift = -running_mean.astype(x.dtype) * scale
    if bias is not None:
        shift = shift + bias.astype(x.dtype)
    samples, channels = x.shape[:_FIRST_SPATIAL]
    if scale.shape != (channels,) or shift.shape != (channels,):
        raise ValueError(f"batch_norm parameters of shape {scale.shape} do not fit {channels} channels")
    if out is None:
        out = np.empty_like(x, order="C")
    if x.size <= BLOCKED_BATCH_NORM:
        shape = (-1,) + (1,) * (x.ndim - _FIRST_SPATIAL)
        np.multiply(x, scale.reshape(shape), out=out)
        out += shift.reshape(shape)
        if activation is not None:
            activation(out, None)
        return out
    work = np.empty(min(BLOCK, x.size) if activation is not None else 0, x.dtype)
    scale, shift = np.tile(scale, samples)[:, None], np.tile(shift, samples)[:, None]
    for source, target, rows in _channel_blocks(x, out):
        np.multiply(source, scale[rows], out=target)
        target += shift[rows]
        if activation is not None:
            activation(target, work[: target.size].reshape(target.shape))
    return out


def lrn(x, size, alpha, beta, k):
    """Across-channel local response normalisation, as torch.nn.functional.local_response_norm."""
    squares = _pad_axis(np.square(x), 1, size // 2, (size - 1) // 2)
    sums = _reduce_windows(squares, 1, size, 1, 1, None, np.add)
    return x / (sums / size * alpha + k) ** beta


# --- activations -------------------------------------------------------------------------------


#: Elements per block of the block-wise kernels (silu, gelu): each pass over a block of 64 Ki elements and its
#: few work arrays stays in the L2 cache, so that a kernel of many passes reads and writes memory once.
BLOCK = 1 << 16

#: Above this many elements batch norm runs block by block: measured per layer (float32, one thread), blocks were
#: 20% to 35% faster on 6 to 25 million elements (batch 8 at 56x56 and above) and up to 1.6x slower below 2 million,
#: where the array stays in the last-level cache and the small broadcasting calls cost more than they save.
BLOCKED_BATCH_NORM = 1 << 22

#: The float32 GELU's work arrays; the float64 one holds Cody's erfc temporaries of one block (fewer than 16).
_GELU_WORK = ("scaled", "t", "poly", "square")
GELU_TEMPORARY_BLOCKS = 16

#: Numerical Recipes' erfcc: erfc(y) = t * exp(-y * y + sum c_k t^k), t = 1 / (1 + y / 2), for y >= 0.
_ERFCC = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


def _block_buffers(x, out, count):
    """The output (a new array unless given) and ``count`` work arrays of one block in x's dtype."""
    if out is None:
        out = np.empty_like(x, order="C")
    size = min(BLOCK, x.size)
    return out, tuple(np.empty(size, x.dtype) for _ in range(count))


def _channel_blocks(x, out):
    """(input block, output block, row slice) over x and out seen as (samples * channels, positions): whole rows
    of one channel, about BLOCK elements at a time (a row longer than BLOCK is cut into pieces)."""
    if not out.flags.c_contiguous:
        raise ValueError("the output of a block-wise kernel must be C-contiguous")
    rows = x.shape[0] * x.shape[1]
    source, target = x.reshape(rows, -1), out.reshape(rows, -1)
    positions = source.shape[1]
    step = max(1, BLOCK // max(positions, 1))
    width = min(positions, BLOCK) or 1
    for row in range(0, rows, step):
        block = slice(row, min(row + step, rows))
        for column in range(0, positions, width):
            piece = source[block, column : column + width]
            # In place, one view object for both: NumPy copies an input that is a different view of its output.
            yield piece, piece if out is x else target[block, column : column + width], block


def relu_block(block, work):
    """max(x, 0) in place (np.clip is twice as fast as np.maximum and keeps nan too)."""
    np.clip(block, 0.0, np.inf, out=block)


def relu6_block(block, work):
    """min(max(x, 0), 6) in place."""
    np.clip(block, 0.0, 6.0, out=block)


def silu_block(block, work):
    """x / (1 + exp(-x)) in place, with a work array of the block's shape (None: block-wise silu's own)."""
    if work is None:
        silu(block, out=block)
    else:
        _silu_into(block, block, work)


def _silu_into(source, target, work):
    """target = source / (1 + exp(-source)); exp overflows to inf for very negative x, giving -0."""
    np.negative(source, out=work)
    with np.errstate(over="ignore"):
        np.exp(work, out=work)
    work += 1
    np.divide(source, work, out=target)


def _blocks(x, out, buffers):
    """(input block, output block, work arrays cut to the block) over the flattened x and out, in order; out may
    be x itself, since each block is read before its output is written."""
    if not out.flags.c_contiguous:
        raise ValueError("the output of a block-wise kernel must be C-contiguous")
    source, target = x.reshape(-1), out.reshape(-1)
    for start in range(0, source.size, BLOCK):
        stop = min(start + BLOCK, source.size)
        piece = source[start:stop]
        # In place, one view object for both: NumPy copies an input that is a different view of its output.
        yield piece, piece if out is x else target[start:stop], tuple(buffer[: stop - start] for buffer in buffers)


def relu(x):
    """max(x, 0) (np.clip: twice as fast as np.maximum, nan kept as well)."""
    return np.clip(x, 0.0, np.inf)


def leaky_relu(x, negative_slope=0.01):
    """x where positive, negative_slope * x elsewhere."""
    return np.where(x > 0, x, x * negative_slope)


def relu6(x):
    """min(max(x, 0), 6)."""
    return np.clip(x, 0, 6)


def _channel_vector(x, values):
    """Per-channel values (C,) shaped to broadcast over x (N, C, *spatial), in x's dtype."""
    return values.astype(x.dtype, copy=False).reshape((-1,) + (1,) * (x.ndim - _FIRST_SPATIAL))


def prelu(x, weight):
    """x where positive, weight * x elsewhere; weight holds one shared slope (1,) or one per channel (C,).

    Computed as min(x, 0) * weight + max(x, 0): one buffer besides the output."""
    if weight.shape not in ((1,), (x.shape[1],)):
        raise ValueError(f"prelu weight {weight.shape} is neither one shared slope nor one per channel ({x.shape[1]})")
    out = np.minimum(x, 0)
    out *= _channel_vector(x, weight)
    out += np.maximum(x, 0)
    return out


def elu(x, alpha=1.0):
    """x where positive, alpha * (exp(x) - 1) elsewhere, as alpha * expm1(min(x, 0)) + max(x, 0)."""
    out = np.minimum(x, 0)
    np.expm1(out, out=out)
    out *= alpha
    out += np.maximum(x, 0)
    return out


def sigmoid(x):
    """Logistic function without overflow: exp only ever sees -|x|."""
    decay = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, decay) / (1 + decay)


def tanh(x):
    """Hyperbolic tangent."""
    return np.tanh(x)


def hardsigmoid(x):
    """relu6(x + 3) / 6, in the output's buffer."""
    out = x + 3
    np.clip(out, 0, 6, out=out)
    out /= 6
    return out


def silu(x, out=None):
    """x * sigmoid(x), computed as x / (1 + exp(-x)) block by block (``_blocks``); ``out`` may be x itself.

    For x below about -88 (float32) or -709 (float64) exp(-x) overflows to inf and the result is -0, where the
    exact value is smaller in magnitude than the dtype's smallest normal number times |x|."""
    out, buffers = _block_buffers(x, out, 1)
    for source, target, (work,) in _blocks(x, out, buffers):
        _silu_into(source, target, work)
    return out


def hardswish(x):
    """x * relu6(x + 3) / 6 (PyTorch's order of operations), in the output's buffer."""
    out = x + 3
    np.clip(out, 0, 6, out=out)
    out *= x
    out /= 6
    return out


def mish(x):
    """x * tanh(softplus(x)), with softplus(x) = log1p(exp(-|x|)) + max(x, 0) so that exp cannot overflow."""
    out = np.abs(x)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(x, 0)
    np.tanh(out, out=out)
    out *= x
    return out


def gelu(x, out=None):
    """Exact GELU, x * Phi(x), block by block (``_blocks``); ``out`` may be x itself.

    float64: 0.5 * x * erfc(-x / sqrt(2)) with Cody's erfc (relative accuracy about 1e-16, also for large
    negative x). float32: max(x, 0) - |x| * Phi(-|x|) in float32 work arrays, Phi(-|x|) = erfc(|x| / sqrt(2)) / 2
    from the Chebyshev fit of Numerical Recipes' erfcc (relative error below 1.2e-7 for every argument), which
    gives GELU to 5e-6 relative for |x| <= 6 (float32's rounding of x*x inside the exp grows with x);
    PyTorch's own float32 GELU is about 2e-4 relative off at |x| near 3.5.
    """
    if x.dtype != np.float32:
        out, buffers = _block_buffers(x, out, 0)
        for source, target, _ in _blocks(x, out, buffers):
            target[...] = 0.5 * source * erfc(source * -math.sqrt(0.5))  # a Python float keeps the dtype
        return out
    out, buffers = _block_buffers(x, out, len(_GELU_WORK))
    for source, target, (scaled, t, poly, square) in _blocks(x, out, buffers):
        np.multiply(source, math.sqrt(0.5), out=scaled)
        np.clip(scaled, -11.0, 11.0, out=scaled)  # exp(-121) is 0 in float32 (inf * 0 would be nan)
        np.abs(scaled, out=scaled)  # y = |x| / sqrt(2)
        np.add(scaled, 2.0, out=t)
        np.divide(2.0, t, out=t)  # t = 1 / (1 + y / 2)
        np.multiply(t, _ERFCC[-1], out=poly)
        for coefficient in _ERFCC[-2:0:-1]:
            poly += coefficient
            poly *= t
        poly += _ERFCC[0] - 0.5 * math.log(2)  # folds |x| * erfc(y) / 2 = y * erfc(y) / sqrt(2) into the exp
        np.square(scaled, out=square)
        poly -= square
        np.exp(poly, out=poly)
        poly *= t
        poly *= scaled  # |x| * Phi(-|x|)
        np.clip(source, 0.0, np.inf, out=target)  # max(x, 0), nan kept; twice as fast as np.maximum
        target -= poly
    return out


def softmax(x, axis=1):
    """Softmax along axis, shifted by the maximum so exp cannot overflow."""
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def dropout(x, p=0.5):
    """Identity: dropout does nothing at inference."""
    return x.copy()


def stochastic_depth(x):
    """Identity: stochastic depth does nothing at inference."""
    return x.copy()


def scale(x, weight):
    """x times a learned per-channel multiplier of shape (C, 1, ...), a 1 per spatial dim (PyTorch's layer scale)."""
    if weight.shape != (x.shape[1],) + (1,) * (x.ndim - _FIRST_SPATIAL):
        expected = (x.shape[1],) + (1,) * (x.ndim - _FIRST_SPATIAL)
        raise ValueError(f"scale array of shape {weight.shape} does not fit input {x.shape}: expected {expected}")
    return x * weight.astype(x.dtype, copy=False)


# --- error function (W. J. Cody, "Rational Chebyshev approximation for the error function", 1969;
# coefficients from SPECFUN's CALERF) ------------------------------------------------------------

_ERF_SMALL = (
    (
        3.16112374387056560e00,
        1.13864154151050156e02,
        3.77485237685302021e02,
        3.20937758913846947e03,
        1.85777706184603153e-1,
    ),
    (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03),
)
_ERFC_MID = (
    (
        5.64188496988670089e-1,
        8.88314979438837594e00,
        6.61191906371416295e01,
        2.98635138197400131e02,
        8.81952221241769090e02,
        1.71204761263407058e03,
        2.05107837782607147e03,
        1.23033935479799725e03,
        2.15311535474403846e-8,
    ),
    (
        1.57449261107098347e01,
        1.17693950891312499e02,
        5.37181101862009858e02,
        1.62138957456669019e03,
        3.29079923573345963e03,
        4.36261909014324716e03,
        3.43936767414372164e03,
        1.23033935480374942e03,
    ),
)
_ERFC_LARGE = (
    (
        3.05326634961232344e-1,
        3.60344899949804439e-1,
        1.25781726111229246e-1,
        1.60837851487422766e-2,
        6.58749161529837803e-4,
        1.63153871373020978e-2,
    ),
    (
        2.56852019228982242e00,
        1.87295284992346047e00,
        5.27905102951428412e-1,
        6.05183413124413191e-2,
        2.33520497626869185e-3,
    ),
)
_ERF_THRESHOLD = 0.46875
_INV_SQRT_PI = 5.6418958354775628695e-1


def _cody_ratio(y, coefficients):
    """Evaluate one of Cody's rational functions in the order CALERF uses."""
    numerator, denominator = coefficients
    top, bottom = numerator[-1] * y, y
    for a, b in zip(numerator[:-2], denominator[:-1]):
        top, bottom = (top + a) * y, (bottom + b) * y
    return (top + numerator[-2]) / (bottom + denominator[-1])


def _erfc_tail(y):
    """erfc(y) for y > 0.46875."""
    y = np.minimum(y, 30.0)  # erfc(30) underflows to 0; clamping keeps inf out of the exp split
    ratio = np.empty_like(y)
    mid = y <= 4.0
    ratio[mid] = _cody_ratio(y[mid], _ERFC_MID)
    large = y[~mid]
    inv_square = 1 / (large * large)
    ratio[~mid] = (_INV_SQRT_PI - inv_square * _cody_ratio(inv_square, _ERFC_LARGE)) / large
    # exp(-y*y) in two factors so the rounding of y*y does not swamp the tiny result.
    head = np.trunc(y * 16) / 16
    return ratio * np.exp(-head * head) * np.exp(-(y - head) * (y + head))


def erfc(x):
    """Complementary error function 1 - erf(x), accurate in relative terms far into the right tail."""
    x = np.asarray(x)
    out = np.empty_like(x)
    small = np.abs(x) <= _ERF_THRESHOLD
    out[small] = 1 - x[small] * _cody_ratio(x[small] ** 2, _ERF_SMALL)
    tail = _erfc_tail(np.abs(x[~small]))
    out[~small] = np.where(x[~small] < 0, 2 - tail, tail)
    return out


# --- resampling and merging --------------------------------------------------------------------


def _opmath(x):
    """The precision PyTorch's CPU resamplers compute indices in for an input like x (its opmath type)."""
    return np.float32 if x.dtype == np.float32 else np.float64


def _source_step(real, size, out, scale):
    """PyTorch's source step per output index (``compute_scales_value``): 1/scale when the scale was given,
    else in/out, in the precision ``real``."""
    if scale is not None and scale > 0:
        return real(1.0 / scale)
    return real(size) / real(out)


def _source_floor(real_index, size):
    """``min(floorf(index), size - 1)``: PyTorch floors the source index as a C float, whatever the precision."""
    return np.minimum(np.floor(real_index.astype(np.float32)).astype(np.intp), size - 1)


def _nearest_axis(x, axis, out, scale=None):
    """PyTorch 'nearest' along one axis: source index floor(dst * step), step 1/scale if given, else in/out.

    On 2-D images PyTorch's CPU kernel (``nearest_idx``) copies when the size is kept, halves the index when it
    doubles, and otherwise steps in float32 whatever the dtype; on 1-D and 3-D inputs it steps in the input's
    precision with no special cases (measured against torch 2.x: 2 pixels at scale 1.1 are [0, 1] in 2-D and
    [0, 0] in 1-D)."""
    size = x.shape[axis]
    if x.ndim == _FIRST_SPATIAL + 2:
        if out == size:
            return x
        if out == 2 * size:
            return np.take(x, np.arange(out) >> 1, axis=axis)
        step = _source_step(np.float32, size, out, scale)
    else:
        step = _source_step(_opmath(x), size, out, scale)
    return np.take(x, _source_floor(np.arange(out, dtype=step.dtype) * step, size), axis=axis)


def _linear_axis(x, axis, out, scale=None):
    """Linear interpolation along one axis, align_corners=False, as PyTorch: source (dst + 0.5) * step - 0.5,
    clamped at 0, step 1/scale if given, else in/out; the weight of the upper neighbour clamped to [0, 1]."""
    size = x.shape[axis]
    if out == size:  # PyTorch copies the input when the size does not change, whatever the scale
        return x
    step = _source_step(_opmath(x), size, out, scale)
    source = np.maximum(step * (np.arange(out, dtype=step.dtype) + step.dtype.type(0.5)) - step.dtype.type(0.5), 0)
    low = _source_floor(source, size)
    high = np.where(low < size - 1, low + 1, low)
    weight_high = np.clip(source - low, 0, 1).astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
    return np.take(x, low, axis=axis) * (1 - weight_high) + np.take(x, high, axis=axis) * weight_high


_RESAMPLERS = {"nearest": _nearest_axis, "bilinear": _linear_axis}  # the modes the upsample kind accepts


def upsample_size(spatial, scales):
    """PyTorch's output size for a scale factor (``compute_output_size``): int(double(in) * scale), per dim."""
    return tuple(int(float(n) * float(scale)) for n, scale in zip(spatial, scales))


def upsample(x, size, mode, scales=None):
    """Resize the spatial dims to size; 'nearest', or 'bilinear' meaning (bi/tri)linear for any rank.

    ``scales``: the scale factors the size came from, if any; PyTorch then steps through the input by 1/scale
    rather than in/out, which picks other source pixels when in * scale is not whole (100 x 0.29 is 28 pixels,
    stepped by 1/0.29, not by 100/28)."""
    if mode not in _RESAMPLERS:
        raise ValueError(f"upsample mode must be one of {sorted(_RESAMPLERS)}, got {mode!r}")
    scales = scales if scales is not None else (None,) * len(size)
    # Both modes are separable, so resample one axis at a time.
    for axis, out, scale in zip(range(_FIRST_SPATIAL, x.ndim), size, scales):
        x = _RESAMPLERS[mode](x, axis, out, scale)
    return x


def _broadcast_shape(name, xs):
    """NumPy's broadcast of arrays of one rank: the batch leads each, so a shorter array would meet it elsewhere."""
    shapes = [x.shape for x in xs]
    if not xs or len({x.ndim for x in xs}) != 1:
        raise ValueError(f"{name} needs one or more arrays of one rank, got shapes {shapes}")
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{name} needs arrays whose shapes broadcast, got shapes {shapes}") from None


def _join(xs, ufunc):
    """Combine arrays element-wise, broadcast, into one new array of the broadcast shape."""
    out = np.empty(_broadcast_shape(ufunc.__name__, xs), dtype=xs[0].dtype)
    np.copyto(out, xs[0])
    for x in xs[1:]:
        ufunc(out, x, out=out)
    return out


def add(*xs):
    """Element-wise sum of arrays of one rank, broadcast as NumPy does (a size 1 stretches)."""
    return _join(xs, np.add)


def mul(*xs):
    """Element-wise product of arrays of one rank, broadcast as NumPy does (a C x 1 x 1 gate times C x H x W)."""
    return _join(xs, np.multiply)


def concat(xs, axis=1):
    """Concatenate along axis (channels by default)."""
    return np.concatenate(xs, axis=axis, dtype=xs[0].dtype)


# --- layer norm and layout ---------------------------------------------------------------------


def layer_norm(x, weight, bias, dim=1, eps=1e-5):
    """Normalise over axis ``dim`` (batch 0; negative from the end) at every other position, with the biased
    variance as PyTorch, then scale and shift by weight and bias of that axis's size."""
    if not -x.ndim <= dim < x.ndim or dim % x.ndim == 0:
        raise ValueError(f"layer_norm needs a dim of a sample, not the batch: dim {dim} of shape {x.shape}")
    size = x.shape[dim]
    if weight.shape != (size,) or bias.shape != (size,):
        raise ValueError(f"layer_norm weight {weight.shape} and bias {bias.shape} must be ({size},)")
    shape = [1] * x.ndim
    shape[dim] = size
    # Means as sums divided by the size: np.mean over a middle axis allocates a quarter of x on the way.
    out = x - np.add.reduce(x, axis=dim, keepdims=True) / size
    out /= np.sqrt(np.add.reduce(np.square(out), axis=dim, keepdims=True) / size + eps)  # one temporary: the squares
    out *= weight.astype(x.dtype, copy=False).reshape(shape)
    out += bias.astype(x.dtype, copy=False).reshape(shape)
    return out


def permute(x, dims):
    """The per-sample axes reordered (batch stays first): a new C-ordered array, never a view."""
    return permuted_view(x, dims).copy()


def permuted_view(x, dims):
    """The same reordering as a view of x, for an x no other layer reads (the following kernels take strided
    arrays: ConvNeXt's channels-last layer norm and per-position linear then run on the channels-first memory, the
    linear as one matrix product with a transposed operand for a batch of 1)."""
    return np.transpose(x, (0, *(d + 1 for d in dims)))


def channel_shuffle(x, groups):
    """Channels seen as (groups, C/groups) transposed to (C/groups, groups), as torch's channel_shuffle."""
    n, channels = x.shape[:2]
    if channels % groups:
        raise ValueError(f"channel_shuffle: {channels} channels do not divide into {groups} groups")
    out = np.empty(x.shape, dtype=x.dtype)
    split = (n, groups, channels // groups, *x.shape[2:])
    out.reshape(n, channels // groups, groups, *x.shape[2:])[...] = x.reshape(split).swapaxes(1, 2)
    return out


def chunk(x, chunks, index):
    """The index-th of torch.chunk(x, chunks, dim=1): parts of ceil(C / chunks) channels, the last maybe smaller."""
    channels = x.shape[1]
    size = -(-channels // chunks)
    starts = range(0, channels, size)
    if not 0 <= index < len(starts):
        raise ValueError(f"chunk {index} of {channels} channels in chunks of {size} is empty")
    return x[:, starts[index] : starts[index] + size].copy()


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}  # PyTorch's name: NumPy's


def pad(x, padding, mode="constant", value=0.0):
    """Pad the spatial axes by per-dim (before, after) pairs with a constant, the reflection (edge not repeated)
    or the edge; reflect needs each side smaller than the size, as PyTorch."""
    if mode not in _PAD_MODES:
        raise ValueError(f"pad mode must be one of {', '.join(_PAD_MODES)}, got {mode!r}")
    if len(padding) != x.ndim - _FIRST_SPATIAL:
        raise ValueError(f"pad needs one (before, after) pair per spatial axis of {x.shape}, got {padding}")
    if mode == "reflect" and any(max(pair) >= size for pair, size in zip(padding, x.shape[_FIRST_SPATIAL:])):
        raise ValueError(f"reflect padding {padding} must be smaller than the sizes {x.shape[_FIRST_SPATIAL:]}")
    widths = [(0, 0)] * _FIRST_SPATIAL + [tuple(pair) for pair in padding]
    if mode == "constant":
        return np.pad(x, widths, constant_values=value)
    return np.pad(x, widths, mode=_PAD_MODES[mode])
