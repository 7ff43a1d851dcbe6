"""The cross-check: run the network for real and compare each executed shape with the propagated one.

``run`` is what ``cnncalc run`` does and ``verify`` what ``cnncalc check --execute`` does for one network.
Input and output files are read and written here; printing is left to the CLI and ``view``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..atomic import check_writable, write_atomic
from ..errors import CnnCalcError, UsageError
from ..network import Network
from ..propagate import Report
from ..registry import format_shape
from . import weights as weight_files
from .execute import WORKSPACE, forward
from .memory import DEFAULT_LIMIT, OVERHEAD, Estimate, estimate, human_bytes, memory_limit
from .npyfiles import NpyFile

RUN_DTYPES = ("float32", "float64")

#: Which FLOPs the achieved GFLOP/s divides: the propagator's count, stated wherever the figure is shown.
FLOPS_BASIS = "propagator FLOPs, 2 per MAC"


@dataclass(frozen=True)
class LayerCheck:
    """One layer of a run: the shape the propagator computed, the shape the array had, and the kernel time."""

    path: str
    kind: str
    computed: tuple
    executed: tuple
    seconds: float

    @property
    def match(self) -> bool:
        return self.computed == self.executed


@dataclass(frozen=True)
class RunResult:
    """A finished (or, at a mismatch, stopped) run. Shapes include the batch."""

    name: str
    file: str
    dtype: str
    input: tuple
    seed: int
    weights: str
    layers: tuple[LayerCheck, ...]
    total_layers: int
    flops: int
    memory: Estimate
    output: Any = field(default=None, compare=False, repr=False)
    #: every output, main first: (the layer's path, the aux group or None, the array); empty after a mismatch
    outputs: tuple = field(default=(), compare=False, repr=False)

    @property
    def seconds(self) -> float:
        return sum(layer.seconds for layer in self.layers)

    @property
    def mismatch(self) -> LayerCheck | None:
        return next((layer for layer in self.layers if not layer.match), None)

    @property
    def finite(self) -> bool:
        """Whether every output holds only finite numbers (random weights can overflow a deep network)."""
        arrays = [array for _, _, array in self.outputs] or ([] if self.output is None else [self.output])
        return all(is_finite(array) for array in arrays)

    @property
    def gflops(self) -> float:
        return self.flops / self.seconds / 1e9 if self.seconds and self.mismatch is None else 0.0


def is_finite(array: np.ndarray) -> bool:
    return bool(np.isfinite(array).all())


def check_memory(report: Report, dtype: str, limit: int) -> Estimate:
    """Refuse a run whose estimated peak is above ``limit`` bytes, before anything is allocated."""
    peak = estimate(report, WORKSPACE, dtype)
    if peak.peak > limit:
        raise CnnCalcError(
            f"the run needs an estimated {human_bytes(peak.peak)} ({human_bytes(peak.weights)} of weights, "
            f"{human_bytes(peak.activations)} of live activations and {human_bytes(peak.workspace)} of workspace at "
            f"layer {peak.layer}), above --max-memory {human_bytes(limit)}; lower --batch or --input, or raise "
            f"--max-memory"
        )
    return peak


def make_input(report: Report, seed: int, dtype: str, path: str | None = None) -> np.ndarray:
    """The input batch: the array in ``path`` (.npy), its shape and element type checked from its header before
    it is read, or seeded noise."""
    if path is None:
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
        return rng.standard_normal(report.input, dtype=np.float32).astype(dtype, copy=False)
    what = "input data file"
    with NpyFile(path, what) as file:
        if file.header.shape != tuple(report.input):
            raise CnnCalcError(
                f"input data {path} has shape {format_shape(file.header.shape) or 'scalar'}, expected "
                f"{format_shape(report.input)} (batch {report.input[0]}, input {format_shape(report.input[1:])}); "
                f"set --batch and --input to match the data"
            )
        if not file.header.numeric:
            raise CnnCalcError(f"input data {path} holds {file.header.dtype}, not numbers")
        data = file.read()
    return data.astype(dtype, copy=False)


def run(
    network: Network,
    report: Report,
    *,
    seed: int = 0,
    weights_file: str | None = None,
    input_file: str | None = None,
    dtype: str = "float32",
    max_memory: int | str = DEFAULT_LIMIT,
    save_to: str | None = None,
    on_layer: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Execute ``network`` (propagated as ``report``) and compare shapes; stops at the first mismatch.

    The main output is written to ``save_to`` (.npy) when every shape matched, each auxiliary output beside it
    (``aux_path``). ``on_layer(done, total)`` is called after each layer, for a progress display.
    """
    if dtype not in RUN_DTYPES:
        raise UsageError(f"the NumPy backend runs float32 or float64, received {dtype}")
    limit = memory_limit(max_memory) if isinstance(max_memory, str) else max_memory
    if save_to is not None:
        for path in [save_to, *(aux_path(save_to, out.aux) for out in report.outputs[1:])]:
            check_writable(path, _save_failure(path))  # before the run, not after it
    peak = check_memory(report, dtype, limit)
    x = make_input(report, seed, dtype, input_file)
    if weights_file is None:
        arrays, source = weight_files.initialise(report, seed, dtype), f"random, seed {seed}"
    else:
        held = OVERHEAD + x.nbytes  # what the process holds before the weights are read
        arrays, source = weight_files.load(weights_file, report, dtype, limit - held), weights_file
    checks: list[LayerCheck] = []
    wanted = {out.index: out for out in report.outputs} or {len(network.nodes) - 1: None}
    produced: dict[int, Any] = {}
    for step in forward(network, arrays, x):
        if step.index == 0:
            del x  # forward() holds the input as long as a layer still reads it
        computed = report.layers[step.index].output
        checks.append(
            LayerCheck(step.node.path, step.node.kind, tuple(computed), tuple(step.output.shape), step.seconds)
        )
        if on_layer is not None:
            on_layer(step.index + 1, len(network.nodes))
        if not checks[-1].match:
            break
        if step.index in wanted:
            produced[step.index] = step.output
    matched = len(checks) == len(network.nodes) and checks[-1].match
    outputs = tuple(
        (out.path, out.aux, produced[index]) if out is not None else (checks[-1].path, None, produced[index])
        for index, out in (wanted.items() if matched else ())
    )
    result = RunResult(
        report.name,
        report.file,
        dtype,
        tuple(report.input),
        seed,
        source,
        tuple(checks),
        len(network.nodes),
        report.totals.flops,
        peak,
        outputs[0][2] if matched else None,
        outputs if matched else (),
    )
    if save_to is not None and result.mismatch is None:
        save_output(save_to, result.output)
        for _, aux, array in outputs[1:]:
            save_output(aux_path(save_to, aux), array)
    return result


def aux_path(path: str, aux: str) -> str:
    """Where ``--save-output OUT.npy`` writes the auxiliary output of the aux group ``aux``: ``OUT.aux1.npy``."""
    stem = path[:-4] if path.endswith(".npy") else path
    return f"{stem}.{aux}.npy"


def mismatch_error(network: Network, result: RunResult) -> CnnCalcError:
    """The error for the first layer whose executed shape differs from the computed one."""
    layer = result.mismatch
    node = next(node for node in network.nodes if node.path == layer.path)
    return CnnCalcError(
        f"executed shape {format_shape(layer.executed)} differs from the computed shape "
        f"{format_shape(layer.computed)} ({layer.kind})",
        node.location,
        layer.path,
    )


def verify(network: Network, report: Report, max_memory: int | str = DEFAULT_LIMIT) -> RunResult:
    """The cross-check with random weights and input (seed 0); a mismatch raises CnnCalcError."""
    result = run(network, report, max_memory=max_memory)
    if result.mismatch is not None:
        raise mismatch_error(network, result)
    return result


def check_command(network: Network, report: Report) -> str:
    """``check --execute`` for one network already propagated as ``report``: the words added to its 'ok' line."""
    result = verify(network, report)
    return f"; executed: {len(result.layers)} shapes match, {result.seconds:.2f} s"


def _save_failure(path: str) -> str:
    return f"cannot save the output to {path}"


class _Unseekable:
    """A file seen only through ``write``: NumPy then writes the array in chunks instead of ``tofile``, which
    asks for the file position and so fails on a FIFO (``--save-output`` is written through FIFOs, atomic.py)."""

    def __init__(self, stream) -> None:
        self.write = stream.write


def save_output(path: str, array: np.ndarray) -> None:
    """Write ``array`` as .npy: atomically onto a regular file, through a FIFO or a device (atomic.py)."""
    write_atomic(
        path, lambda stream: np.save(_Unseekable(stream), array, allow_pickle=False), failure=_save_failure(path)
    )
