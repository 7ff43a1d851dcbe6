"""Naive reference kernels for the tests: explicit loops over every output position, for tiny inputs only.

Each one follows the definition (or PyTorch's C++ loop) as literally as possible and shares no code
with kernels.py, so agreement between the two is evidence. Output sizes here use the documented
closed-form formulas on purpose: the fast kernels derive them from arrays, so the tests cross-check both.
"""

import itertools
import math

import numpy as np


def _positions(shape):
    """Every index tuple of an array of the given shape."""
    return itertools.product(*map(range, shape))


def _inside(index, shape):
    """True if the index tuple lies inside the shape."""
    return all(0 <= i < size for i, size in zip(index, shape))


def _pool_length(size, kernel, stride, before, after, dilation, ceil_mode):
    """PyTorch's pooling_output_shape_pad_lr."""
    span = dilation * (kernel - 1) + 1
    if not ceil_mode:
        return (size + before + after - span) // stride + 1
    length = math.ceil((size + before + after - span) / stride) + 1
    if (length - 1) * stride >= size + before:
        length -= 1
    return length


def conv(x, weight, bias, stride, padding, dilation, groups):
    """Sum over the receptive field of every output position; zero padding by skipping outside taps."""
    n, c_in = x.shape[:2]
    c_out, kernel = weight.shape[0], weight.shape[2:]
    in_group, out_group = c_in // groups, c_out // groups
    out_shape = [
        (size + before + after - d * (k - 1) - 1) // s + 1
        for size, (before, after), k, s, d in zip(x.shape[2:], padding, kernel, stride, dilation)
    ]
    out = np.zeros((n, c_out, *out_shape))
    for b, o in itertools.product(range(n), range(c_out)):
        channels = slice(o // out_group * in_group, (o // out_group + 1) * in_group)
        for position in _positions(out_shape):
            total = 0.0 if bias is None else bias[o]
            for tap in _positions(kernel):
                source = tuple(
                    p * s - before + t * d for p, s, (before, _), t, d in zip(position, stride, padding, tap, dilation)
                )
                if _inside(source, x.shape[2:]):
                    total += x[(b, channels, *source)] @ weight[(o, slice(None), *tap)]
            out[(b, o, *position)] = total
    return out


def conv_transpose(x, weight, bias, stride, padding, output_padding, dilation, groups):
    """Gather form: output position q receives input i through tap t when i * stride + t * dilation = q + pad."""
    n, c_in = x.shape[:2]
    kernel = weight.shape[2:]
    in_group, out_group = c_in // groups, weight.shape[1]
    out_shape = [
        (size - 1) * s - before - after + d * (k - 1) + extra + 1
        for size, s, (before, after), d, k, extra in zip(x.shape[2:], stride, padding, dilation, kernel, output_padding)
    ]
    out = np.zeros((n, out_group * groups, *out_shape))
    for b, o in itertools.product(range(n), range(out_group * groups)):
        channels = slice(o // out_group * in_group, (o // out_group + 1) * in_group)
        for position in _positions(out_shape):
            total = 0.0 if bias is None else bias[o]
            for tap in _positions(kernel):
                offsets = [q + before - t * d for q, (before, _), t, d in zip(position, padding, tap, dilation)]
                if any(offset % s for offset, s in zip(offsets, stride)):
                    continue
                source = tuple(offset // s for offset, s in zip(offsets, stride))
                if _inside(source, x.shape[2:]):
                    total += x[(b, channels, *source)] @ weight[(channels, o % out_group, *tap)]
            out[(b, o, *position)] = total
    return out


def max_pool(x, kernel, stride, padding, dilation, ceil_mode):
    """Maximum over the real (non-padding) taps of every window; -inf if there are none."""
    out_shape = [
        _pool_length(size, k, s, before, after, d, ceil_mode)
        for size, k, s, (before, after), d in zip(x.shape[2:], kernel, stride, padding, dilation)
    ]
    out = np.empty((*x.shape[:2], *out_shape))
    for b, c in _positions(x.shape[:2]):
        for position in _positions(out_shape):
            best = -math.inf
            for tap in _positions(kernel):
                source = tuple(
                    p * s - before + t * d for p, s, (before, _), t, d in zip(position, stride, padding, tap, dilation)
                )
                if _inside(source, x.shape[2:]):
                    best = max(best, x[(b, c, *source)])
            out[(b, c, *position)] = best
    return out


def avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad):
    """PyTorch's avg_pool loop: the divisor clips the window to the padded input, or to the input."""
    out_shape = [
        _pool_length(size, k, s, before, after, 1, ceil_mode)
        for size, k, s, (before, after) in zip(x.shape[2:], kernel, stride, padding)
    ]
    out = np.empty((*x.shape[:2], *out_shape))
    for b, c in _positions(x.shape[:2]):
        for position in _positions(out_shape):
            starts = [p * s - before for p, s, (before, _) in zip(position, stride, padding)]
            ends = [
                min(start + k, size + after) for start, k, size, (_, after) in zip(starts, kernel, x.shape[2:], padding)
            ]
            padded_count = math.prod(end - start for start, end in zip(starts, ends))
            starts = [max(start, 0) for start in starts]
            ends = [min(end, size) for end, size in zip(ends, x.shape[2:])]
            total = 0.0
            for source in itertools.product(*(range(start, end) for start, end in zip(starts, ends))):
                total += x[(b, c, *source)]
            real_count = math.prod(end - start for start, end in zip(starts, ends))
            out[(b, c, *position)] = total / (padded_count if count_include_pad else real_count)
    return out


def adaptive_avg_pool(x, output_size):
    """Mean over [floor(i * in / out), ceil((i + 1) * in / out)) in every dim."""
    out = np.empty((*x.shape[:2], *output_size))
    for b, c in _positions(x.shape[:2]):
        for position in _positions(output_size):
            box = [
                range(math.floor(i * size / o), math.ceil((i + 1) * size / o))
                for i, size, o in zip(position, x.shape[2:], output_size)
            ]
            values = [x[(b, c, *source)] for source in itertools.product(*box)]
            out[(b, c, *position)] = sum(values) / len(values)
    return out


def lrn(x, size, alpha, beta, k):
    """b_c = a_c / (k + alpha / size * sum of a_j^2 over j in [c - size//2, c + (size-1)//2]) ** beta."""
    out = np.empty(x.shape)
    channels = x.shape[1]
    for index in _positions(x.shape):
        b, c, *position = index
        total = 0.0
        for j in range(max(0, c - size // 2), min(channels, c + (size - 1) // 2 + 1)):
            total += x[(b, j, *position)] ** 2
        out[index] = x[index] / (k + alpha / size * total) ** beta
    return out


def upsample(x, size, mode):
    """Nearest: source floor(dst * in / out); linear: blend of the 2**rank corners around the half-pixel source."""
    out = np.empty((*x.shape[:2], *size))
    for b, c in _positions(x.shape[:2]):
        for position in _positions(size):
            if mode == "nearest":
                source = tuple(math.floor(dst * n / o) for dst, n, o in zip(position, x.shape[2:], size))
                out[(b, c, *position)] = x[(b, c, *source)]
                continue
            sources = [max((dst + 0.5) * n / o - 0.5, 0.0) for dst, n, o in zip(position, x.shape[2:], size)]
            total = 0.0
            for corner in _positions((2,) * len(size)):
                weight, index = 1.0, []
                for source, upper, n in zip(sources, corner, x.shape[2:]):
                    low = int(source)
                    weight *= (source - low) if upper else (1 - (source - low))
                    index.append(min(low + upper, n - 1))
                total += weight * x[(b, c, *index)]
            out[(b, c, *position)] = total
    return out
