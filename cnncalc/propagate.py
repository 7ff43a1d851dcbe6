"""Shape propagation and counting: walk the nodes in order, apply each kind's rule, and total the counts.

Sizes may be whole numbers or symbols: with symbols, the size rules' undecided comparisons are recorded as
conditions (``propagate_symbolic``), and a symbolic report can be evaluated at sizes (``evaluate_report``).
Returns plain frozen data; rendering is elsewhere.
"""

from __future__ import annotations

from math import prod
from typing import NamedTuple

from .errors import CnnCalcError, UsageError
from .gcpause import gc_paused
from .network import INPUT, Group, Network, outputs_of
from .registry import MAX_SIZE, REGISTRY, Operand, Weight, bind, format_shape, suggest
from .symbolic.algebra import Sym, evaluate, is_symbolic
from .symbolic.recording import Recorded, active_collector, collecting

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


class LayerResult(NamedTuple):
    """What one layer produces and costs. Shapes include the batch; counts are for the whole batch."""

    path: str
    kind: str
    output: tuple
    params: int
    buffers: int
    macs: int
    flops: int
    activations: int
    weights: tuple[Weight, ...]
    inputs: tuple[int, ...]
    line: int


class Totals(NamedTuple):
    """Params and buffers are every layer's, the auxiliary heads' included (they are in the model and its
    checkpoints). MACs, FLOPs and activations are the inference pass, which does not run the heads (torchvision
    runs them in training only); the heads' own are the ``aux_`` figures."""

    params: int
    buffers: int
    macs: int
    flops: int
    activations: int
    activation_bytes: int
    param_bytes: int
    input_bytes: int
    aux_macs: int = 0
    aux_flops: int = 0
    aux_activations: int = 0


class OutputResult(NamedTuple):
    """One output of the network: the layer giving it, the aux group it ends (None for the main one), its shape."""

    path: str
    aux: str | None
    shape: tuple
    index: int


class Report(NamedTuple):
    """The result of propagating a network at one input size, batch and dtype.

    ``output`` is the main output's shape; ``outputs`` lists every output, main first. See Totals for what the
    totals include when there are auxiliary heads.
    """

    name: str
    file: str
    input: tuple
    output: tuple
    dtype: str
    layers: tuple[LayerResult, ...]
    groups: tuple[Group, ...]
    totals: Totals
    outputs: tuple[OutputResult, ...] = ()


def propagate(network: Network, batch: int = 1, dtype: str = "float32") -> Report:
    """Compute every layer's output shape, weights and counts; the first broken rule raises CnnCalcError."""
    with gc_paused():
        return _propagate(network, batch, dtype)


def _propagate(network: Network, batch: int, dtype: str, counts: bool = True) -> Report:
    shapes: list[tuple] = []
    results: list[LayerResult] = []

    def shape_of(index: int) -> tuple:
        return network.input if index == INPUT else shapes[index]

    collector = active_collector()  # set while propagating symbolic sizes: conditions are recorded per layer
    memo: dict = {}  # see _memo_key; a layer that is not memoised has the key None, never stored
    for node in network.nodes:
        if collector is not None:
            collector.at(node.path, node.location)
        kind = REGISTRY[node.kind]
        if kind.multi_input:
            x = [Operand(network.nodes[i].path if i != INPUT else "input", shape_of(i)) for i in node.inputs]
            names = node.names
        else:
            x = shape_of(node.inputs[0])
            names = {**node.names, "in_channels": x[0]}
        key = _memo_key(node, names, x) if collector is None else None
        try:
            if key in memo:
                y, weights, macs, flops = memo[key]
            else:
                arguments = bind(kind, node.raw, names, x)
                y = kind.output(arguments, x)
                weights = tuple(kind.weights(arguments, x))
                macs = kind.macs(arguments, x, y) if counts else 0
                flops = kind.flops(arguments, x, y) if counts else 0
                if any(size > MAX_SIZE for size in y if isinstance(size, int)):  # a symbolic size has no limit
                    raise CnnCalcError(
                        f"output size {format_shape(y)} is above the limit of {MAX_SIZE:,} per dimension"
                    )
                if key is not None:
                    memo[key] = y, weights, macs, flops
        except CnnCalcError as error:
            if error.location is None and not kind.multi_input and format_shape(x) not in error.message:
                error.message += f" (input {format_shape(x)})"
            if error.location is None and error.argument in node.raw:
                error.location = node.raw.location_of(error.argument)
            for block, site in node.uses:
                error.used_in(block, site)
            raise error.located(node.location, node.path) from None
        shapes.append(y)
        results.append(
            LayerResult(
                path=node.path,
                kind=node.kind,
                output=(batch, *y),
                params=sum(w.size for w in weights if w.trainable),
                buffers=sum(w.size for w in weights if not w.trainable),
                macs=batch * macs,
                flops=batch * flops,
                activations=batch * prod(y),
                weights=weights,
                inputs=node.inputs,
                line=node.location.line,
            )
        )
    outputs = tuple(
        OutputResult(results[out.index].path, out.aux, results[out.index].output, out.index)
        for out in outputs_of(network)
    )
    return Report(
        network.name,
        network.file,
        (batch, *network.input),
        outputs[0].shape,
        dtype,
        tuple(results),
        network.groups,
        _totals(results, _in_aux_heads(network, results), batch * prod(network.input), DTYPE_BYTES[dtype]),
        outputs,
    )


def _memo_key(node, names: dict, x) -> tuple | None:
    """Layers written once and used many times (a block in a repeat) with the same arguments and input compute
    the same: propagate them once. Only for concrete single-input layers whose names can be hashed."""
    if not isinstance(x, tuple):
        return None
    try:
        key = node.kind, id(node.raw), tuple(sorted(names.items())), x
        hash(key)
        return key
    except TypeError:
        return None


def _in_aux_heads(network: Network, layers: list[LayerResult]) -> list[bool]:
    """Whether each layer lies in an auxiliary head (the group an auxiliary output ends)."""
    heads = tuple(out.aux + "." for out in outputs_of(network) if out.aux is not None)
    return [bool(heads) and layer.path.startswith(heads) for layer in layers]


def _totals(layers: list[LayerResult], in_aux: list[bool], input_elements: int, width: int) -> Totals:
    params = sum(layer.params for layer in layers)
    main = [layer for layer, aux in zip(layers, in_aux) if not aux]
    heads = [layer for layer, aux in zip(layers, in_aux) if aux]
    activations = sum(layer.activations for layer in main)
    return Totals(
        params=params,
        buffers=sum(layer.buffers for layer in layers),
        macs=sum(layer.macs for layer in main),
        flops=sum(layer.flops for layer in main),
        activations=activations,
        activation_bytes=activations * width,
        param_bytes=params * width,
        input_bytes=input_elements * width,
        aux_macs=sum(layer.macs for layer in heads),
        aux_flops=sum(layer.flops for layer in heads),
        aux_activations=sum(layer.activations for layer in heads),
    )


# -- symbolic sizes -----------------------------------------------------------------------------------------
def symbols_of(network: Network, batch) -> list[str]:
    """The size symbols of the input and the batch, in order of appearance."""
    names: list[str] = []
    for size in (batch, *network.input):
        for name in sorted(size.symbols) if isinstance(size, Sym) else ():
            if name not in names:
                names.append(name)
    return names


def propagate_symbolic(network: Network, batch=1, dtype: str = "float32") -> tuple[Report, list[Recorded]]:
    """Propagate with whatever symbols the input and batch hold; returns the report and its conditions."""
    with collecting() as collector:
        report = propagate(network, batch, dtype)
    return report, collector.items


def conditions_of(network: Network) -> list[Recorded]:
    """The conditions of a symbolic propagation, without the MACs and FLOPs: what ``sizes`` needs, whose work
    stays linear in the network whatever expressions the counts would grow to."""
    with collecting() as collector, gc_paused():
        _propagate(network, 1, "float32", counts=False)
    return collector.items


def size_binding(network: Network, batch, settings: dict) -> dict | None:
    """The ``--set`` values that are not the description's ``args:``: sizes of the input's and batch's symbols
    (None when there are none). A name that is neither is a usage error with a suggestion."""
    rest = {name: value for name, value in settings.items() if name not in (network.args or {})}
    if not rest:
        return None
    symbols, arguments = symbols_of(network, batch), sorted(network.args or {})
    if not symbols and not arguments:
        raise UsageError(
            "--set needs size symbols in the input or batch (e.g. --input 3xHxW) or names declared in the"
            f" description's 'args:', received {', '.join(rest)}"
        )
    for name, value in rest.items():
        if name not in symbols:
            takes = [
                *([f"the description's args ({', '.join(arguments)})"] if arguments else []),
                *([f"the size symbols ({', '.join(symbols)})"] if symbols else []),
            ]
            raise UsageError(
                f"--set: unknown name '{name}'{suggest(name, [*arguments, *symbols])}; it sets {' and '.join(takes)}"
            )
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UsageError(f"--set {name}: a size is a whole number >= 1, received {value!r}")
    return rest


def propagate_any(
    network: Network, batch=1, dtype: str = "float32", binding: dict | None = None
) -> tuple[Report, list[Recorded]]:
    """Concrete propagation for whole numbers, symbolic otherwise; ``binding`` evaluates a symbolic report."""
    if not is_symbolic((batch, *network.input)):
        if binding:
            raise UsageError("--set needs size symbols in the input or batch, e.g. --input 3xHxW")
        return propagate(network, batch, dtype), []
    report, conditions = propagate_symbolic(network, batch, dtype)
    if binding is None:
        return report, conditions
    return evaluate_report(network, batch, report, conditions, binding), []


def evaluate_report(network: Network, batch, report: Report, conditions: list[Recorded], binding: dict) -> Report:
    """The symbolic report at ``binding``; a violated condition raises the error concrete propagation gives."""
    names = symbols_of(network, batch)
    unknown = sorted(set(binding) - set(names))
    missing = [name for name in names if name not in binding]
    if unknown or missing:
        raise UsageError(
            f"--set must give a value to each size symbol ({', '.join(names)}); "
            + (f"unknown: {', '.join(unknown)}" if unknown else f"missing: {', '.join(missing)}")
        )
    for item in conditions:
        if item.rule != "exact" and not item.condition.evaluate(binding):
            concrete = network._replace(input=evaluate(network.input, binding))
            propagate(concrete, evaluate(batch, binding), report.dtype)  # raises the located error
            raise CnnCalcError(item.message, item.location, item.layer)  # not reached: the rules agree

    def at(value):
        return evaluate(value, binding)

    layers = tuple(
        layer._replace(
            output=at(layer.output),
            params=at(layer.params),
            buffers=at(layer.buffers),
            macs=at(layer.macs),
            flops=at(layer.flops),
            activations=at(layer.activations),
            weights=tuple(Weight(w.name, at(w.shape), w.trainable) for w in layer.weights),
        )
        for layer in report.layers
    )
    totals = Totals(**{name: at(value) for name, value in report.totals._asdict().items()})
    outputs = tuple(out._replace(shape=at(out.shape)) for out in report.outputs)
    return report._replace(
        input=at(report.input), output=at(report.output), layers=layers, totals=totals, outputs=outputs
    )


def at_resolutions(network: Network, resolutions: list[int], batch=1, dtype: str = "float32") -> list[Report]:
    """Concrete reports with every spatial size set to each resolution in turn (square inputs)."""
    if len(network.input) < 2:
        raise UsageError(f"--at needs an input with spatial sizes, this network's input is {network.input}")
    reports = []
    for size in resolutions:
        shape = (network.input[0], *(size,) * (len(network.input) - 1))
        reports.append(propagate(network._replace(input=shape), batch, dtype))
    return reports
