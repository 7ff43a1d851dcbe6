"""Every kind at every rank: what cnncalc accepts, PyTorch runs, to the same shape.

The class of ``lrn`` after ``flatten`` (a rank PyTorch refuses, accepted here): each row of the kind table of
tests/test_kinds.py is tried on inputs of one to four dimensions per sample, at random sizes. Wherever the shape
rule accepts the input, the PyTorch oracle (tests/torch_model.py, torch.nn modules) must run it too and give the
same output shape. cnncalc may be stricter than PyTorch, never looser.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_kinds import TABLE

from cnncalc.errors import CnnCalcError
from cnncalc.load import parse_network
from cnncalc.propagate import propagate
from cnncalc.registry import REGISTRY

torch = pytest.importorskip("torch")
from torch_model import TorchModel  # noqa: E402  (needs torch)

SCALE = int(os.environ.get("CNNCALC_FUZZ_SCALE", "1"))
SINGLE_INPUT = [row for row in TABLE if not REGISTRY[row[0].split(":")[0]].multi_input]


@pytest.mark.parametrize("rank", [1, 2, 3, 4])
@pytest.mark.parametrize("row", range(len(SINGLE_INPUT)), ids=lambda i: SINGLE_INPUT[i][0])
def test_an_accepted_rank_is_one_pytorch_runs(row, rank):
    layer, input_shape = SINGLE_INPUT[row][:2]
    check_rank(layer, [input_shape[0], *[7] * (rank - 1)])


@settings(max_examples=150 * SCALE, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=st.integers(0, len(SINGLE_INPUT) - 1), spatial=st.lists(st.integers(1, 12), max_size=3))
def test_an_accepted_shape_is_one_pytorch_runs(row, spatial):
    layer, input_shape = SINGLE_INPUT[row][:2]
    # Known, not fixed yet (reported with issue 10): PyTorch's avg_pool3d refuses an input smaller than the kernel
    # in any dimension even when the padding makes up for it; 1-D and 2-D average pooling do not.
    assume(not (layer.startswith("avgpool") and len(spatial) == 3 and min(spatial) < 3))
    check_rank(layer, [input_shape[0], *spatial])


def check_rank(layer: str, shape: list) -> None:
    text = f"name: t\ninput: {shape}\nlayers:\n  - {layer}\n"
    try:
        network = parse_network(text, "t.yaml")
        expected = propagate(network).layers[-1].output
    except CnnCalcError:
        return  # refused: PyTorch may or may not run it
    model = TorchModel(network)
    output = model(torch.zeros((1, *shape)).numpy())
    assert output.shape == expected, (layer, shape)
