"""The oracle of the execution tests: the same network built from torch.nn modules, run by PyTorch.

``TorchModel(network)`` walks the expanded nodes, binds each layer's arguments, makes the equivalent torch
module (keyed by the layer path, as cnncalc names weights) and runs the graph by the nodes' inputs. Only the
tests import this module, always behind ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

from math import prod

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from cnncalc.formulas import (
    same_padding,  # the oracle may share the formula: it checks values, not shapes
)
from cnncalc.network import INPUT, Network, outputs_of
from cnncalc.registry import REGISTRY, Operand, bind


def _pairs(padding, spatial, kernel, stride, dilation):
    if padding == "valid":
        return [(0, 0)] * len(spatial)
    if padding == "same":
        return [same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, stride, dilation)]
    return list(padding)


def _torch_pad(pairs):
    """F.pad wants (last dim before, after, previous dim before, after, ...)."""
    return [side for pair in reversed(pairs) for side in pair]


class _Padded(nn.Module):
    """A module run on an explicitly padded input (asymmetric or 'same' padding)."""

    def __init__(self, module, pairs, value=0.0):
        super().__init__()
        self.module, self.pad, self.value = module, _torch_pad(pairs), value

    def forward(self, x):
        return self.module(F.pad(x, self.pad, value=self.value) if any(self.pad) else x)


class _LayerScale(nn.Module):
    """torchvision ConvNeXt's layer scale: ``self.layer_scale * x``, a parameter of shape [C, 1, ...] whose
    state_dict key is the module's path itself (``features.1.0.layer_scale``)."""

    def __init__(self, shape):
        super().__init__()
        self.layer_scale = nn.Parameter(torch.ones(shape[0], *(1,) * (len(shape) - 1)))

    def reset_parameters(self):
        with torch.no_grad():
            self.layer_scale.uniform_(0.5, 1.5)

    def forward(self, x):
        return self.layer_scale * x


def _stochastic_depth(a):
    """torchvision's own module (the identity in eval mode); the oracle needs torchvision for it."""
    ops = pytest.importorskip("torchvision.ops")
    return ops.StochasticDepth(a.p, a.mode)


class _Function(nn.Module):
    """A parameter-free torch function as a module (permute, chunk)."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, x):
        return self.function(x)


class _OverDim(nn.Module):
    """nn.LayerNorm applied over one dimension: moved last, normalised, moved back (ConvNeXt's LayerNorm2d)."""

    def __init__(self, module, dim):
        super().__init__()
        self.module, self.dim = module, dim

    def forward(self, x):
        return self.module(x.movedim(self.dim, -1)).movedim(-1, self.dim)


_PADS = {  # mode -> module class by rank; constant takes the value as its second argument
    "constant": (nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d),
    "reflect": (nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d),
    "replicate": (nn.ReplicationPad1d, nn.ReplicationPad2d, nn.ReplicationPad3d),
}


def _symmetric(pairs):
    return all(before == after for before, after in pairs)


def _by_rank(rank, one, two, three):
    return {1: one, 2: two, 3: three}[rank]


def _module(kind: str, a, shape: tuple):
    """The torch module for one layer, given its bound arguments and its per-sample input shape."""
    rank = len(shape) - 1
    if kind == "conv":
        conv = _by_rank(rank, nn.Conv1d, nn.Conv2d, nn.Conv3d)(
            shape[0], a.out, a.kernel, a.stride, 0, a.dilation, a.groups, a.bias
        )
        return _Padded(conv, _pairs(a.padding, shape[1:], a.kernel, a.stride, a.dilation))
    if kind == "convtranspose":
        assert _symmetric(a.padding), "torch's ConvTranspose pads symmetrically"
        cls = _by_rank(rank, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
        return cls(
            shape[0],
            a.out,
            a.kernel,
            a.stride,
            [p[0] for p in a.padding],
            a.output_padding,
            a.groups,
            a.bias,
            a.dilation,
        )
    if kind in ("maxpool", "avgpool"):
        stride = a.kernel if a.stride is None else a.stride
        dilation = getattr(a, "dilation", None) or (1,) * rank
        pairs = _pairs(a.padding, shape[1:], a.kernel, stride, dilation)
        symmetric = _symmetric(pairs)
        padding = [p[0] for p in pairs] if symmetric else 0
        if kind == "maxpool":
            pool = _by_rank(rank, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)(
                a.kernel, stride, padding, dilation, ceil_mode=a.ceil_mode
            )
            return pool if symmetric else _Padded(pool, pairs, -float("inf"))
        assert symmetric, "asymmetric average pooling has no torch equivalent"
        return _by_rank(rank, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)(
            a.kernel, stride, padding, a.ceil_mode, a.count_include_pad
        )
    if kind == "globalavgpool":
        return _by_rank(rank, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)(1)
    if kind == "adaptiveavgpool":
        return _by_rank(rank, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)(a.output)
    if kind == "batchnorm":
        cls = nn.BatchNorm1d if len(shape) <= 2 else _by_rank(rank, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
        return cls(shape[0], eps=a.eps, affine=a.affine)
    if kind == "upsample":
        mode = "nearest" if a.mode == "nearest" else _by_rank(rank, "linear", "bilinear", "trilinear")
        resize = {"size": tuple(a.size)} if a.size is not None else {"scale_factor": tuple(a.scale)}
        return nn.Upsample(**resize, mode=mode, **({} if mode == "nearest" else {"align_corners": False}))
    if kind == "layernorm":
        axis = a.dim - 1 if a.dim > 0 else len(shape) + a.dim  # per sample
        norm = nn.LayerNorm(shape[axis], eps=a.eps)
        return norm if axis == len(shape) - 1 else _OverDim(norm, axis + 1)
    if kind == "pad":
        cls = _by_rank(rank, *_PADS[a.mode])
        pad = _torch_pad(a.padding)
        return cls(pad, 0.0 if a.value is None else a.value) if a.mode == "constant" else cls(pad)
    simple = {
        "flatten": lambda: nn.Flatten(),
        "linear": lambda: nn.Linear(shape[-1], a.out, a.bias),  # on the last dimension, per position or flat
        "permute": lambda: _Function(lambda x: x.permute(0, *(d + 1 for d in a.dims))),
        "channelshuffle": lambda: nn.ChannelShuffle(a.groups),
        "chunk": lambda: _Function(lambda x: torch.chunk(x, a.chunks, dim=1)[a.index]),
        "lrn": lambda: nn.LocalResponseNorm(a.size, a.alpha, a.beta, a.k),
        "dropout": lambda: nn.Dropout(a.p),
        "stochasticdepth": lambda: _stochastic_depth(a),
        "relu": lambda: nn.ReLU(),
        "relu6": lambda: nn.ReLU6(),
        "leakyrelu": lambda: nn.LeakyReLU(a.slope),
        "prelu": lambda: nn.PReLU(a.channels),
        "elu": lambda: nn.ELU(a.alpha),
        "sigmoid": lambda: nn.Sigmoid(),
        "hardsigmoid": lambda: nn.Hardsigmoid(),
        "tanh": lambda: nn.Tanh(),
        "gelu": lambda: nn.GELU(),
        "silu": lambda: nn.SiLU(),
        "hardswish": lambda: nn.Hardswish(),
        "mish": lambda: nn.Mish(),
        "identity": lambda: nn.Identity(),
        "softmax": lambda: nn.Softmax(dim=a.dim),
        "scale": lambda: _LayerScale(shape),
    }
    return simple[kind]()


def _weight_owner(module):
    """The module holding a layer's parameters (inside the padding wrapper, if any)."""
    return module.module if isinstance(module, (_Padded, _OverDim)) else module


class TorchModel:
    """The network as torch modules keyed by layer path, run in eval mode in float32 (or float64)."""

    def __init__(self, network: Network, dtype=torch.float32):
        self.network = network
        self.modules: dict[str, nn.Module] = {}
        self.dtype = dtype
        shapes = {INPUT: tuple(network.input)}
        for index, node in enumerate(network.nodes):
            kind = REGISTRY[node.kind]
            if kind.multi_input:
                x = [Operand(str(i), shapes[i]) for i in node.inputs]
                shapes[index] = kind.output(bind(kind, node.raw, node.names, x), x)
                continue
            x = shapes[node.inputs[0]]
            arguments = bind(kind, node.raw, {**node.names, "in_channels": x[0]}, x)
            module = _module(node.kind, arguments, x).to(dtype).eval()
            self.modules[node.path] = module
            with torch.no_grad():
                probe = torch.zeros((1, *x), dtype=dtype)
                shapes[index] = tuple(module(probe).shape[1:])

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Every array under cnncalc's key (``<path>.<name>``, a layer scale's ``<path>``), including batch norms'
        num_batches_tracked."""
        state = {}
        for path, module in self.modules.items():
            owner = _weight_owner(module)
            for name, tensor in owner.state_dict().items():
                state[path if isinstance(owner, _LayerScale) else f"{path}.{name}"] = tensor
        return state

    def load(self, arrays: dict) -> None:
        """Copy arrays keyed ``<path>.<name>`` or ``<path>`` (as cnncalc initialises or loads them) into the
        modules."""
        for key, array in arrays.items():
            path, name = (key, "layer_scale") if key in self.modules else key.rsplit(".", 1)
            target = getattr(_weight_owner(self.modules[path]), name)
            with torch.no_grad():
                target.copy_(torch.from_numpy(np.asarray(array)).to(target.dtype))

    def randomise(self, seed: int) -> None:
        """PyTorch's own initialisation, plus random batch-norm statistics so that they matter."""
        torch.manual_seed(seed)
        for module in self.modules.values():
            owner = _weight_owner(module)
            if hasattr(owner, "reset_parameters"):
                owner.reset_parameters()
            if isinstance(owner, nn.modules.batchnorm._BatchNorm):
                with torch.no_grad():
                    owner.running_mean.normal_(0, 0.1)
                    owner.running_var.uniform_(0.5, 1.5)
                    if owner.affine:
                        owner.weight.uniform_(0.5, 1.5)
                        owner.bias.normal_(0, 0.1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run the graph on a NumPy batch and return the main output as NumPy."""
        return self.outputs(x)[0]

    @torch.no_grad()
    def outputs(self, x: np.ndarray) -> list[np.ndarray]:
        """Run the graph on a NumPy batch and return every output (main first, then the aux heads) as NumPy."""
        nodes = self.network.nodes
        outputs = {INPUT: torch.from_numpy(np.ascontiguousarray(x)).to(self.dtype)}
        for index, node in enumerate(nodes):
            xs = [outputs[i] for i in node.inputs]
            if node.kind == "add":
                y = xs[0]
                for other in xs[1:]:
                    y = y + other
            elif node.kind == "mul":
                y = xs[0]
                for other in xs[1:]:
                    y = y * other
            elif node.kind == "concat":
                y = torch.cat(xs, dim=1)
            else:
                y = self.modules[node.path](xs[0])
            outputs[index] = y
        return [outputs[out.index].numpy() for out in outputs_of(self.network)]


def parameter_count(model: TorchModel) -> int:
    """Trainable parameters of the torch model, to check it is the same network."""
    return sum(prod(p.shape) for module in model.modules.values() for p in module.parameters())
