"""Kinds that move, select or pad elements without arithmetic: ``permute``, ``channelshuffle``, ``chunk`` and
``pad``. They count no MACs and no FLOPs (copying is not arithmetic).
"""

from __future__ import annotations

from ..errors import CnnCalcError
from ..formulas import ceil_div
from ..registry import CHOICE, FLOAT, INT, PAIRS, WHOLES, Arg, LayerKind, format_shape, register
from ..symbolic.recording import require
from .window import feature_map


@register
class Permute(LayerKind):
    name = "permute"
    doc = "Reorders the per-sample dimensions (0 = channels; the batch stays first), as PyTorch's permute."
    main = "dims"
    args = (Arg("dims", WHOLES, "a permutation of the per-sample dimensions 0..rank-1", required=True, minimum=0),)
    shape_rule = "output dimension i is input dimension `dims[i]`"

    def output(self, a, x):
        if sorted(a.dims) != list(range(len(x))):
            raise CnnCalcError(
                f"permute: dims {list(a.dims)} is not a permutation of 0..{len(x) - 1} for a {format_shape(x)} sample",
                argument="dims",
            )
        return tuple(x[d] for d in a.dims)


@register
class ChannelShuffle(LayerKind):
    name = "channelshuffle"
    doc = "Channel shuffle (ShuffleNet): channels seen as groups x C/groups are transposed to C/groups x groups."
    main = "groups"
    args = (Arg("groups", INT, "number of groups the channels are split into", required=True),)
    shape_rule = "shape kept; channels must divide by `groups`"

    def output(self, a, x):
        feature_map(self.name, x)
        divides = x[0] % a.groups == 0
        if divides is not True:
            require(
                divides,
                lambda: f"channelshuffle: channels {x[0]} are not divisible by groups {a.groups}",
                argument="groups",
            )
        return x


@register
class Chunk(LayerKind):
    name = "chunk"
    doc = "One part of a split along channels: the `index`-th of torch.chunk(x, chunks, dim=1)."
    main = "chunks"
    args = (
        Arg("chunks", INT, "number of parts asked for", required=True, minimum=2),
        Arg("index", INT, "which part, from 0", required=True, minimum=0),
    )
    shape_rule = (
        "parts of `ceil(C/chunks)` channels, the last may be smaller (torch.chunk); channels become part `index`'s"
    )

    def output(self, a, x):
        channels = x[0]
        size = ceil_div(channels, a.chunks)
        start = a.index * size
        inside = start < channels
        if inside is not True:
            require(
                inside,
                lambda: (
                    f"chunk: index {a.index} is past the last non-empty chunk: {channels} channels in chunks of "
                    f"{size} make {ceil_div(channels, size)}"
                ),
                argument="index",
            )
        return (min(size, channels - start), *x[1:])


@register
class Pad(LayerKind):
    name = "pad"
    doc = "Padding of the spatial dimensions with a constant, their reflection or their edge (PyTorch's F.pad)."
    main = "padding"
    args = (
        Arg("padding", PAIRS, "int, per spatial dimension, or [before, after] pairs", required=True, minimum=0),
        Arg("mode", CHOICE, "what fills the border", default="constant", choices=("constant", "reflect", "replicate")),
        Arg("value", FLOAT, "the fill of mode constant (0 when not given)"),
    )
    shape_rule = "`out = before + in + after` per spatial dim; reflect needs each side smaller than the size"

    def output(self, a, x):
        feature_map(self.name, x)
        if a.value is not None and a.mode != "constant":
            raise CnnCalcError(f"pad: value is only for mode constant, not {a.mode}", argument="value")
        if a.mode == "reflect":
            for size, (before, after) in zip(x[1:], a.padding):
                fits = size > max(before, after)
                if fits is not True:
                    message = f"pad: reflect padding {before}+{after} must be smaller than the size {size} it reflects"
                    require(fits, message, argument="padding")
        return (x[0], *(before + size + after for size, (before, after) in zip(x[1:], a.padding)))
