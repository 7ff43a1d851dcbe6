"""NumPy kernels against the naive loop references and, when torch is installed, against PyTorch."""

import itertools
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


def exact_gelu(points):
    """x * Phi(x) = x * erfc(-x / sqrt(2)) / 2, one scalar at a time with the math module."""
    return np.array([0.5 * p * math.erfc(-p / math.sqrt(2)) for p in np.asarray(points, dtype=float)])


def test_float32_gelu_keeps_relative_accuracy_into_the_tails():
    """The float32 path (NR's erfcc in float32 work arrays) against math.erfc: 5e-6 relative for |x| up to 6, 3e-5
    further out while the value is a normal float32 (float32's rounding of x*x inside the exp grows with x*x)."""
    points = np.concatenate([np.linspace(-14, 14, 28001), np.geomspace(1e-30, 14, 2001)]).astype(np.float32)
    points = np.concatenate([points, -points])
    result = kernels.gelu(points)
    assert result.dtype == np.float32
    expected = exact_gelu(points)
    normal = np.abs(expected) > np.finfo(np.float32).tiny
    near = np.abs(points) <= 6
    np.testing.assert_allclose(result[near], expected[near], rtol=5e-6)
    np.testing.assert_allclose(result[normal], expected[normal], rtol=3e-5)
    assert np.abs(result[~normal]).max() < 1e-35


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_and_silu_handle_infinities_and_nan(dtype):
    """No overflow is raised; +inf stays, nan stays nan."""
    x = np.array([-1e30, -200.0, 0.0, 200.0, 1e30, np.inf, np.nan], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        silu = kernels.silu(x)
        gelu = kernels.gelu(x)
    finite = np.array([0.0, 0.0, 0.0, 200.0, 1e30, np.inf], dtype)
    np.testing.assert_allclose(silu[:-1], finite, rtol=1e-15, atol=1e-80)  # silu(-200) is -2.8e-85 in float64
    np.testing.assert_allclose(gelu[:-1], finite, rtol=1e-15, atol=1e-80)
    assert np.isnan(silu[-1]) and np.isnan(gelu[-1])


@pytest.mark.parametrize("name", ["gelu", "silu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_wise_kernels_in_place_over_several_blocks_equal_the_new_array(name, dtype):
    """Three blocks and a remainder, written into a new array and into the input itself: the same values, and the
    same as one element at a time (the blocks cut nothing)."""
    kernel = getattr(kernels, name)
    x = (3 * random(0, 2, 3, kernels.BLOCK // 2 + 7)).astype(dtype)
    expected = kernel(x)
    assert expected.dtype == dtype
    single = np.concatenate([kernel(x.reshape(-1)[i : i + 1]) for i in range(0, x.size, 4099)])
    np.testing.assert_array_equal(single, expected.reshape(-1)[::4099])
    in_place = x.copy()
    assert kernel(in_place, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, expected)


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


# The definitions, one scalar at a time with the math module (inputs within exp's range).
SCALAR_DEFINITIONS = {
    "relu6": (kernels.relu6, lambda v: min(max(v, 0.0), 6.0)),
    "hardsigmoid": (kernels.hardsigmoid, lambda v: min(max(v + 3, 0.0), 6.0) / 6),
    "hardswish": (kernels.hardswish, lambda v: v * min(max(v + 3, 0.0), 6.0) / 6),
    "elu": (lambda x: kernels.elu(x, 0.7), lambda v: v if v > 0 else 0.7 * (math.exp(v) - 1)),
    "mish": (kernels.mish, lambda v: v * math.tanh(math.log(1 + math.exp(v)))),
}


@pytest.mark.parametrize("name", sorted(SCALAR_DEFINITIONS))
def test_activation_matches_its_scalar_definition(name):
    kernel, definition = SCALAR_DEFINITIONS[name]
    x = np.concatenate([np.linspace(-30, 30, 601), [-3.0, 0.0, 3.0, 6.0], 3 * random(0, 395)]).reshape(2, 10, 50)
    assert_close(kernel(x), np.vectorize(definition)(x))


@pytest.mark.parametrize("shape", [(2, 5), (2, 5, 4), (2, 5, 3, 4), (1, 5, 2, 3, 2)])
@pytest.mark.parametrize("shared", [True, False])
def test_prelu_and_scale_match_loops_over_the_channels(shape, shared):
    x, values = random(0, *shape), random(1, 1 if shared else shape[1])
    prelu, scaled = np.empty_like(x), np.empty_like(x)
    for sample, channel in np.ndindex(*shape[:2]):
        slope = values[0 if shared else channel]
        for position in np.ndindex(*shape[2:]):
            v = x[(sample, channel, *position)]
            prelu[(sample, channel, *position)] = v if v > 0 else slope * v
            scaled[(sample, channel, *position)] = v * slope
    assert_close(kernels.prelu(x, values), prelu)
    if not shared:
        assert_close(kernels.scale(x, values.reshape(-1, *(1,) * (len(shape) - 2))), scaled)


def test_mish_neither_overflows_nor_loses_the_tails():
    x = np.array([-1000.0, -40.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):
        out = kernels.mish(x)
    assert out[0] == 0.0 or abs(out[0]) < 1e-300
    np.testing.assert_allclose(out[1:], [-40 * math.tanh(math.log1p(math.exp(-40))), 40.0, 1000.0], rtol=1e-15)


def test_stochastic_depth_is_the_identity():
    x = random(0, 2, 3, 4)
    assert_close(kernels.stochastic_depth(x), x)


def test_batch_norm_without_affine_parameters_standardises():
    x, mean, var = random(0, 2, 3, 4), random(1, 3), np.exp(random(2, 3))
    expected = (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-3)
    assert_close(kernels.batch_norm(x, None, None, mean, var, eps=1e-3), expected)


@pytest.mark.parametrize(
    "activation, alone",
    [(kernels.relu_block, kernels.relu), (kernels.relu6_block, kernels.relu6), (kernels.silu_block, kernels.silu)],
    ids=["relu", "relu6", "silu"],
)
@pytest.mark.parametrize("shape", [(2, 3), (2, 5, 7), (3, 4, 9, 11), (1, 2, 3, 4, 5), (1, 2, 300, 300)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("blocked", [False, True])
def test_batch_norm_with_an_activation_equals_the_two_kernels(monkeypatch, activation, alone, shape, dtype, blocked):
    """The fused pass, whole or block by block (blocks of whole channel rows, a row longer than a block cut into
    pieces), gives exactly the batch norm kernel followed by the activation's, into a new array and into its
    input."""
    x = (3 * random(0, *shape)).astype(dtype)
    channels = shape[1]
    weight, bias, mean = random(1, channels), random(2, channels), random(3, channels)
    var = np.exp(random(4, channels))
    expected = alone(kernels.batch_norm(x, weight, bias, mean, var, 1e-3))  # whole: below BLOCKED_BATCH_NORM
    if blocked:
        monkeypatch.setattr(kernels, "BLOCKED_BATCH_NORM", 0)
    np.testing.assert_array_equal(kernels.batch_norm(x, weight, bias, mean, var, 1e-3, activation), expected)
    in_place = x.copy()
    assert kernels.batch_norm(in_place, weight, bias, mean, var, 1e-3, activation, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, expected)


def test_batch_norm_rejects_parameters_of_another_channel_count():
    with pytest.raises(ValueError, match=r"batch_norm parameters of shape \(3,\) do not fit 4 channels"):
        kernels.batch_norm(random(0, 2, 4, 5), None, None, random(1, 3), np.ones(3))


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
    "relu6": kernels.relu6,
    "hardsigmoid": kernels.hardsigmoid,
    "hardswish": kernels.hardswish,
    "elu": lambda x: kernels.elu(x, 0.5),
    "mish": kernels.mish,
    "prelu_shared": lambda x: kernels.prelu(x, CHANNEL_PARAMS[:1]),
    "prelu": lambda x: kernels.prelu(x, CHANNEL_PARAMS),
    "scale": lambda x: kernels.scale(x, CHANNEL_PARAMS.reshape(4, 1, 1)),
    "stochastic_depth": kernels.stochastic_depth,
    "upsample_nearest": lambda x: kernels.upsample(x, (7, 9), "nearest"),
    "upsample_bilinear": lambda x: kernels.upsample(x, (7, 9), "bilinear"),
    "add": lambda x: kernels.add(x, x),
    "concat": lambda x: kernels.concat([x, x]),
    "linear": lambda x: kernels.linear(x[:, :, 0, 0], random(6, 5, 4), CHANNEL_PARAMS[:1].repeat(5)),
    "linear_per_position": lambda x: kernels.linear(x, random(7, 3, 6), random(8, 3)),
    "add_broadcast": lambda x: kernels.add(x, x[:, :, :1, :1], x[:, :1]),
    "mul": lambda x: kernels.mul(x, x[:, :, :1, :1]),
    "layer_norm_channels": lambda x: kernels.layer_norm(x, CHANNEL_PARAMS, CHANNEL_PARAMS),
    "layer_norm_last": lambda x: kernels.layer_norm(x, random(9, 6), random(10, 6), -1, 1e-6),
    "permute": lambda x: kernels.permute(x, (2, 0, 1)),
    "channel_shuffle": lambda x: kernels.channel_shuffle(x, 2),
    "chunk": lambda x: kernels.chunk(x, 3, 1),
    "pad_constant": lambda x: kernels.pad(x, [(1, 0), (2, 3)], "constant", 0.5),
    "pad_reflect": lambda x: kernels.pad(x, [(1, 4), (2, 0)], "reflect"),
    "pad_replicate": lambda x: kernels.pad(x, [(0, 6), (2, 2)], "replicate"),
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


@pytest.mark.parametrize("join", [kernels.add, kernels.mul])
def test_joins_reject_shapes_that_do_not_broadcast(join):
    with pytest.raises(ValueError, match=r"arrays whose shapes broadcast, got shapes \[\(2, 3, 4\), \(2, 2, 4\)\]"):
        join(random(0, 2, 3, 4), random(1, 2, 2, 4))


@pytest.mark.parametrize("join", [kernels.add, kernels.mul])
def test_joins_reject_arrays_of_different_ranks(join):
    """NumPy would align a (2, 4) array's batch with a channel axis of (2, 3, 4): refused."""
    with pytest.raises(ValueError, match="one or more arrays of one rank"):
        join(random(0, 2, 3, 4), random(1, 2, 4))


def test_layer_norm_rejects_the_batch_axis_and_a_weight_of_another_size():
    with pytest.raises(ValueError, match="not the batch: dim 0"):
        kernels.layer_norm(random(0, 2, 3), random(1, 2), random(2, 2), 0)
    with pytest.raises(ValueError, match=r"weight \(4,\) and bias \(4,\) must be \(3,\)"):
        kernels.layer_norm(random(0, 2, 3, 5), random(1, 4), random(2, 4), 1)


def test_channel_shuffle_rejects_indivisible_channels():
    with pytest.raises(ValueError, match="6 channels do not divide into 4 groups"):
        kernels.channel_shuffle(random(0, 1, 6, 2), 4)


def test_chunk_rejects_an_empty_chunk():
    with pytest.raises(ValueError, match="chunk 3 of 6 channels in chunks of 2 is empty"):
        kernels.chunk(random(0, 1, 6, 2), 4, 3)


def test_pad_rejects_an_unknown_mode_a_wrong_pair_count_and_a_reflection_too_wide():
    with pytest.raises(ValueError, match="pad mode must be one of constant, reflect, replicate"):
        kernels.pad(random(0, 1, 1, 4), [(1, 1)], "circular")
    with pytest.raises(ValueError, match="one \\(before, after\\) pair per spatial axis"):
        kernels.pad(random(0, 1, 1, 4), [(1, 1), (1, 1)])
    with pytest.raises(ValueError, match="reflect padding"):
        kernels.pad(random(0, 1, 1, 4), [(0, 4)], "reflect")


def test_layout_kernels_by_hand():
    """Small cases worked out by hand, without PyTorch."""
    x = np.arange(6.0).reshape(1, 6, 1)
    assert kernels.channel_shuffle(x, 2).ravel().tolist() == [0, 3, 1, 4, 2, 5]
    assert [kernels.chunk(x, 4, i).shape[1] for i in range(3)] == [2, 2, 2]  # 6 in parts of 2: torch makes 3
    assert kernels.chunk(np.arange(5.0).reshape(1, 5, 1), 2, 1).ravel().tolist() == [3, 4]
    row = np.array([[[1.0, 2.0, 3.0]]])
    assert kernels.pad(row, [(2, 2)], "reflect").ravel().tolist() == [3, 2, 1, 2, 3, 2, 1]
    assert kernels.pad(row, [(2, 1)], "replicate").ravel().tolist() == [1, 1, 1, 2, 3, 3]
    assert kernels.pad(row, [(1, 0)], "constant", -1.0).ravel().tolist() == [-1, 1, 2, 3]
    assert kernels.permute(np.zeros((2, 3, 4, 5)), (2, 0, 1)).shape == (2, 5, 3, 4)
    normed = kernels.layer_norm(random(0, 2, 9, 3), np.ones(9), np.zeros(9), 1, 0.0)
    np.testing.assert_allclose(normed.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(normed.var(axis=1), 1, rtol=1e-12)


def test_prelu_rejects_slopes_that_fit_neither_one_nor_every_channel():
    with pytest.raises(ValueError, match=r"prelu weight \(3,\) is neither one shared slope nor one per channel \(4\)"):
        kernels.prelu(random(0, 2, 4, 5), random(1, 3))


def test_scale_rejects_an_array_of_another_shape():
    with pytest.raises(ValueError, match=r"scale array of shape \(4,\) does not fit input .*: expected \(4, 1, 1\)"):
        kernels.scale(random(0, 2, 4, 5, 5), random(1, 4))


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


# --- dense convolutions: one matmul per sample, or one for a batch of small maps --------------------------

# (input shape, weight shape, stride, padding, dilation, groups=1), batch > 1 so that both layouts apply.
DENSE_CASES = [
    ((3, 4, 7, 7), (6, 4, 3, 3), (1, 1), [(1, 1), (1, 1)], (1, 1), 1),
    ((2, 3, 7, 7), (5, 3, 7, 7), (1, 1), [(3, 3), (3, 3)], (1, 1), 1),
    ((2, 5, 9, 8), (4, 5, 3, 2), (2, 1), [(1, 0), (0, 2)], (1, 2), 1),
    ((4, 3, 11), (2, 3, 5), (2,), [(2, 1)], (1,), 1),
    ((2, 2, 4, 5, 6), (3, 2, 3, 2, 3), (1, 2, 1), [(1, 1), (0, 1), (1, 1)], (1, 1, 2), 1),
    ((2, 6, 8, 8), (4, 6, 1, 1), (2, 2), [(0, 0), (0, 0)], (1, 1), 1),
]


@pytest.mark.parametrize("batched_below", [0, kernels._BATCHED_POSITIONS])  # one matmul per sample; one per batch
@pytest.mark.parametrize("case", DENSE_CASES, ids=str)
def test_dense_conv_per_sample_and_batched_match_reference(case, batched_below, monkeypatch):
    monkeypatch.setattr(kernels, "_BATCHED_POSITIONS", batched_below)
    x, weight, bias = grouped_arrays(case)
    args = case[2:]
    assert_close(kernels.conv(x, weight, bias, *args), reference.conv(x, weight, bias, *args))


@pytest.mark.parametrize("case", [case for case in DENSE_CASES if all(a == b for a, b in case[3])], ids=str)
def test_dense_conv_batched_matches_torch(torch, case):
    x, weight, bias = grouped_arrays(case)
    stride, padding, dilation, groups = case[2:]
    expected = getattr(torch.nn.functional, f"conv{x.ndim - 2}d")(
        *map(torch.from_numpy, (x, weight, bias)), stride, [before for before, _ in padding], dilation, groups
    )
    assert_close(kernels.conv(x, weight, bias, *case[2:]), numpy_of(expected))


def _conv_peak_and_declared(x, weight, bias, stride, padding, dilation, groups):
    """tracemalloc's peak during kernels.conv, and what the memory estimate allows: output plus WORKSPACE."""
    import tracemalloc
    from types import SimpleNamespace

    from cnncalc.backend import execute

    out = kernels.conv(x, weight, bias, stride, padding, dilation, groups)  # first, so lazy imports do not count
    layer = SimpleNamespace(weights=(SimpleNamespace(shape=weight.shape),), output=out.shape)
    declared = execute.WORKSPACE["conv"](layer, x.shape, x.size) + out.size
    tracemalloc.start()
    try:
        kernels.conv(x, weight, bias, stride, padding, dilation, groups)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, declared * x.itemsize


@pytest.mark.parametrize("case", [case for case in DENSE_CASES if case[4] == (1,) * len(case[2])], ids=str)
def test_dense_conv_temporaries_stay_within_the_memory_estimate(case):
    """The batched layout's channels-first product and the padded copy are in execute.WORKSPACE."""
    (n, c_in, *spatial), (c_out, *rest) = case[:2]
    x, weight, bias = grouped_arrays(((n, 16 * c_in, *spatial), (16 * c_out, 16 * rest[0], *rest[1:])), np.float32)
    peak, declared = _conv_peak_and_declared(x, weight, bias, *case[2:])
    assert peak <= declared + 8192


@pytest.mark.parametrize("groups", [1, 64])
def test_small_map_with_wide_padding_stays_within_the_memory_estimate(groups):
    """ConvNeXt's last stage: a 7x7 map, a 7x7 kernel with padding 3 pads to 3.4x the input (the estimate
    counted 2x before)."""
    x = random(0, 2, 64, 7, 7).astype(np.float32)
    weight = random(1, 64, 64 // groups, 7, 7).astype(np.float32)
    peak, declared = _conv_peak_and_declared(x, weight, None, (1, 1), [(3, 3), (3, 3)], (1, 1), groups)
    assert peak <= declared + 8192


@pytest.mark.parametrize("name", ["relu6", "hardswish", "hardsigmoid", "elu", "mish"])
def test_new_activation_matches_torch_module(torch, name):
    x = np.concatenate([np.linspace(-40, 40, 8000), [-3.0, 0.0, 3.0, 6.0], 3 * random(0, 7996)]).reshape(4, 4000)
    module, ours = {
        "relu6": (torch.nn.ReLU6(), kernels.relu6),
        "hardswish": (torch.nn.Hardswish(), kernels.hardswish),
        "hardsigmoid": (torch.nn.Hardsigmoid(), kernels.hardsigmoid),
        "elu": (torch.nn.ELU(alpha=0.7), lambda x: kernels.elu(x, 0.7)),
        "mish": (torch.nn.Mish(), kernels.mish),
    }[name]
    assert_close(ours(x), numpy_of(module(torch.from_numpy(x))))


@pytest.mark.parametrize("shape", [(3, 6), (3, 6, 7), (2, 6, 5, 4), (2, 6, 3, 4, 2)])
@pytest.mark.parametrize("channels", [1, 6])
def test_prelu_matches_torch(torch, shape, channels):
    x, slopes = random(0, *shape), random(1, channels)
    module = torch.nn.PReLU(channels).double()
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(slopes))
    assert_close(kernels.prelu(x, slopes), numpy_of(module(torch.from_numpy(x))))


@pytest.mark.parametrize("shape", [(3, 6), (2, 6, 7), (2, 6, 5, 4), (2, 6, 3, 4, 2)])
def test_scale_matches_a_torch_parameter_multiply(torch, shape):
    """torchvision ConvNeXt's layer scale: ``self.layer_scale * x`` with a parameter of shape [C, 1, 1]."""
    x, factors = random(0, *shape), random(1, shape[1], *(1,) * (len(shape) - 2))
    layer_scale = torch.nn.Parameter(torch.from_numpy(factors))
    assert_close(kernels.scale(x, factors), numpy_of(layer_scale * torch.from_numpy(x)))


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_matches_torchvision_in_eval_mode(torch, mode):
    ops = pytest.importorskip("torchvision.ops")
    module = ops.StochasticDepth(0.4, mode).eval()
    x = random(0, 4, 3, 5, 5)
    assert_close(kernels.stochastic_depth(x), numpy_of(module(torch.from_numpy(x))))


BROADCASTS = [
    [(2, 4, 5, 6), (2, 4, 1, 1)],  # squeeze-and-excitation
    [(2, 1, 5, 6), (2, 4, 1, 1)],  # both stretch
    [(2, 4, 5, 6), (2, 4, 5, 6), (2, 1, 5, 1)],
    [(2, 3), (2, 1)],
    [(1, 3, 1, 2, 2), (1, 3, 4, 1, 2)],
]


@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
def test_add_and_mul_broadcast_as_torch(torch, shapes):
    xs = [random(seed, *shape) for seed, shape in enumerate(shapes)]
    tensors = [torch.from_numpy(x) for x in xs]
    total, product = tensors[0], tensors[0]
    for tensor in tensors[1:]:
        total, product = total + tensor, product * tensor
    assert_close(kernels.add(*xs), numpy_of(total))
    assert_close(kernels.mul(*xs), numpy_of(product))


@pytest.mark.parametrize(
    "shape, dim",
    [((2, 4, 5, 6), 1), ((2, 4, 5, 6), -1), ((2, 4, 5, 6), 2), ((3, 7), 1), ((3, 7), -1), ((2, 3, 2, 3, 4), 1)],
)
def test_layer_norm_matches_torch(torch, shape, dim):
    """dim 1 as ConvNeXt's LayerNorm2d (channels moved last, nn.LayerNorm, moved back); -1 as nn.LayerNorm."""
    x, weight, bias = random(0, *shape), random(1, shape[dim]), random(2, shape[dim])
    norm = torch.nn.LayerNorm(shape[dim], eps=1e-6).double()
    with torch.no_grad():
        norm.weight.copy_(torch.from_numpy(weight))
        norm.bias.copy_(torch.from_numpy(bias))
        expected = norm(torch.from_numpy(x).movedim(dim, -1)).movedim(-1, dim)
    assert_close(kernels.layer_norm(x, weight, bias, dim, 1e-6), numpy_of(expected))


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
def test_pad_matches_torch(torch, rank, mode):
    x = random(rank, 2, 3, *(4, 5, 3)[:rank])
    padding = [(0, 3), (2, 1), (1, 2)][:rank]
    flat = [side for pair in reversed(padding) for side in pair]  # F.pad: last axis first
    value = {"value": -0.5} if mode == "constant" else {}
    expected = torch.nn.functional.pad(torch.from_numpy(x), flat, mode=mode, **value)
    assert_close(kernels.pad(x, padding, mode, -0.5), numpy_of(expected))


@pytest.mark.parametrize("channels", range(1, 10))
@pytest.mark.parametrize("chunks", [2, 3, 4, 5])
def test_chunk_matches_torch(torch, channels, chunks):
    x = random(channels, 2, channels, 3)
    parts = torch.chunk(torch.from_numpy(x), chunks, dim=1)
    for index, part in enumerate(parts):
        assert_close(kernels.chunk(x, chunks, index), numpy_of(part))
    with pytest.raises(ValueError, match="is empty"):
        kernels.chunk(x, chunks, len(parts))


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_channel_shuffle_matches_torch(torch, rank, groups):
    x = random(groups, 2, 6, *(3, 4, 2)[:rank])
    expected = torch.nn.ChannelShuffle(groups)(torch.from_numpy(x))
    assert_close(kernels.channel_shuffle(x, groups), numpy_of(expected))


@pytest.mark.parametrize("dims", list(itertools.permutations(range(3))))
def test_permute_matches_torch(torch, dims):
    x = random(0, 2, 3, 4, 5)
    expected = torch.from_numpy(x).permute(0, *(d + 1 for d in dims))
    assert_close(kernels.permute(x, dims), numpy_of(expected.contiguous()))


@pytest.mark.parametrize("shape", [(2, 5), (2, 3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_per_position_matches_torch(torch, shape, bias):
    """PyTorch's Linear on an N-D tensor: the last axis at every other position."""
    x, weight = random(0, *shape), random(1, 6, 5)
    b = random(2, 6) if bias else None
    expected = torch.nn.functional.linear(
        torch.from_numpy(x), torch.from_numpy(weight), None if b is None else torch.from_numpy(b)
    )
    assert_close(kernels.linear(x, weight, b), numpy_of(expected))
