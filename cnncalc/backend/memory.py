"""Memory of an execution: when each activation can be freed, and the peak estimated before allocating anything.

Static (no NumPy): the estimate is made from the propagated shapes so that a run too large for ``--max-memory``
is refused before the first array exists. What each kernel allocates beside its output is declared with the
kernels (``execute.WORKSPACE``) and read only when an estimate is made, on the way to a run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from math import prod

from ..errors import UsageError
from ..network import INPUT
from ..propagate import DTYPE_BYTES, Report
from ..units import parse_quantity

DEFAULT_LIMIT = "4GiB"


def memory_limit(text: str) -> int:
    """The byte count of ``--max-memory``, read like every other size (units.parse_quantity)."""
    try:
        return parse_quantity(text, "bytes", "--max-memory")
    except ValueError as error:
        raise UsageError(str(error)) from None


def human_bytes(size: int) -> str:
    """Binary units, as the limit is usually given: ``1.50 GiB``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.2f} {unit}"
    return f"{size} B"


def last_uses(inputs: list[tuple[int, ...]]) -> dict[int, int]:
    """For each producer (node index or INPUT), the index of the last node that reads it."""
    last: dict[int, int] = {}
    for index, producers in enumerate(inputs):
        for producer in producers:
            last[producer] = index
    return last


#: What the process holds besides the arrays: the interpreter, NumPy and its BLAS buffers (measured about 40 MB).
OVERHEAD = 64 * 2**20


@dataclass(frozen=True)
class Estimate:
    """The estimated peak: a fixed overhead and the weights, plus the live activations and workspace at the worst
    layer. ``arrays`` is the part made of arrays."""

    peak: int
    weights: int
    activations: int
    workspace: int
    layer: str

    @property
    def arrays(self) -> int:
        return self.weights + self.activations + self.workspace


def estimate(report: Report, workspace_rules: Mapping[str, Callable[..., int]], dtype: str = "float32") -> Estimate:
    """Simulate the run's allocations: each output lives from its layer to its last reader; the network's
    outputs (the main one and any auxiliary ones) stay.

    ``workspace_rules`` are the kernels' own (``execute.WORKSPACE``): kind -> temporary elements beside the output.
    """
    width = DTYPE_BYTES[dtype]
    layers = report.layers
    last = last_uses([layer.inputs for layer in layers])
    kept = {out.index for out in report.outputs} or {len(layers) - 1}
    weights = sum(weight.size for layer in layers for weight in layer.weights) * width
    shapes = {INPUT: report.input}
    live = {INPUT: prod(report.input)}
    worst = (0, 0, layers[0].path)
    for index, layer in enumerate(layers):
        shapes[index] = layer.output
        output_elements = prod(layer.output)
        input_elements = sum(prod(shapes[producer]) for producer in set(layer.inputs))
        during = sum(live.values()) + output_elements
        rule = workspace_rules.get(layer.kind)
        workspace = rule(layer, shapes[layer.inputs[0]], input_elements) if rule is not None else 0
        if during + workspace > sum(worst[:2]):
            worst = (during, workspace, layer.path)
        live[index] = output_elements
        for producer in set(layer.inputs):
            if last.get(producer) == index and producer not in kept:
                live.pop(producer, None)
    activations, workspace, path = worst
    return Estimate(
        OVERHEAD + weights + (activations + workspace) * width, weights, activations * width, workspace * width, path
    )
