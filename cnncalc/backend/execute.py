"""The forward pass: one NumPy kernel per layer kind, run node by node over real arrays.

Shapes here come only from the arrays the kernels produce. Nothing in this module asks the propagator or the
size formulas (``cnncalc.sizes``, ``LayerKind.output``) for a shape: layer arguments are bound against the
shapes of the actual input arrays, and 'same' padding is resolved from the actual sizes, so that comparing
the two engines is a real cross-check. Each activation is dropped as soon as the last layer reading it has run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from math import prod
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import CnnCalcError
from ..network import INPUT, Network, Node, outputs_of
from ..registry import REGISTRY, SELF, Operand, bind
from . import kernels as K
from .memory import last_uses

if TYPE_CHECKING:
    from ..propagate import LayerResult

Kernel = Callable[[SimpleNamespace, list, dict], np.ndarray]
Workspace = Callable[["LayerResult", tuple, int], int]


def resolve_padding(padding, spatial: tuple, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """(before, after) per spatial dimension for 'valid', 'same' or explicit padding.

    'same' follows TensorFlow: the output is ceil(in / stride); total = max((ceil(in / stride) - 1) * stride
    + dilation * (kernel - 1) + 1 - in, 0), split with the odd element after. Written here on purpose rather
    than imported, so that the backend shares no size arithmetic with the propagator.
    """
    if padding == "valid":
        return tuple((0, 0) for _ in spatial)
    if padding != "same":
        return padding
    pairs = []
    for size, k, s, d in zip(spatial, kernel, stride, dilation):
        steps = -(-size // s)
        total = max((steps - 1) * s + d * (k - 1) + 1 - size, 0)
        pairs.append((total // 2, total - total // 2))
    return tuple(pairs)


def _pool_stride(a: SimpleNamespace) -> tuple:
    return a.kernel if a.stride is None else a.stride


def _conv(a, xs, w):
    x = xs[0]
    pads = resolve_padding(a.padding, x.shape[2:], a.kernel, a.stride, a.dilation)
    return K.conv(x, w["weight"], w.get("bias"), a.stride, pads, a.dilation, a.groups)


def _conv_workspace(layer: LayerResult, input_shape: tuple, input_elements: int) -> int:
    """The im2col columns (input channels x kernel elements for every output position; none for a 1x1 kernel),
    the padded input and, for a batch of small maps run as one matmul, the channels-first product.

    The padded input is counted as twice the input, or as the input grown by kernel - 1 along each dim (at least
    the output's size) when that is larger: a small map with padding kernel // 2 (a 7x7 map, a 7x7 kernel) pads
    to 3.4x its size. A dilated kernel with padding wider than kernel - 1 is not bounded by this."""
    if not layer.weights:
        return 0
    kernel_shape = layer.weights[0].shape[2:]
    kernel, positions = prod(kernel_shape), prod(layer.output[2:])
    columns = prod(input_shape[:2]) * kernel * positions if kernel > 1 else 0
    grown = zip(input_shape[2:], layer.output[2:], kernel_shape)
    padded = prod(input_shape[:2]) * prod(max(size, out) + k - 1 for size, out, k in grown)
    batched = prod(layer.output) if layer.output[0] > 1 and positions < K._BATCHED_POSITIONS else 0
    return columns + max(2 * input_elements, padded) + batched


def _conv_transpose(a, xs, w):
    return K.conv_transpose(
        xs[0], w["weight"], w.get("bias"), a.stride, a.padding, a.output_padding, a.dilation, a.groups
    )


def _conv_transpose_workspace(layer: LayerResult, input_shape: tuple, input_elements: int) -> int:
    """The per-tap columns and the uncropped output buffer."""
    if not layer.weights:
        return 0
    columns = layer.output[0] * layer.output[1] * prod(layer.weights[0].shape[2:]) * prod(input_shape[2:])
    return columns + 2 * prod(layer.output)


def _padded_copy_workspace(layer: LayerResult, input_shape: tuple, input_elements: int) -> int:
    """A padded copy of the input and a partial result."""
    return 2 * input_elements


def _one_temporary_workspace(layer: LayerResult, input_shape: tuple, input_elements: int) -> int:
    """One temporary the size of the input beside the output (the max(x, 0) term of prelu, elu, mish)."""
    return input_elements


def _max_pool(a, xs, w):
    x, stride = xs[0], _pool_stride(a)
    pads = resolve_padding(a.padding, x.shape[2:], a.kernel, stride, a.dilation)
    return K.max_pool(x, a.kernel, stride, pads, a.dilation, a.ceil_mode)


def _avg_pool(a, xs, w):
    x, stride = xs[0], _pool_stride(a)
    pads = resolve_padding(a.padding, x.shape[2:], a.kernel, stride, (1,) * len(a.kernel))
    return K.avg_pool(x, a.kernel, stride, pads, a.ceil_mode, a.count_include_pad)


def _upsample(a, xs, w):
    x = xs[0]
    if a.size is not None:
        return K.upsample(x, a.size, a.mode)
    return K.upsample(x, K.upsample_size(x.shape[2:], a.scale), a.mode, a.scale)


def _batch_norm(a, xs, w):
    return K.batch_norm(xs[0], w.get("weight"), w.get("bias"), w["running_mean"], w["running_var"], a.eps)


def _linear(a, xs, w):
    x = xs[0]
    if not a.per_position and x.ndim != 2:
        raise ValueError("the input is not flattened and per_position is not set")
    return K.linear(x, w["weight"], w.get("bias"))


def _pad(a, xs, w):
    return K.pad(xs[0], a.padding, a.mode, 0.0 if a.value is None else a.value)


def _one_temporary_workspace(layer: LayerResult, input_shape: tuple, input_elements: int) -> int:
    """One temporary the size of the input (layer norm's squared deviations)."""
    return input_elements


def _blocks_workspace(blocks: int) -> Workspace:
    """``blocks`` work arrays of one block of a block-wise kernel (kernels.BLOCK elements, or the input if smaller)."""

    def rule(layer: LayerResult, input_shape: tuple, input_elements: int) -> int:
        return blocks * min(K.BLOCK, input_elements)

    return rule


def _pad_workspace(layer: LayerResult, input_shape: tuple, input_elements: int) -> int:
    """NumPy's pad copies each border strip through a temporary: at most the border, the output less the input."""
    return prod(layer.output) - input_elements


#: The kernel of every layer kind of the registry, by its YAML name.
KERNELS: dict[str, Kernel] = {
    "conv": _conv,
    "convtranspose": _conv_transpose,
    "maxpool": _max_pool,
    "avgpool": _avg_pool,
    "globalavgpool": lambda a, xs, w: K.global_avg_pool(xs[0]),
    "adaptiveavgpool": lambda a, xs, w: K.adaptive_avg_pool(xs[0], a.output),
    "flatten": lambda a, xs, w: K.flatten(xs[0]),
    "linear": _linear,
    "batchnorm": _batch_norm,
    "lrn": lambda a, xs, w: K.lrn(xs[0], a.size, a.alpha, a.beta, a.k),
    "dropout": lambda a, xs, w: K.dropout(xs[0], a.p),
    "stochasticdepth": lambda a, xs, w: K.stochastic_depth(xs[0]),
    "relu": lambda a, xs, w: K.relu(xs[0]),
    "relu6": lambda a, xs, w: K.relu6(xs[0]),
    "leakyrelu": lambda a, xs, w: K.leaky_relu(xs[0], a.slope),
    "prelu": lambda a, xs, w: K.prelu(xs[0], w["weight"]),
    "elu": lambda a, xs, w: K.elu(xs[0], a.alpha),
    "sigmoid": lambda a, xs, w: K.sigmoid(xs[0]),
    "hardsigmoid": lambda a, xs, w: K.hardsigmoid(xs[0]),
    "tanh": lambda a, xs, w: K.tanh(xs[0]),
    "gelu": lambda a, xs, w: K.gelu(xs[0]),
    "silu": lambda a, xs, w: K.silu(xs[0]),
    "hardswish": lambda a, xs, w: K.hardswish(xs[0]),
    "mish": lambda a, xs, w: K.mish(xs[0]),
    "identity": lambda a, xs, w: xs[0].copy(),
    "softmax": lambda a, xs, w: K.softmax(xs[0], axis=a.dim),
    "scale": lambda a, xs, w: K.scale(xs[0], w[SELF]),
    "upsample": _upsample,
    "add": lambda a, xs, w: K.add(*xs),
    "concat": lambda a, xs, w: K.concat(xs, axis=1),
    "mul": lambda a, xs, w: K.mul(*xs),
    "layernorm": lambda a, xs, w: K.layer_norm(xs[0], w["weight"], w["bias"], a.dim, a.eps),
    "permute": lambda a, xs, w: K.permute(xs[0], a.dims),
    "channelshuffle": lambda a, xs, w: K.channel_shuffle(xs[0], a.groups),
    "chunk": lambda a, xs, w: K.chunk(xs[0], a.chunks, a.index),
    "pad": _pad,
}

#: Temporary elements a kernel allocates beside its output, from the propagated shapes: what the memory estimate
#: adds at each layer before anything is allocated. A kind not listed allocates none.
WORKSPACE: dict[str, Workspace] = {
    "conv": _conv_workspace,
    "convtranspose": _conv_transpose_workspace,
    "maxpool": _padded_copy_workspace,
    "avgpool": _padded_copy_workspace,
    "lrn": _padded_copy_workspace,
    "upsample": _padded_copy_workspace,
    "prelu": _one_temporary_workspace,
    "elu": _one_temporary_workspace,
    "mish": _one_temporary_workspace,
    "layernorm": _one_temporary_workspace,
    "pad": _pad_workspace,
    "gelu": _blocks_workspace(K.GELU_TEMPORARY_BLOCKS),
    "silu": _blocks_workspace(1),
    "batchnorm": _blocks_workspace(1),  # the work array of an activation fused into it (FUSED)
}


def _relu_inplace(a, xs, w):
    return np.clip(xs[0], 0.0, np.inf, out=xs[0])  # np.clip: twice as fast as np.maximum, nan kept


def _batch_norm_inplace(a, xs, w):
    """The kernel written into its input when that is C-contiguous (the same operations, the same rounding)."""
    return _batch_norm_then(None)(a, xs, w, in_place=True)


def _batch_norm_then(activation: Callable | None) -> Callable:
    """Batch norm followed by ``activation`` (a kernels.*_block function) in one block-wise pass, into the input
    when ``in_place`` and it is C-contiguous."""

    def run(a, xs, w, in_place=False):
        x = xs[0]
        out = x if in_place and x.flags.c_contiguous else None
        weights = (w.get("weight"), w.get("bias"), w["running_mean"], w["running_var"])
        return K.batch_norm(x, *weights, a.eps, activation=activation, out=out)

    return run


def _join_in_place(kernel: Callable, ufunc) -> Kernel:
    """A broadcasting join written into its first input when that already has the output's shape (every other
    operand's sizes equal its own or are 1); otherwise the kernel makes a new array (or refuses the shapes)."""

    def run(a, xs, w):
        out = xs[0]
        fits = all(x.ndim == out.ndim and all(n in (1, m) for n, m in zip(x.shape, out.shape)) for x in xs[1:])
        if not fits:
            return kernel(*xs)
        for x in xs[1:]:
            ufunc(out, x, out=out)
        return out

    return run


def _relu6_inplace(a, xs, w):
    return np.clip(xs[0], 0, 6, out=xs[0])


def _hardsigmoid_inplace(a, xs, w):
    x = xs[0]
    x += 3
    np.clip(x, 0, 6, out=x)
    x /= 6
    return x


def _prelu_inplace(a, xs, w):
    """The kernel's min(x, 0) * weight + max(x, 0), with the positive part the only temporary."""
    x, slopes = xs[0], w["weight"]
    if slopes.shape not in ((1,), (x.shape[1],)):
        return K.prelu(x, slopes)  # let the kernel refuse
    positive = np.maximum(x, 0)
    np.minimum(x, 0, out=x)
    x *= slopes.astype(x.dtype, copy=False).reshape((-1,) + (1,) * (x.ndim - 2))
    x += positive
    return x


def _elu_inplace(a, xs, w):
    """The kernel's alpha * expm1(min(x, 0)) + max(x, 0), with the positive part the only temporary."""
    x = xs[0]
    positive = np.maximum(x, 0)
    np.minimum(x, 0, out=x)
    np.expm1(x, out=x)
    x *= a.alpha
    x += positive
    return x


def _block_wise_inplace(kernel: Callable) -> Kernel:
    """A block-wise kernel (kernels._blocks) written into its input when that is C-contiguous."""

    def run(a, xs, w):
        x = xs[0]
        return kernel(x, out=x) if x.flags.c_contiguous else kernel(x)

    return run


def _scale_inplace(a, xs, w):
    x, factors = xs[0], w[SELF]
    if factors.shape != (x.shape[1],) + (1,) * (x.ndim - 2):
        return K.scale(x, factors)  # let the kernel refuse
    x *= factors.astype(x.dtype, copy=False)
    return x


#: Variants that overwrite their first input, used when no later layer reads it: this is what keeps a
#: ResNet's batch-norm, ReLU and residual adds from allocating (PyTorch's inplace=True does the same).
#: The identities at inference (stochastic depth) pass their input on as their output, and a permute its input's
#: memory as a transposed view. Hardswish and mish are left out: they need a temporary as large as the input
#: either way, so in place they would save nothing.
IN_PLACE: dict[str, Kernel] = {
    "relu": _relu_inplace,
    "batchnorm": _batch_norm_inplace,
    "add": _join_in_place(K.add, np.add),
    "mul": _join_in_place(K.mul, np.multiply),
    "relu6": _relu6_inplace,
    "hardsigmoid": _hardsigmoid_inplace,
    "prelu": _prelu_inplace,
    "elu": _elu_inplace,
    "scale": _scale_inplace,
    "permute": lambda a, xs, w: K.permuted_view(xs[0], a.dims),
    "gelu": _block_wise_inplace(K.gelu),
    "silu": _block_wise_inplace(K.silu),
    "stochasticdepth": lambda a, xs, w: xs[0],
}


#: (a layer's kind, an element-wise activation's kind): when the activation alone reads that layer's output, the
#: pair runs as one kernel at the first layer (block by block, the activation applied while the block is in the
#: cache, into the input when it is free) and the activation's layer passes its input on as its output.
FUSED: dict[tuple[str, str], Callable] = {
    ("batchnorm", "relu"): _batch_norm_then(K.relu_block),
    ("batchnorm", "relu6"): _batch_norm_then(K.relu6_block),
    ("batchnorm", "silu"): _batch_norm_then(K.silu_block),
}


def _pass_on(a, xs, w):
    """The activation of a fused pair: its input already holds its output."""
    return xs[0]


def fused_pairs(nodes: list[Node], kept: set[int]) -> dict[int, int]:
    """first layer -> the activation fused into it (FUSED): the activation reads only that layer, no other layer
    reads it, and it is not one of the network's outputs."""
    readers: dict[int, int] = {}
    for node in nodes:
        for producer in node.inputs:
            readers[producer] = readers.get(producer, 0) + 1
    return {
        node.inputs[0]: index
        for index, node in enumerate(nodes)
        if len(node.inputs) == 1
        and node.inputs[0] != INPUT
        and (nodes[node.inputs[0]].kind, node.kind) in FUSED
        and readers[node.inputs[0]] == 1
        and node.inputs[0] not in kept
    }


@dataclass(frozen=True)
class Step:
    """One executed layer: its index, the array it produced (valid until the next step) and the kernel time."""

    index: int
    node: Node
    output: np.ndarray
    seconds: float


def _bind(node: Node, network: Network, xs: list) -> SimpleNamespace:
    """The layer's arguments, checked against the shapes of the arrays it actually receives (batch dropped)."""
    kind = REGISTRY[node.kind]
    if kind.multi_input:
        x = [
            Operand(network.nodes[i].path if i != INPUT else "input", array.shape[1:])
            for i, array in zip(node.inputs, xs)
        ]
        names = node.names
    else:
        x = tuple(xs[0].shape[1:])
        names = {**node.names, "in_channels": x[0] if x else 1}
    try:
        return bind(kind, node.raw, names, x)
    except CnnCalcError as error:
        raise error.located(node.location, node.path) from None


def forward(network: Network, weights: dict, x: np.ndarray) -> Iterator[Step]:
    """Run the network on ``x`` (batch first), yielding each layer's output as it is computed.

    ``weights`` maps ``<path>.<name>`` to arrays already in ``x``'s dtype. A consumer that stops iterating
    stops the run. A kernel that rejects its input raises CnnCalcError naming the layer. A layer with an
    activation fused into it (FUSED) yields the activated array, and the activation yields that same array.
    """
    last = last_uses([node.inputs for node in network.nodes])
    kept = {out.index for out in outputs_of(network)}  # the network's outputs outlive their readers
    fused = fused_pairs(network.nodes, kept)
    passed_on = set(fused.values())
    arrays: dict[int, np.ndarray] = {INPUT: x}
    del x  # so that the input is freed after its last reader, like any activation
    by_layer: dict[str, dict] = {}
    paths = {node.path for node in network.nodes}
    for key, array in weights.items():
        # a key that is a layer's path is that layer's SELF array (Weight.key); no other key can be one
        path, name = (key, SELF) if key in paths else key.rsplit(".", 1)
        by_layer.setdefault(path, {})[name] = array
    for index, node in enumerate(network.nodes):
        xs = [arrays[producer] for producer in node.inputs]
        arguments = _bind(node, network, xs)
        own = by_layer.get(node.path, {})
        first = node.inputs[0]
        reusable = (
            first != INPUT
            and first not in kept
            and last.get(first) == index
            and node.inputs.count(first) == 1
            and xs[0].flags.writeable
            and not any(other is xs[0] for key, other in arrays.items() if key != first)
        )
        if index in fused:
            pair = FUSED[node.kind, network.nodes[fused[index]].kind]
            kernel = partial(pair, in_place=reusable)
        elif index in passed_on:
            kernel = _pass_on
        else:
            kernel = IN_PLACE[node.kind] if reusable and node.kind in IN_PLACE else KERNELS[node.kind]
        start = time.perf_counter()
        try:
            with np.errstate(all="ignore"):  # random weights may overflow; the shapes are still checked
                y = kernel(arguments, xs, own)
        except (ValueError, KeyError, IndexError, MemoryError) as error:
            shapes = ", ".join("x".join(map(str, array.shape)) for array in xs)
            reason = "out of memory" if isinstance(error, MemoryError) else str(error)
            raise CnnCalcError(
                f"the {node.kind} kernel failed on input {shapes}: {reason}", node.location, node.path
            ) from None
        seconds = time.perf_counter() - start
        del xs
        for producer in set(node.inputs):
            if last.get(producer) == index and producer not in kept:
                arrays.pop(producer, None)
        arrays[index] = y
        yield Step(index, node, y, seconds)
        del y
