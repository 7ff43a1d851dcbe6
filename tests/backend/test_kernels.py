"""NumPy kernels against the naive loop references and, when torch is installed, against PyTorch."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnncalc.backend import kernels

from . import reference

# Small examples and no deadline: the references loop in Python and their speed varies.
EXAMPLES = settings(max_examples=60, deadline=None)
FEW_EXAMPLES = settings(max_examples=30, deadline=None)


def assert_close(actual, expected):
    """Same shape and values to rtol 1e-5 (plus a hair of atol for sums that cancel to zero)."""
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-12)


def random(seed, *shape):
    """Standard normal float64 array."""
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.fixture(scope="module")
def torch():
    """PyTorch, or skip the test that asks for it."""
    return pytest.importorskip("torch")


def numpy_of(tensor):
    """Tensor to NumPy array."""
    return tensor.detach().numpy()


# --- strategies ----------------------------------------------------------------------------------


def per_dim(rank, strategy):
    """A tuple of one draw per spatial dim."""
    return st.tuples(*[strategy] * rank)


@st.composite
def conv_cases(draw, symmetric=False):
    """Convolution arguments, including grouped and depthwise ones, that give at least one output."""
    rank = draw(st.integers(1, 3))
    small = rank == 3  # the 3-d reference is slow, so keep its volume down
    groups = draw(st.integers(1, 3))
    in_per_group = 1 if draw(st.booleans()) else draw(st.integers(1, 2))
    kernel = draw(per_dim(rank, st.integers(1, 2 if small else 3)))
    dilation = draw(per_dim(rank, st.integers(1, 2)))
    stride = draw(per_dim(rank, st.integers(1, 3)))
    pad = st.integers(0, 2)
    padding = [(p, p) for p in draw(per_dim(rank, pad))] if symmetric else draw(per_dim(rank, st.tuples(pad, pad)))
    spatial = [
        max(1, d * (k - 1) + 1 - before - after) + draw(st.integers(0, 2 if small else 3))
        for k, d, (before, after) in zip(kernel, dilation, padding)
    ]
    return dict(
        shape=(draw(st.integers(1, 1 if small else 2)), groups * in_per_group, *spatial),
        weight_shape=(groups * draw(st.integers(1, 2)), in_per_group, *kernel),
        bias=draw(st.booleans()),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@st.composite
def conv_transpose_cases(draw, symmetric=False):
    """Transposed convolution arguments whose cropped output is non-empty."""
    rank = draw(st.integers(1, 3))
    small = rank == 3
    groups = draw(st.integers(1, 3))
    kernel = draw(per_dim(rank, st.integers(1, 2 if small else 3)))
    stride = draw(per_dim(rank, st.integers(1, 3)))
    dilation = draw(per_dim(rank, st.integers(1, 2)))
    spatial = draw(per_dim(rank, st.integers(1, 3 if small else 4)))
    # PyTorch requires output_padding < max(stride, dilation).
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    padding = []
    for size, s, d, k, extra in zip(spatial, stride, dilation, kernel, output_padding):
        spare = (size - 1) * s + d * (k - 1) + extra  # the uncropped length minus the one cell that must survive
        before = draw(st.integers(0, min(2, spare // 2 if symmetric else spare)))
        padding.append((before, before if symmetric else draw(st.integers(0, min(2, spare - before)))))
    return dict(
        shape=(draw(st.integers(1, 1 if small else 2)), groups * draw(st.integers(1, 2)), *spatial),
        out_per_group=draw(st.integers(1, 2)),
        kernel=kernel,
        bias=draw(st.booleans()),
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@st.composite
def pool_cases(draw, symmetric=False, dilated=True):
    """Pooling arguments within PyTorch's rule that padding is at most half the kernel."""
    rank = draw(st.integers(1, 3))
    kernel = draw(per_dim(rank, st.integers(1, 3)))
    stride = draw(per_dim(rank, st.integers(1, 3)))
    dilation = draw(per_dim(rank, st.integers(1, 2))) if dilated else (1,) * rank
    padding = []
    for k in kernel:
        before = draw(st.integers(0, k // 2))
        padding.append((before, before if symmetric else draw(st.integers(0, k // 2))))
    spatial = [
        max(1, d * (k - 1) + 1 - before - after) + draw(st.integers(0, 4))
        for k, d, (before, after) in zip(kernel, dilation, padding)
    ]
    return dict(
        shape=(draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial),
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=draw(st.booleans()),
        count_include_pad=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@st.composite
def resize_cases(draw):
    """An input shape and an output size per spatial dim, smaller or larger."""
    rank = draw(st.integers(1, 3))
    spatial = draw(per_dim(rank, st.integers(1, 5)))
    size = draw(per_dim(rank, st.integers(1, 8)))
    return dict(
        shape=(draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial),
        size=size,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def conv_arrays(case):
    """Input, weight and optional bias of a conv case."""
    seed = case["seed"]
    bias = random(seed + 2, case["weight_shape"][0]) if case["bias"] else None
    return random(seed, *case["shape"]), random(seed + 1, *case["weight_shape"]), bias


def conv_transpose_arrays(case):
    """Input, weight (C_in, C_out/groups, *k) and optional bias of a transposed-conv case."""
    seed, c_in = case["seed"], case["shape"][1]
    bias = random(seed + 2, case["out_per_group"] * case["groups"]) if case["bias"] else None
    return random(seed, *case["shape"]), random(seed + 1, c_in, case["out_per_group"], *case["kernel"]), bias


# --- kernels against the naive references ---------------------------------------------------------


@EXAMPLES
@given(conv_cases())
def test_conv_matches_reference(case):
    x, weight, bias = conv_arrays(case)
    args = (case["stride"], case["padding"], case["dilation"], case["groups"])
    assert_close(kernels.conv(x, weight, bias, *args), reference.conv(x, weight, bias, *args))


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize(
    ("c_in", "c_out", "kernel", "groups"),
    [
        (4, 6, 1, 1),  # pointwise fast path
        (4, 6, 1, 2),  # grouped pointwise
        (4, 4, 3, 4),  # depthwise
        (3, 6, 3, 3),  # depthwise with channel multiplier 2
    ],
)
def test_conv_fast_paths_match_reference(rank, c_in, c_out, kernel, groups):
    x, bias = random(0, 2, c_in, *(5,) * rank), random(2, c_out)
    weight = random(1, c_out, c_in // groups, *(kernel,) * rank)
    args = ((1,) * rank, [(kernel // 2, kernel // 2)] * rank, (1,) * rank, groups)
    assert_close(kernels.conv(x, weight, bias, *args), reference.conv(x, weight, bias, *args))


@EXAMPLES
@given(conv_transpose_cases())
def test_conv_transpose_matches_reference(case):
    x, weight, bias = conv_transpose_arrays(case)
    args = (case["stride"], case["padding"], case["output_padding"], case["dilation"], case["groups"])
    assert_close(kernels.conv_transpose(x, weight, bias, *args), reference.conv_transpose(x, weight, bias, *args))


@EXAMPLES
@given(pool_cases())
def test_max_pool_matches_reference(case):
    x = random(case["seed"], *case["shape"])
    args = (case["kernel"], case["stride"], case["padding"], case["dilation"], case["ceil_mode"])
    assert_close(kernels.max_pool(x, *args), reference.max_pool(x, *args))


@EXAMPLES
@given(pool_cases(dilated=False))
def test_avg_pool_matches_reference(case):
    x = random(case["seed"], *case["shape"])
    args = (case["kernel"], case["stride"], case["padding"], case["ceil_mode"], case["count_include_pad"])
    assert_close(kernels.avg_pool(x, *args), reference.avg_pool(x, *args))


@EXAMPLES
@given(resize_cases())
def test_adaptive_avg_pool_matches_reference(case):
    x = random(case["seed"], *case["shape"])
    assert_close(kernels.adaptive_avg_pool(x, case["size"]), reference.adaptive_avg_pool(x, case["size"]))


@EXAMPLES
@given(
    st.integers(1, 3),
    st.integers(1, 7),
    st.integers(1, 6),
    st.floats(1e-4, 1.0),
    st.floats(0.5, 1.0),
    st.floats(0.5, 2.0),
    st.integers(0, 2**32 - 1),
)
def test_lrn_matches_reference(rank, channels, size, alpha, beta, k, seed):
    x = random(seed, 2, channels, *(3,) * rank)
    assert_close(kernels.lrn(x, size, alpha, beta, k), reference.lrn(x, size, alpha, beta, k))


@EXAMPLES
@given(resize_cases(), st.sampled_from(["nearest", "bilinear"]))
def test_upsample_matches_reference(case, mode):
    x = random(case["seed"], *case["shape"])
    assert_close(kernels.upsample(x, case["size"], mode), reference.upsample(x, case["size"], mode))


# --- ceil_mode and divisor golden tables (values checked against PyTorch 2.13) -----------------------


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pad", "floor_length", "ceil_length"),
    [
        (5, 2, 2, 1, 3, 3),  # the extra ceil window would start in the right padding: dropped
        (6, 3, 2, 1, 3, 4),
        (6, 3, 2, 0, 2, 3),
        (7, 3, 3, 0, 2, 3),
        (10, 3, 4, 1, 3, 3),  # dropped again
        (1, 3, 2, 1, 1, 1),
    ],
)
def test_pool_lengths_in_floor_and_ceil_mode(size, kernel, stride, pad, floor_length, ceil_length):
    x = random(0, 1, 1, size)
    for ceil_mode, length in [(False, floor_length), (True, ceil_length)]:
        assert kernels.max_pool(x, (kernel,), (stride,), [(pad, pad)], (1,), ceil_mode).shape == (1, 1, length)
        assert kernels.avg_pool(x, (kernel,), (stride,), [(pad, pad)], ceil_mode, True).shape == (1, 1, length)


@pytest.mark.parametrize(
    ("size", "pad", "count_include_pad", "expected"),
    [
        (5, 0, True, [1.5, 3.5, 5.0]),  # the overhanging window divides by its one real element
        (5, 1, True, [0.5, 2.5, 4.5]),
        (5, 1, False, [1.0, 2.5, 4.5]),
    ],
)
def test_avg_pool_divisors_in_ceil_mode(size, pad, count_include_pad, expected):
    x = np.arange(1.0, size + 1).reshape(1, 1, size)
    pooled = kernels.avg_pool(x, (2,), (2,), [(pad, pad)], True, count_include_pad)
    np.testing.assert_array_equal(pooled[0, 0], expected)


def test_avg_pool_clips_the_include_pad_divisor_at_the_right_padding():
    x = np.arange(1.0, 7).reshape(1, 1, 6)
    # Last window [5, 8) in input coordinates holds x[5] and one padding cell; the overhang does not count.
    np.testing.assert_array_equal(kernels.avg_pool(x, (3,), (2,), [(1, 1)], True, True)[0, 0], [1, 3, 5, 3])


# --- error function -------------------------------------------------------------------------------


def erf_points():
    """Dense points across all three of Cody's intervals, the interval edges, tiny and huge values."""
    edges = [0.0, 0.46875, 4.0, 26.5, 27.0, 40.0, 1e300]
    dense = np.concatenate(
        [
            np.linspace(0, 10, 50001),
            np.geomspace(1e-300, 30, 5001),
            edges,
            np.nextafter(edges, np.inf),
            np.nextafter(edges, -np.inf),
        ]
    )
    return np.concatenate([dense, -dense])


def test_erfc_matches_math_erfc_deep_in_the_tail():
    points = erf_points()
    expected = np.array([math.erfc(p) for p in points])
    np.testing.assert_allclose(kernels.erfc(points), expected, rtol=1e-13, atol=1e-300)


def test_erfc_handles_infinities_nan_and_float32():
    np.testing.assert_array_equal(kernels.erfc(np.array([-np.inf, np.inf])), [2.0, 0.0])
    assert np.isnan(kernels.erfc(np.array([np.nan]))).all()
    points = np.linspace(-6, 6, 1001, dtype=np.float32)
    result = kernels.erfc(points)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, [math.erfc(p) for p in points.astype(float)], atol=3e-7)


# --- activations and small kernels (no torch needed) --------------------------------------------------


def test_sigmoid_and_softmax_do_not_overflow_on_huge_inputs():
    x = np.array([[-1000.0, 0.0, 1000.0], [1e300, 1e300, -1e300]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        np.testing.assert_array_equal(kernels.sigmoid(x[0]), [0.0, 0.5, 1.0])
        np.testing.assert_array_equal(kernels.softmax(x[:1], axis=1), [[0.0, 0.0, 1.0]])
        np.testing.assert_array_equal(kernels.softmax(x[1:], axis=1), [[0.5, 0.5, 0.0]])


def test_softmax_sums_to_one_along_the_axis():
    x = random(0, 2, 5, 3)
    for axis in (1, 2):
        np.testing.assert_allclose(kernels.softmax(x, axis=axis).sum(axis=axis), 1.0, rtol=1e-12)


def test_small_kernels_match_their_definitions():
    x, weight, bias = random(0, 3, 4, 2, 5), random(1, 6, 40), random(2, 6)
    assert_close(kernels.global_avg_pool(x), x.mean(axis=(2, 3)).reshape(3, 4, 1, 1))
    assert_close(kernels.flatten(x), x.reshape(3, 40))
    assert_close(kernels.linear(kernels.flatten(x), weight, bias), x.reshape(3, 40) @ weight.T + bias)
    assert_close(kernels.add(x, x, x), 3 * x)
    assert_close(kernels.concat([x, 2 * x], axis=1)[:, 4:], 2 * x)
    assert_close(kernels.dropout(x), x)
    assert_close(kernels.relu(x), np.where(x > 0, x, 0))
    assert_close(kernels.leaky_relu(x, 0.2), np.where(x > 0, x, 0.2 * x))


def test_batch_norm_without_affine_parameters_standardises():
    x, mean, var = random(0, 2, 3, 4), random(1, 3), np.exp(random(2, 3))
    expected = (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-3)
    assert_close(kernels.batch_norm(x, None, None, mean, var, eps=1e-3), expected)


# --- dtype and purity for every kernel -----------------------------------------------------------------

WEIGHT_3X3, WEIGHT_1X1, WEIGHT_DEPTHWISE = random(1, 6, 4, 3, 3), random(2, 6, 4, 1, 1), random(3, 8, 1, 3, 3)
WEIGHT_TRANSPOSED, CHANNEL_PARAMS = random(4, 4, 3, 2, 2), random(5, 4)
CALLS = {
    "conv": lambda x: kernels.conv(x, WEIGHT_3X3, CHANNEL_PARAMS[:1].repeat(6), (1, 2), [(1, 0), (1, 1)], (1, 1), 1),
    "conv_pointwise": lambda x: kernels.conv(x, WEIGHT_1X1, None, (1, 1), [(0, 0)] * 2, (1, 1), 1),
    "conv_depthwise": lambda x: kernels.conv(x, WEIGHT_DEPTHWISE, None, (1, 1), [(1, 1)] * 2, (1, 1), 4),
    "conv_transpose": lambda x: kernels.conv_transpose(
        x, WEIGHT_TRANSPOSED, None, (2, 2), [(1, 1)] * 2, (1, 0), (1, 1), 1
    ),
    "max_pool": lambda x: kernels.max_pool(x, (3, 3), (2, 2), [(1, 1)] * 2, (1, 1), True),
    "avg_pool": lambda x: kernels.avg_pool(x, (3, 3), (2, 2), [(1, 1)] * 2, True, False),
    "adaptive_avg_pool": lambda x: kernels.adaptive_avg_pool(x, (3, 4)),
    "global_avg_pool": kernels.global_avg_pool,
    "flatten": kernels.flatten,
    "batch_norm": lambda x: kernels.batch_norm(
        x, CHANNEL_PARAMS, CHANNEL_PARAMS, CHANNEL_PARAMS, np.abs(CHANNEL_PARAMS)
    ),
    "lrn": lambda x: kernels.lrn(x, 3, 1e-2, 0.75, 1.0),
    "relu": kernels.relu,
    "leaky_relu": kernels.leaky_relu,
    "sigmoid": kernels.sigmoid,
    "tanh": kernels.tanh,
    "gelu": kernels.gelu,
    "silu": kernels.silu,
    "softmax": kernels.softmax,
    "dropout": kernels.dropout,
    "upsample_nearest": lambda x: kernels.upsample(x, (7, 9), "nearest"),
    "upsample_bilinear": lambda x: kernels.upsample(x, (7, 9), "bilinear"),
    "add": lambda x: kernels.add(x, x),
    "concat": lambda x: kernels.concat([x, x]),
    "linear": lambda x: kernels.linear(x[:, :, 0, 0], random(6, 5, 4), CHANNEL_PARAMS[:1].repeat(5)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_kernel_keeps_float32_leaves_its_input_alone_and_agrees_with_float64(name):
    x64 = random(0, 2, 4, 5, 6)
    x32 = x64.astype(np.float32)
    untouched = x32.copy()
    out = CALLS[name](x32)
    assert out.dtype == np.float32
    assert not np.shares_memory(out, x32)
    np.testing.assert_array_equal(x32, untouched)
    np.testing.assert_allclose(out, CALLS[name](x64), rtol=1e-4, atol=1e-5)


# --- one test per error message --------------------------------------------------------------------------


def test_conv_rejects_channels_that_do_not_fit():
    with pytest.raises(ValueError, match="channels do not fit: the input has 3"):
        kernels.conv(random(0, 1, 3, 5, 5), random(1, 4, 2, 3, 3), None, (1, 1), [(0, 0)] * 2, (1, 1), 1)


def test_conv_rejects_a_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match=r"kernel span \(5, 5\) is larger than the padded input \(4, 4\)"):
        kernels.conv(random(0, 1, 1, 4, 4), random(1, 1, 1, 3, 3), None, (1, 1), [(0, 0)] * 2, (2, 2), 1)


def test_pool_rejects_a_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match=r"kernel span 4 is larger than the padded input \(3\)"):
        kernels.max_pool(random(0, 1, 1, 3), (4,), (1,), [(0, 0)], (1,), False)


@pytest.mark.parametrize(("kernel", "padding"), [(1, (1, 1)), (3, (0, 4))])  # the second must not wrap around
def test_conv_transpose_rejects_padding_that_crops_everything(kernel, padding):
    with pytest.raises(ValueError, match="crops away the whole"):
        kernels.conv_transpose(random(0, 1, 1, 1), random(1, 1, 1, kernel), None, (1,), [padding], (0,), (1,), 1)


def test_linear_rejects_a_feature_mismatch():
    with pytest.raises(ValueError, match="expects 5 features, input has 4"):
        kernels.linear(random(0, 2, 4), random(1, 3, 5), None)


def test_add_rejects_shapes_that_would_broadcast():
    with pytest.raises(ValueError, match="equal shape"):
        kernels.add(random(0, 2, 3, 4), random(1, 2, 1, 4))


def test_upsample_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="upsample mode must be one of"):
        kernels.upsample(random(0, 1, 1, 4), (8,), "bicubic")


# --- against PyTorch ------------------------------------------------------------------------------------


@FEW_EXAMPLES
@given(conv_cases(symmetric=True))
def test_conv_matches_torch(torch, case):
    x, weight, bias = conv_arrays(case)
    rank = x.ndim - 2
    expected = getattr(torch.nn.functional, f"conv{rank}d")(
        torch.from_numpy(x),
        torch.from_numpy(weight),
        None if bias is None else torch.from_numpy(bias),
        case["stride"],
        [before for before, _ in case["padding"]],
        case["dilation"],
        case["groups"],
    )
    actual = kernels.conv(x, weight, bias, case["stride"], case["padding"], case["dilation"], case["groups"])
    assert_close(actual, numpy_of(expected))


@FEW_EXAMPLES
@given(conv_transpose_cases(symmetric=True))
def test_conv_transpose_matches_torch(torch, case):
    x, weight, bias = conv_transpose_arrays(case)
    rank = x.ndim - 2
    expected = getattr(torch.nn.functional, f"conv_transpose{rank}d")(
        torch.from_numpy(x),
        torch.from_numpy(weight),
        None if bias is None else torch.from_numpy(bias),
        case["stride"],
        [before for before, _ in case["padding"]],
        case["output_padding"],
        case["groups"],
        case["dilation"],
    )
    actual = kernels.conv_transpose(
        x, weight, bias, case["stride"], case["padding"], case["output_padding"], case["dilation"], case["groups"]
    )
    assert_close(actual, numpy_of(expected))


def fits_torch_pool3d(x, case):
    """PyTorch's 3-d pooling alone also wants the unpadded input to hold the dilated kernel."""
    spans = [d * (k - 1) + 1 for k, d in zip(case["kernel"], case["dilation"])]
    return x.ndim != 5 or all(size >= span for size, span in zip(x.shape[2:], spans))


@FEW_EXAMPLES
@given(pool_cases(symmetric=True))
def test_max_pool_matches_torch(torch, case):
    x = random(case["seed"], *case["shape"])
    assume(fits_torch_pool3d(x, case))
    pads = [before for before, _ in case["padding"]]
    expected = getattr(torch.nn.functional, f"max_pool{x.ndim - 2}d")(
        torch.from_numpy(x), case["kernel"], case["stride"], pads, case["dilation"], case["ceil_mode"]
    )
    actual = kernels.max_pool(x, case["kernel"], case["stride"], case["padding"], case["dilation"], case["ceil_mode"])
    assert_close(actual, numpy_of(expected))


@FEW_EXAMPLES
@given(pool_cases(symmetric=True, dilated=False))
def test_avg_pool_matches_torch(torch, case):
    x = random(case["seed"], *case["shape"])
    assume(fits_torch_pool3d(x, case))
    pads = [before for before, _ in case["padding"]]
    expected = getattr(torch.nn.functional, f"avg_pool{x.ndim - 2}d")(
        torch.from_numpy(x), case["kernel"], case["stride"], pads, case["ceil_mode"], case["count_include_pad"]
    )
    actual = kernels.avg_pool(
        x, case["kernel"], case["stride"], case["padding"], case["ceil_mode"], case["count_include_pad"]
    )
    assert_close(actual, numpy_of(expected))


@FEW_EXAMPLES
@given(resize_cases())
def test_adaptive_avg_pool_matches_torch(torch, case):
    x = random(case["seed"], *case["shape"])
    expected = getattr(torch.nn.functional, f"adaptive_avg_pool{x.ndim - 2}d")(torch.from_numpy(x), case["size"])
    assert_close(kernels.adaptive_avg_pool(x, case["size"]), numpy_of(expected))


@FEW_EXAMPLES
@given(resize_cases(), st.sampled_from(["nearest", "bilinear"]))
def test_upsample_matches_torch_interpolate(torch, case, mode):
    x = random(case["seed"], *case["shape"])
    torch_mode = mode if mode == "nearest" else {1: "linear", 2: "bilinear", 3: "trilinear"}[x.ndim - 2]
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(x),
        size=case["size"],
        mode=torch_mode,
        **({} if mode == "nearest" else {"align_corners": False}),
    )
    assert_close(kernels.upsample(x, case["size"], mode), numpy_of(expected))


@pytest.mark.parametrize("rank", [0, 1, 2, 3])
def test_batch_norm_matches_torch(torch, rank):
    x = random(0, 3, 4, *(5,) * rank)
    weight, bias, mean, var = random(1, 4), random(2, 4), random(3, 4), np.exp(random(4, 4))
    expected = torch.nn.functional.batch_norm(
        *map(torch.from_numpy, (x, mean, var, weight, bias)), training=False, eps=1e-3
    )
    assert_close(kernels.batch_norm(x, weight, bias, mean, var, eps=1e-3), numpy_of(expected))


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
def test_lrn_matches_torch(torch, rank, size):
    x = random(size, 2, 7, *(3,) * rank)
    expected = torch.nn.functional.local_response_norm(torch.from_numpy(x), size, alpha=0.3, beta=0.75, k=1.5)
    assert_close(kernels.lrn(x, size, 0.3, 0.75, 1.5), numpy_of(expected))


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "softmax"])
def test_activation_matches_torch(torch, name):
    x = np.concatenate([np.linspace(-40, 40, 8000), 3 * random(0, 8000)]).reshape(4, 4000)
    functional = torch.nn.functional
    expected = {
        "relu": functional.relu,
        "leaky_relu": lambda t: functional.leaky_relu(t, 0.01),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": functional.gelu,
        "silu": functional.silu,
        "softmax": lambda t: functional.softmax(t, dim=1),
    }[name](torch.from_numpy(x))
    assert_close(getattr(kernels, name)(x), numpy_of(expected))


# --- grouped and depthwise convolutions (the chunked per-group path) -------------------------------------

# (input shape, weight shape, stride, padding, dilation, groups): depthwise (groups = channels, with and without a
# channel multiplier) and grouped, 1-D to 3-D, stride 1 (flat columns) and strided (window columns), dilated, with
# asymmetric padding, and a 1x1 map whose padded rows are too wide for the flat layout's memory bound.
GROUPED_CASES = [
    ((2, 6, 9, 8), (6, 1, 3, 3), (1, 1), [(1, 1), (1, 1)], (1, 1), 6),
    ((1, 4, 11, 10), (4, 1, 3, 3), (2, 2), [(1, 0), (0, 1)], (1, 1), 4),
    ((2, 3, 12, 13), (3, 1, 5, 5), (1, 1), [(4, 4), (4, 4)], (2, 2), 3),
    ((1, 5, 7, 7), (5, 1, 7, 7), (1, 1), [(3, 3), (3, 3)], (1, 1), 5),
    ((2, 4, 8, 9), (8, 1, 3, 3), (1, 2), [(1, 1), (2, 2)], (2, 1), 4),
    ((1, 3, 6, 5), (6, 1, 5, 3), (2, 1), [(2, 2), (1, 1)], (1, 2), 3),
    ((2, 4, 1, 1), (4, 1, 3, 3), (1, 1), [(1, 1), (1, 1)], (1, 1), 4),
    ((2, 6, 17), (6, 1, 5), (1,), [(2, 2)], (1,), 6),
    ((1, 4, 19), (8, 1, 3), (3,), [(1, 2)], (2,), 4),
    ((1, 3, 5, 6, 7), (3, 1, 3, 3, 3), (1, 1, 1), [(1, 1)] * 3, (1, 1, 1), 3),
    ((2, 2, 5, 7, 6), (4, 1, 3, 2, 3), (1, 2, 1), [(1, 1), (0, 1), (2, 2)], (1, 1, 2), 2),
    ((2, 8, 9, 9), (12, 2, 3, 3), (1, 1), [(1, 1), (1, 1)], (1, 1), 4),
    ((1, 16, 10, 11), (16, 2, 3, 3), (2, 2), [(1, 1), (1, 1)], (1, 1), 8),
    ((2, 6, 8, 8), (4, 3, 5, 5), (1, 1), [(2, 2), (2, 2)], (1, 1), 2),
    ((1, 12, 7, 6), (6, 4, 1, 3), (1, 1), [(0, 0), (1, 1)], (1, 1), 3),
    ((2, 9, 14), (6, 3, 3), (2,), [(1, 1)], (1,), 3),
    ((1, 4, 4, 5, 6), (6, 2, 2, 3, 3), (1, 1, 1), [(1, 1)] * 3, (1, 2, 1), 2),
]


def grouped_arrays(case, dtype=np.float64):
    """Input, weight and bias of a GROUPED_CASES row."""
    shape, weight_shape = case[:2]
    return random(0, *shape).astype(dtype), random(1, *weight_shape).astype(dtype), random(2, weight_shape[0])


@pytest.mark.parametrize("chunk_bytes", [1, kernels._GROUPED_CHUNK_BYTES])  # one group per chunk, and the default
@pytest.mark.parametrize("case", GROUPED_CASES, ids=str)
def test_grouped_and_depthwise_conv_match_reference(case, chunk_bytes, monkeypatch):
    monkeypatch.setattr(kernels, "_GROUPED_CHUNK_BYTES", chunk_bytes)
    x, weight, bias = grouped_arrays(case)
    args = case[2:]
    assert_close(kernels.conv(x, weight, bias, *args), reference.conv(x, weight, bias, *args))


@pytest.mark.parametrize("case", [case for case in GROUPED_CASES if all(a == b for a, b in case[3])], ids=str)
def test_grouped_and_depthwise_conv_match_torch(torch, case):
    x, weight, bias = grouped_arrays(case)
    stride, padding, dilation, groups = case[2:]
    expected = getattr(torch.nn.functional, f"conv{x.ndim - 2}d")(
        *map(torch.from_numpy, (x, weight, bias)), stride, [before for before, _ in padding], dilation, groups
    )
    assert_close(kernels.conv(x, weight, bias, *case[2:]), numpy_of(expected))


@pytest.mark.parametrize("case", GROUPED_CASES, ids=str)
def test_grouped_conv_temporaries_stay_within_the_memory_estimate(case):
    """tracemalloc's peak during the kernel is at most its output plus what execute.WORKSPACE declares.

    The rule counts the padded copy of the input as twice the input; on a small map with wide padding (7x7 with
    a 7x7 kernel and padding 3, ConvNeXt's last stage) the padded copy is larger, a gap older than the grouped
    path, so the excess of the padded copy over that allowance is added here and the new temporaries (chunk of
    columns, wide output) are checked against the rule's columns term alone.
    """
    import tracemalloc
    from types import SimpleNamespace

    from cnncalc.backend import execute

    (n, c_in, *spatial), (c_out, *per_group), stride, padding, dilation, groups = case
    wider = ((n, 16 * c_in, *spatial), (16 * c_out, *per_group), stride, padding, dilation, 16 * groups)
    x, weight, bias = grouped_arrays(wider, np.float32)  # 16x the groups, so that the arrays outweigh the views
    out = kernels.conv(x, weight, bias, *case[2:-1], 16 * groups)  # first, so that lazy imports are not counted
    layer = SimpleNamespace(weights=(SimpleNamespace(shape=weight.shape),), output=out.shape)
    padded = x.shape[0] * x.shape[1] * math.prod(size + sum(pair) for size, pair in zip(x.shape[2:], case[3]))
    declared = execute.WORKSPACE["conv"](layer, x.shape, x.size) + out.size + max(0, padded - 2 * x.size)
    tracemalloc.start()
    try:
        kernels.conv(x, weight, bias, *case[2:-1], 16 * groups)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= declared * x.itemsize + 8192  # the Python objects of the views and loops: about 4 kB
