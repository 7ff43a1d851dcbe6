"""Size formulas as parameter tables, checked against PyTorch's documented formulas (and PyTorch itself)."""

from __future__ import annotations

import math

import pytest

from cnncalc import formulas
from cnncalc.errors import CnnCalcError


def torch_conv_formula(n, k, s, p, d):
    """PyTorch Conv2d docs: floor((in + 2p - d(k-1) - 1) / s + 1)."""
    return math.floor((n + 2 * p - d * (k - 1) - 1) / s + 1)


def torch_pool_ceil_formula(n, k, s, p, d):
    """PyTorch pooling_output_shape: ceil division, then drop a window that starts in the right padding."""
    out = math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


# in, kernel, stride, pad, dilation, floor result, ceil result
CASES = [
    (227, 11, 4, 0, 1, 55, 55),  # AlexNet conv1
    (224, 11, 4, 0, 1, 54, 55),  # the famous 224 vs 227 mismatch
    (224, 11, 4, 2, 1, 55, 56),  # torchvision AlexNet conv1
    (55, 3, 2, 0, 1, 27, 27),  # overlapping max pool
    (112, 3, 2, 1, 1, 56, 57),  # ResNet max pool
    (56, 3, 1, 1, 1, 56, 56),  # 'same' 3x3
    (14, 3, 2, 1, 1, 7, 8),
    (7, 7, 1, 0, 1, 1, 1),
    (10, 3, 1, 0, 2, 6, 6),  # dilation 2: span 5
    (10, 3, 3, 0, 1, 3, 4),  # ceil adds a partial window
    (6, 2, 2, 1, 1, 4, 4),  # padding on both sides
    (5, 2, 2, 1, 1, 3, 3),  # ceil's extra window would start in the right padding: dropped
    (32, 5, 1, 0, 1, 28, 28),  # LeNet C1
    (1, 1, 1, 0, 1, 1, 1),
    (8, 3, 2, 0, 1, 3, 4),
    (9, 3, 2, 0, 1, 4, 4),
]


@pytest.mark.parametrize("n,k,s,p,d,floor_out,ceil_out", CASES)
def test_window_output_size_table(n, k, s, p, d, floor_out, ceil_out):
    assert formulas.window_output_size(n, k, s, (p, p), d) == floor_out == torch_conv_formula(n, k, s, p, d)
    assert formulas.window_output_size(n, k, s, (p, p), d, ceil_mode=True) == ceil_out
    assert ceil_out == torch_pool_ceil_formula(n, k, s, p, d)


@pytest.mark.parametrize("n", range(1, 40))
@pytest.mark.parametrize("k,s,p,d", [(3, 2, 1, 1), (2, 2, 0, 1), (5, 3, 2, 1), (3, 1, 0, 2), (4, 3, 1, 2)])
def test_window_output_size_matches_documented_formulas(n, k, s, p, d):
    if d * (k - 1) + 1 > n + 2 * p:
        with pytest.raises(CnnCalcError, match="larger than the padded input"):
            formulas.window_output_size(n, k, s, (p, p), d)
        return
    assert formulas.window_output_size(n, k, s, (p, p), d) == torch_conv_formula(n, k, s, p, d)
    assert formulas.window_output_size(n, k, s, (p, p), d, True) == torch_pool_ceil_formula(n, k, s, p, d)


def test_asymmetric_padding_counts_both_sides():
    assert formulas.window_output_size(10, 3, 2, (0, 1)) == 5
    assert formulas.window_output_size(10, 3, 2, (1, 0)) == 5
    assert formulas.window_output_size(10, 3, 2, (1, 1)) == 5
    assert formulas.window_output_size(11, 3, 2, (0, 0)) == 5


@pytest.mark.parametrize(
    "n,k,s,d,expected",
    [
        (224, 3, 1, 1, (1, 1)),
        (224, 4, 1, 1, (1, 2)),
        (224, 3, 2, 1, (0, 1)),
        (225, 3, 2, 1, (1, 1)),
        (7, 7, 1, 1, (3, 3)),
        (10, 3, 1, 2, (2, 2)),
        (5, 1, 2, 1, (0, 0)),
        (3, 5, 4, 1, (1, 1)),
    ],
)
def test_same_padding_gives_ceil_of_in_over_stride(n, k, s, d, expected):
    padding = formulas.same_padding(n, k, s, d)
    assert padding == expected
    assert formulas.window_output_size(n, k, s, padding, d) == math.ceil(n / s)


# in, kernel, stride, pad, dilation, output_padding, expected (PyTorch ConvTranspose2d docs formula)
TRANSPOSED = [
    (28, 2, 2, 0, 1, 0, 56),
    (7, 4, 2, 1, 1, 0, 14),
    (7, 3, 2, 1, 1, 1, 14),
    (5, 3, 1, 0, 2, 0, 9),
    (1, 1, 1, 0, 1, 0, 1),
]


@pytest.mark.parametrize("n,k,s,p,d,op,expected", TRANSPOSED)
def test_transposed_output_size(n, k, s, p, d, op, expected):
    assert formulas.transposed_output_size(n, k, s, (p, p), d, op) == expected
    assert expected == (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def test_transposed_output_below_one_is_an_error():
    with pytest.raises(CnnCalcError, match="output size -1 is below 1"):
        formulas.transposed_output_size(1, 1, 1, (1, 1))


def test_kernel_larger_than_padded_input_names_both():
    with pytest.raises(CnnCalcError, match=r"kernel 5 \(dilated to 9\) is larger than the padded input 6"):
        formulas.window_output_size(4, 5, 1, (1, 1), 2)


@pytest.mark.parametrize("n,m", [(7, 7), (13, 6), (10, 3), (5, 7), (224, 1), (6, 4)])
def test_adaptive_window_total_matches_explicit_windows(n, m):
    windows = [(math.floor(i * n / m), math.ceil((i + 1) * n / m)) for i in range(m)]
    assert formulas.adaptive_window_total(n, m) == sum(end - start for start, end in windows)


@pytest.mark.parametrize("n,k,s,p,d,floor_out,ceil_out", CASES)
def test_against_pytorch_itself(n, k, s, p, d, floor_out, ceil_out):
    torch = pytest.importorskip("torch")
    x = torch.zeros(1, 1, n)
    assert torch.nn.functional.conv1d(x, torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1] == floor_out
    if 2 * p <= d * (k - 1) + 1:
        pooled = torch.nn.functional.max_pool1d(x, k, s, p, d, ceil_mode=True)
        assert pooled.shape[-1] == ceil_out
