"""upsample by a fractional scale, swept by brute force against PyTorch (like the pooling formula sweep).

PyTorch's output size for a scale factor is int(double(in) * scale) (100 x 0.29 = 28, 300 x (1/3) = 100), and with
the scale given (recompute_scale_factor=None) it steps through the input by 1/scale, not by in/out. The shape rule
(cnncalc/kinds/resample.py) and the backend's own resampler (kernels.upsample, with its own index computation)
are each checked against torch.nn.functional.interpolate at many sizes and scales.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.backend import kernels
from cnncalc.errors import CnnCalcError
from cnncalc.load import parse_network
from cnncalc.propagate import propagate, propagate_symbolic
from cnncalc.symbolic.algebra import evaluate

SCALES = [0.1, 0.29, 0.3, 1 / 3, 0.33, 0.45, 0.5, 2 / 3, 0.7, 0.9, 0.99, 1.01, 1.1, 1.3, 4 / 3, 1.5, 5 / 3, 1.7]
SCALES += [2.0, 2.5, 3.3, 1 / 7, 0.77]
SIZES = [*range(1, 41), 97, 100, 101, 127, 299, 300, 301, 1000, 1001]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def shape_rule(spatial: list, scale) -> tuple:
    text = f"name: t\ninput: [1, {', '.join(map(str, spatial))}]\nlayers:\n  - upsample: {{scale: {scale!r}}}\n"
    return propagate(parse_network(text, "t.yaml")).layers[-1].output[2:]


def test_the_issue_examples():
    assert shape_rule([100], 0.29) == (28,)
    assert shape_rule([300], 1 / 3) == (100,)
    assert shape_rule([100, 300], [0.29, 1 / 3]) == (28, 100)


def test_the_shape_rule_is_pytorchs_at_every_size_and_scale(torch):
    for n in SIZES:
        for scale in SCALES:
            try:
                expected = tuple(torch.nn.functional.interpolate(torch.zeros(1, 1, n), scale_factor=scale).shape[2:])
            except RuntimeError as error:  # an output size of 0
                assert "output (W: 0)" in str(error)
                with pytest.raises(CnnCalcError, match="is below 1"):
                    shape_rule([n], scale)
            else:
                assert shape_rule([n], scale) == expected, (n, scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_the_resampler_is_pytorchs_at_every_size_and_scale(torch, mode, dtype):
    """1-D sweep: each output element is one or two source elements, so a wrong index shows as a large error."""
    rng = np.random.default_rng(0)
    for n in SIZES:
        x = rng.standard_normal((1, 2, n)).astype(dtype)
        for scale in SCALES:
            size = kernels.upsample_size((n,), (scale,))
            if size[0] < 1:
                continue
            expected = interpolate(torch, x, mode, scale_factor=scale)
            close(kernels.upsample(x, size, mode, (scale,)), expected, dtype)


@settings(max_examples=60, deadline=None)
@given(
    spatial=st.lists(st.integers(1, 13), min_size=1, max_size=3),
    scales=st.lists(st.sampled_from(SCALES), min_size=3, max_size=3),
    mode=st.sampled_from(["nearest", "bilinear"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    by_size=st.booleans(),
)
def test_the_resampler_is_pytorchs_in_two_and_three_dimensions(torch, spatial, scales, mode, dtype, by_size):
    scales = tuple(scales[: len(spatial)])
    size = kernels.upsample_size(spatial, scales)
    if min(size) < 1:
        return
    x = np.random.default_rng(len(spatial)).standard_normal((1, 2, *spatial)).astype(dtype)
    if by_size:  # the size given: PyTorch steps by in/out
        close(kernels.upsample(x, size, mode), interpolate(torch, x, mode, size=size), dtype)
    else:
        close(kernels.upsample(x, size, mode, scales), interpolate(torch, x, mode, scale_factor=scales), dtype)


def interpolate(torch, x, mode, **resize):
    rank = x.ndim - 2
    torch_mode = "nearest" if mode == "nearest" else {1: "linear", 2: "bilinear", 3: "trilinear"}[rank]
    options = {} if mode == "nearest" else {"align_corners": False}
    return torch.nn.functional.interpolate(torch.from_numpy(x), mode=torch_mode, **resize, **options).numpy()


def close(actual, expected, dtype):
    assert actual.shape == expected.shape
    # In float32 PyTorch's source position may differ from NumPy's by an ulp (1.5e-5 at 180: fused multiply-adds),
    # and the weight with it; a wrong nearest index is off by ~1 on N(0, 1) inputs. float64 is held to 1e-12.
    tolerance = {"rtol": 1e-5, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    np.testing.assert_allclose(actual, expected, **tolerance)


# -- symbolic sizes ---------------------------------------------------------------------------------------------
def symbolic_rule(scale):
    text = f"name: t\ninput: [1, H]\nlayers:\n  - upsample: {{scale: {scale!r}}}\n"
    report, _ = propagate_symbolic(parse_network(text, "t.yaml"))
    return report.layers[-1].output[2]


@settings(max_examples=200, deadline=None)
@given(
    numerator=st.integers(1, 2**22 - 1),
    exponent=st.integers(0, 30),
    sizes=st.lists(st.integers(1, 2**31 - 1), min_size=1, max_size=5),
)
def test_a_symbolic_size_with_an_exact_scale_agrees_with_the_concrete_rule(numerator, exponent, sizes):
    """Scales p / 2^e with p < 2^22 make H * scale exact in double precision: floor(H * p / 2^e) is PyTorch's."""
    scale = numerator / 2**exponent
    rule = symbolic_rule(scale)
    for n in sizes:
        if int(float(n) * scale) >= 1:
            assert evaluate(rule, {"H": n}) == int(float(n) * scale), (scale, n)


@pytest.mark.parametrize("scale", [0.29, 1 / 3, 0.1, 2**22 + 1.0, 1.0000001])
def test_a_symbolic_size_with_an_inexact_scale_is_refused(scale):
    with pytest.raises(CnnCalcError) as caught:
        symbolic_rule(scale)
    assert f"upsample: scale {scale!r} on the symbolic size H: PyTorch computes floor(size x scale)" in str(
        caught.value
    )
    assert caught.value.location.line == 4
