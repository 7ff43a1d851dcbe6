"""One case per error message of loading, expansion and propagation: the message, the line and the column."""

from __future__ import annotations

import pytest

from cnncalc.errors import CnnCalcError
from cnncalc.load import parse_network
from cnncalc.propagate import propagate

HEAD = "name: t\ninput: [3, 32, 32]\nlayers:\n"


def error_of(text: str) -> CnnCalcError:
    with pytest.raises(CnnCalcError) as caught:
        propagate(parse_network(text, "t.yaml"))
    return caught.value


def layers(*lines: str) -> str:
    return HEAD + "".join(f"  {line}\n" for line in lines)


# text, message fragment, line, column (None: not checked), layer path (None: not checked)
CASES = {
    # source.py
    "yaml syntax": ("name: t\ninput: [3, 4\n", "YAML syntax error", 3, 1, None),
    "duplicate key": (HEAD + "  - conv: {out: 1, out: 2, kernel: 1}\n", "duplicate key 'out'", 4, 20, None),
    "key not plain": ("? [a, b]\n: 1\n", "a mapping key must be a plain value", 1, 3, None),
    # load.py
    "empty": ("", "the description is empty", 1, 1, None),
    "not a mapping": (
        "- conv\n",
        "a description is a mapping with name, input and layers, received a list",
        1,
        1,
        None,
    ),
    "unknown top key": (
        HEAD + "  - relu\nlayer: []\n",
        "the description has no key 'layer' (did you mean 'layers'?)",
        5,
        1,
        None,
    ),
    "name not text": ("name: [1]\ninput: [3]\nlayers: [relu]\n", "name must be text", 1, 7, None),
    "description not text": ("description: 3\ninput: [3]\nlayers: [relu]\n", "description must be text", 1, 14, None),
    "no input": ("name: t\nlayers: [relu]\n", "the description needs 'input'", 1, 1, None),
    "input not list": ("input: 3x224x224\nlayers: [relu]\n", "input must be a list like [3, 224, 224]", 1, 8, None),
    "input size zero": (
        "input: [3, 0, 5]\nlayers: [relu]\n",
        "input sizes must be whole numbers >= 1, received 0",
        1,
        12,
        None,
    ),
    "input size float": ("input: [3, 2.5]\nlayers: [relu]\n", "received 2.5", 1, 12, None),
    "no layers": ("input: [3]\n", "the description needs 'layers'", 1, 1, None),
    "layers not list": ("input: [3]\nlayers: relu\n", "layers must be a list of layers, received 'relu'", 2, 9, None),
    "no layers at all": ("input: [3]\nlayers: []\n", "the network has no layers", 2, 9, None),
    "blocks not mapping": ("input: [3]\nblocks: [a]\nlayers: [relu]\n", "blocks must be a mapping", 2, 9, None),
    "block name not word": (
        "input: [3]\nblocks: {a b: {layers: [relu]}}\nlayers: [relu]\n",
        "a block name must be a word",
        2,
        10,
        None,
    ),
    "block name is kind": (
        "input: [3]\nblocks: {conv: {layers: [relu]}}\nlayers: [relu]\n",
        "block name 'conv' is already a layer kind",
        2,
        10,
        None,
    ),
    "block not mapping": (
        "input: [3]\nblocks: {b: [relu]}\nlayers: [relu]\n",
        "block 'b' must be a mapping with args and layers",
        2,
        13,
        None,
    ),
    "block unknown key": (
        "input: [3]\nblocks: {b: {layer: [relu]}}\nlayers: [relu]\n",
        "block 'b' has no key 'layer' (did you mean 'layers'?)",
        2,
        14,
        None,
    ),
    "block without layers": (
        "input: [3]\nblocks: {b: {args: [x]}}\nlayers: [relu]\n",
        "block 'b' needs 'layers'",
        2,
        13,
        None,
    ),
    "block args not list": (
        "input: [3]\nblocks: {b: {args: x, layers: [relu]}}\nlayers: [relu]\n",
        "args must be a list like [width, stride: 1]",
        2,
        20,
        None,
    ),
    "block arg empty default": (
        "input: [3]\nblocks: {b: {args: [x: ], layers: [relu]}}\nlayers: [relu]\n",
        "argument 'x' has an empty default",
        2,
        21,
        None,
    ),
    "block arg not name": (
        "input: [3]\nblocks: {b: {args: [[x]], layers: [relu]}}\nlayers: [relu]\n",
        "a block argument is a name or 'name: default'",
        2,
        21,
        None,
    ),
    "block arg not word": (
        "input: [3]\nblocks: {b: {args: [1x], layers: [relu]}}\nlayers: [relu]\n",
        "a block argument name must be a word",
        2,
        21,
        None,
    ),
    "block arg reserved": (
        "input: [3]\nblocks: {b: {args: [name], layers: [relu]}}\nlayers: [relu]\n",
        "'name' cannot be a block argument",
        2,
        21,
        None,
    ),
    "include missing": (
        "input: [3]\ninclude: nothere.yaml\nlayers: [relu]\n",
        "cannot include 'nothere.yaml'",
        2,
        10,
        None,
    ),
    "include not names": (
        "input: [3]\ninclude: [1]\nlayers: [relu]\n",
        "include must be a file name or a list of them",
        2,
        10,
        None,
    ),
    # network.py
    "unknown kind": (
        layers("- covn: {out: 3, kernel: 1}"),
        "unknown layer kind 'covn' (did you mean 'conv'?)",
        4,
        5,
        None,
    ),
    "layer with two keys": (
        layers("- conv: {out: 3}", "  kernel: 1"),
        "a layer is a one-key mapping from its kind to its arguments, received the keys conv, kernel",
        4,
        5,
        None,
    ),
    "layer not kind": (layers("- 3"), "a layer must be a kind name or a one-key mapping, received 3", 4, 5, None),
    "arguments not mapping": (
        layers("- relu: [1, 2]"),
        "relu takes a mapping of arguments, received a list",
        4,
        11,
        None,
    ),
    "no scalar shorthand": (layers("- relu: 3"), "relu takes a mapping of arguments, received 3", 4, 11, None),
    "bad name": (
        layers("- relu: {name: a.b}"),
        "a layer name is letters, digits, '_' and '-', received 'a.b'",
        4,
        18,
        None,
    ),
    "duplicate name": (layers("- relu: {name: a}", "- relu: {name: a}"), "duplicate layer name 'a'", 5, 18, None),
    "when not bool": (layers("- relu: {when: 3}"), "when must be true or false, received 3", 4, 18, None),
    "when bad expression": (layers("- relu: {when: x > 1}"), "when: unknown name 'x'", 4, 18, None),
    "add needs operands": (
        layers("- relu", "- add: [previous]"),
        "add needs 'of': a list of at least two earlier layers",
        5,
        10,
        None,
    ),
    "unknown reference": (
        layers("- relu: {name: r}", "- add: [previous, rr]"),
        "no earlier layer named 'rr' (did you mean 'r'?)",
        5,
        21,
        None,
    ),
    "later reference": (
        layers("- add: [previous, later]", "- relu: {name: later}"),
        "no earlier layer named 'later'",
        4,
        21,
        None,
    ),
    "residual unknown key": (
        layers("- residual: {main: [relu], shortcutt: [relu]}"),
        "residual has no key 'shortcutt' (did you mean 'shortcut'?)",
        4,
        30,
        None,
    ),
    "residual no main": (layers("- residual: {shortcut: [relu]}"), "residual needs 'main'", 4, 15, None),
    "residual empty main": (layers("- residual: {main: []}"), "residual 'main' path has no layers", 4, 22, None),
    "residual main not list": (
        layers("- residual: {main: relu}"),
        "residual 'main' must be a list of layers",
        4,
        22,
        None,
    ),
    "branches not list": (
        layers("- concat: {branches: 3}"),
        "concat 'branches' must be a list of layer lists",
        4,
        24,
        None,
    ),
    "one branch": (layers("- concat: {branches: [[relu]]}"), "concat needs at least two branches", 4, 24, None),
    "repeat no times": (
        layers("- repeat: {layers: [relu]}"),
        "repeat needs 'times', a whole number >= 1, received None",
        4,
        13,
        None,
    ),
    "repeat zero": (layers("- repeat: {times: 0, layers: [relu]}"), "received 0", 4, 21, None),
    "repeat huge": (
        layers("- repeat: {times: 1000000000, layers: [relu]}"),
        "repeat times 1,000,000,000 is more than",
        4,
        21,
        None,
    ),
    "repeat bad var": (
        layers("- repeat: {times: 2, var: 3, layers: [relu]}"),
        "repeat 'var' must be a name",
        4,
        29,
        None,
    ),
    "repeat bad expression": (
        layers("- repeat: {times: n, layers: [relu]}"),
        "repeat times: unknown name 'n'",
        4,
        21,
        None,
    ),
    "block uses itself": (
        "input: [3]\nblocks:\n  a: {layers: [b]}\n  b: {layers: [a]}\nlayers: [a]\n",
        "block 'a' uses itself (a -> b -> a)",
        4,
        16,
        None,
    ),
    "block unknown parameter": (
        "input: [3]\nblocks:\n  b: {args: [width], layers: [relu]}\nlayers:\n  - b: {widht: 2}\n",
        "block 'b' has no parameter 'widht' (did you mean 'width'?)",
        5,
        9,
        None,
    ),
    "block missing parameter": (
        "input: [3]\nblocks:\n  b: {args: [width], layers: [relu]}\nlayers:\n  - b: {}\n",
        "block 'b' needs the parameter 'width'",
        5,
        5,
        None,
    ),
    "block bad argument expression": (
        "input: [3]\nblocks:\n  b: {args: [width], layers: [relu]}\nlayers:\n  - b: {width: 2 +}\n",
        "'2 +' is not a valid expression",
        5,
        16,
        None,
    ),
    "deep nesting": (
        HEAD + "  - " + "group: {layers: [" * 70 + "relu" + "]}" * 70 + "\n",
        "nests deeper than",
        None,
        None,
        None,
    ),
    # registry.py (argument binding)
    "unknown argument": (
        layers("- conv: {out: 3, kernal: 3}"),
        "conv has no argument 'kernal' (did you mean 'kernel'?)",
        4,
        20,
        None,
    ),
    "missing argument": (layers("- conv: {out: 3}"), "conv needs the argument 'kernel'", 4, 11, "conv1"),
    "not whole": (
        layers("- conv: {out: 2.5, kernel: 1}"),
        "conv: out must be a whole number, received 2.5",
        4,
        17,
        "conv1",
    ),
    "boolean size": (
        layers("- conv: {out: true, kernel: 1}"),
        "conv: out must be a whole number, received True",
        4,
        17,
        None,
    ),
    "negative size": (layers("- conv: {out: -3, kernel: 1}"), "conv: out must be at least 1, received -3", 4, 17, None),
    "negative padding": (
        layers("- conv: {out: 3, kernel: 1, padding: -1}"),
        "conv: padding must be at least 0, received -1",
        4,
        40,
        None,
    ),
    "not a number": (
        layers("- lrn: {size: 3, alpha: [1]}"),
        "lrn: alpha must be a finite number, received [1]",
        4,
        27,
        None,
    ),
    "below": (layers("- dropout: 1.0"), "dropout: p must be below 1, received 1.0", 4, 14, None),
    "float minimum": (layers("- dropout: -0.5"), "dropout: p must be at least 0, received -0.5", 4, 14, None),
    "not bool": (
        layers("- conv: {out: 3, kernel: 1, bias: 1}"),
        "conv: bias must be true or false, received 1",
        4,
        37,
        None,
    ),
    "choice": (
        layers("- upsample: {scale: 2, mode: bilinar}"),
        "upsample: mode must be one of nearest, bilinear, received 'bilinar' (did you mean 'bilinear'?)",
        4,
        32,
        None,
    ),
    "per dim count": (
        layers("- conv: {out: 3, kernel: [1, 1, 1]}"),
        "conv: kernel needs 2 values (one per spatial dimension), received 3",
        4,
        28,
        None,
    ),
    "per side padding": (
        layers("- conv: {out: 3, kernel: 1, padding: [[1, 2, 3], 1]}"),
        "conv: padding per side must be [before, after], received [1, 2, 3]",
        4,
        40,
        None,
    ),
    "scale not positive": (
        layers("- upsample: {scale: 0}"),
        "upsample: scale must be a positive number, received 0",
        4,
        23,
        None,
    ),
    "expression unknown name": (
        layers("- conv: {out: width, kernel: 1}"),
        "conv: out unknown name 'width' (names defined here: in_channels)",
        4,
        17,
        None,
    ),
    # kinds/ (shape rules)
    "conv on flat": (
        layers("- flatten", "- conv: {out: 3, kernel: 1}"),
        "conv needs a [C, L], [C, H, W] or [C, D, H, W] input, received 3072 (a flattened tensor)",
        5,
        5,
        "conv1",
    ),
    "groups in": (
        layers("- conv: {out: 4, kernel: 1, groups: 2}"),
        "conv: input channels 3 are not divisible by groups 2 (input 3x32x32)",
        4,
        39,
        "conv1",
    ),
    "groups out": (
        layers("- conv: {out: 3, kernel: 1, groups: 3}", "- conv: {out: 4, kernel: 1, groups: 3}"),
        "conv: output channels 4 are not divisible by groups 3",
        5,
        39,
        "conv2",
    ),
    "kernel larger": (
        layers("- conv: {out: 3, kernel: 33}"),
        "kernel 33 is larger than the padded input 32 (input 32 + padding 0+0) (input 3x32x32)",
        4,
        28,
        "conv1",
    ),
    "transposed padding word": (
        layers("- convtranspose: {out: 3, kernel: 1, padding: same}"),
        "convtranspose: padding 'same' is not supported",
        4,
        49,
        None,
    ),
    "output padding": (
        layers("- convtranspose: {out: 3, kernel: 2, stride: 2, output_padding: 2}"),
        "output_padding [2, 2] must be smaller than stride or dilation",
        4,
        67,
        None,
    ),
    "transposed below one": (
        layers("- convtranspose: {out: 3, kernel: 1, padding: 1}", "- convtranspose: {out: 3, kernel: 1, padding: 20}"),
        "output size -10 is below 1",
        5,
        5,
        "convtranspose2",
    ),
    "pool padding": (
        layers("- maxpool: {kernel: 2, padding: 2}"),
        "maxpool: padding 2 is more than half the kernel (1 at most for kernel 2)",
        4,
        35,
        None,
    ),
    "linear not flat": (
        layers("- linear: 10"),
        "linear needs a flattened input (features), received 3x32x32; add '- flatten' before it",
        4,
        5,
        "linear1",
    ),
    "prelu channels": (
        layers("- prelu: 4"),
        "prelu: channels must be 1 or the input's channel count 3, received 4",
        4,
        12,
        "prelu1",
    ),
    "softmax dim": (layers("- softmax: 5"), "softmax: dim 5 is not a dimension of a 3x32x32 sample", 4, 14, None),
    "upsample both": (
        layers("- upsample: {scale: 2, size: 4}"),
        "upsample needs exactly one of 'scale' and 'size'",
        4,
        5,
        None,
    ),
    "upsample too small": (layers("- upsample: 0.01"), "upsample: output size 0x0 is below 1", 4, 15, None),
    "add shapes": (
        layers("- conv: {name: a, out: 4, kernel: 1}", "- conv: {out: 5, kernel: 1}", "- add: [a, previous]"),
        "cannot add tensors whose shapes do not broadcast: a 4x32x32, conv1 5x32x32",
        6,
        5,
        "add1",
    ),
    "residual shapes": (
        layers("- residual: {main: [conv: {out: 4, kernel: 1}]}"),
        "cannot add tensors whose shapes do not broadcast: conv1 4x32x32, input 3x32x32",
        4,
        5,
        "add",
    ),
    "mul shapes": (
        layers("- conv: {name: a, out: 4, kernel: 1}", "- globalavgpool", "- mul: [a, previous, input]"),
        "cannot multiply tensors whose shapes do not broadcast: a 4x32x32, globalavgpool1 4x1x1, input 3x32x32",
        6,
        5,
        "mul1",
    ),
    "mul ranks": (
        layers("- flatten", "- mul: [input, previous]"),
        "cannot multiply tensors whose shapes do not broadcast: input 3x32x32, flatten1 3072 (operands need one rank)",
        5,
        5,
        "mul1",
    ),
    "layernorm dim": (layers("- layernorm: 4"), "layernorm: dim 4 is not a dimension of a 3x32x32 sample", 4, 16, None),
    "permute dims": (
        layers("- permute: [0, 2]"),
        "permute: dims [0, 2] is not a permutation of 0..2 for a 3x32x32 sample",
        4,
        14,
        "permute1",
    ),
    "channelshuffle groups": (
        layers("- channelshuffle: 2"),
        "channelshuffle: channels 3 are not divisible by groups 2 (input 3x32x32)",
        4,
        21,
        "channelshuffle1",
    ),
    "chunk index": (
        layers("- chunk: {chunks: 2, index: 2}"),
        "chunk: index 2 is past the last non-empty chunk: 3 channels in chunks of 2 make 2",
        4,
        31,
        "chunk1",
    ),
    "pad reflect": (
        layers("- pad: {padding: [1, 32], mode: reflect}"),
        "pad: reflect padding 32+32 must be smaller than the size 32 it reflects",
        4,
        20,
        "pad1",
    ),
    "pad value": (
        layers("- pad: {padding: 1, mode: replicate, value: 1}"),
        "pad: value is only for mode constant, not replicate",
        4,
        47,
        "pad1",
    ),
    "pad flat": (
        layers("- flatten", "- pad: 1"),
        "pad needs a [C, L], [C, H, W] or [C, D, H, W] input, received 3072 (a flattened tensor)",
        5,
        5,
        "pad1",
    ),
    "pad padding pair": (
        layers("- pad: {padding: [[1, 2, 3], 1]}"),
        "pad: padding per side must be [before, after], received [1, 2, 3]",
        4,
        20,
        None,
    ),
    "concat sizes": (
        layers("- maxpool: {name: p, kernel: 2}", "- concat: [p, input]"),
        "cannot concatenate along channels, the other dimensions differ: p 3x16x16, input 3x32x32",
        5,
        5,
        "concat1",
    ),
    # network.py: naming control, aux outputs (issue 9)
    "shortcut name not a name": (
        layers("- residual: {main: [relu], shortcut: {name: a.b, layers: [relu]}}"),
        "a layer name is letters, digits, '_' and '-', received 'a.b'",
        4,
        47,
        None,
    ),
    "shortcut name a number": (
        layers("- residual: {main: [relu], shortcut: {name: x, layers: [conv: {name: 0, out: 3, kernel: 1}]}}"),
        "received 0 (quote digits: name: '0')",
        4,
        72,
        None,
    ),
    "shortcut mapping without layers": (
        layers("- residual: {main: [relu], shortcut: {name: downsample}}"),
        "residual 'shortcut' as a mapping needs 'layers'",
        4,
        40,
        None,
    ),
    "shortcut mapping unknown key": (
        layers("- residual: {main: [relu], shortcut: {name: d, layer: [relu]}}"),
        "residual 'shortcut' has no key 'layer' (did you mean 'layers'?)",
        4,
        50,
        None,
    ),
    "shortcut mapping empty layers": (
        layers("- residual: {main: [relu], shortcut: {name: d, layers: []}}"),
        "residual 'shortcut' layers is empty",
        4,
        58,
        None,
    ),
    "shortcut name taken by the main path": (
        layers("- residual: {main: [relu: {name: d}], shortcut: {name: d, layers: [relu]}}"),
        "duplicate layer name 'd'",
        4,
        58,
        None,
    ),
    "inline branch key collides": (
        layers("- relu: {name: b1}", "- concat: {inline: true, branches: {b1: [relu], b2: [relu]}}"),
        "duplicate layer name 'b1'",
        5,
        39,
        None,
    ),
    "inline list branches collide": (
        layers("- concat: {inline: true, branches: [[relu: {name: x}], [relu: {name: x}]]}"),
        "duplicate layer name 'x'",
        4,
        72,
        None,
    ),
    "inline join name collides": (
        layers("- relu: {name: cat}", "- concat: {name: cat, inline: true, branches: [[relu], [relu]]}"),
        "duplicate layer name 'cat'",
        5,
        20,
        None,
    ),
    "inline not a flag": (
        layers("- concat: {inline: 2, branches: [[relu], [relu]]}"),
        "inline must be true or false, received 2",
        4,
        22,
        None,
    ),
    "inline misspelt": (
        layers("- concat: {inlined: true, branches: [[relu], [relu]]}"),
        "concat has no key 'inlined' (did you mean 'inline'?)",
        4,
        14,
        None,
    ),
    "repeat start negative": (
        layers("- repeat: {times: 2, start: -1, layers: [relu]}"),
        "repeat 'start' must be a whole number >= 0, received -1",
        4,
        31,
        None,
    ),
    "repeat start not whole": (
        layers("- repeat: {times: 2, start: 1.5, layers: [relu]}"),
        "repeat 'start' must be a whole number >= 0, received 1.5",
        4,
        31,
        None,
    ),
    "repeat start expression": (
        layers("- repeat: {times: 2, start: nope + 1, layers: [relu]}"),
        "repeat start: unknown name 'nope'",
        4,
        31,
        None,
    ),
    "repeat names without the variable": (
        layers("- repeat: {times: 2, names: layer, layers: [relu]}"),
        "repeat 'names' must be text holding {i} (the step's value), received 'layer'",
        4,
        31,
        None,
    ),
    "repeat names with another variable": (
        layers("- repeat: {times: 2, var: j, names: 'layer{i}', layers: [relu]}"),
        "repeat 'names' must be text holding {j}",
        4,
        39,
        None,
    ),
    "repeat names make a bad name": (
        layers("- repeat: {times: 2, names: 'layer {i}', layers: [relu]}"),
        "a layer name is letters, digits, '_' and '-', received 'layer 0'",
        4,
        31,
        None,
    ),
    "aux first": (layers("- aux: {layers: [relu]}"), "an aux head cannot come first", 4, 5, None),
    "aux without layers": (layers("- relu", "- aux: {name: a, layers: []}"), "aux 'layers' has no layers", 5, 28, None),
    "aux unknown key": (
        layers("- relu", "- aux: {name: a, layer: [relu]}"),
        "aux has no key 'layer' (did you mean 'layers'?)",
        5,
        20,
        None,
    ),
    "aux name collides": (
        layers("- relu: {name: a}", "- aux: {name: a, layers: [relu]}"),
        "duplicate layer name 'a'",
        5,
        17,
        None,
    ),
    # load.py: description args
    "args not a list": (
        "input: [3]\nargs: {a: 1}\nlayers: [relu]\n",
        "the description args must be a list like [width, stride: 1], received a mapping",
        2,
        7,
        None,
    ),
    "args required and not set": (
        "input: [3]\nargs: [width]\nlayers: [relu]\n",
        "the description needs the argument 'width': give it with --set width=VALUE",
        2,
        7,
        None,
    ),
    "args empty default": (
        "input: [3]\nargs: [{a: null}]\nlayers: [relu]\n",
        "the description argument 'a' has an empty default",
        2,
        8,
        None,
    ),
    "args unknown in when": (
        "input: [3]\nargs: [aux_logits: false]\nlayers: [relu: {when: aux_logit}]\n",
        "unknown name 'aux_logit'",
        3,
        23,
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error(case):
    text, message, line, column, layer = CASES[case]
    error = error_of(text)
    assert message in error.message
    if line is not None:
        assert error.location is not None, error
        assert (error.location.line, error.location.column) == (line, column), str(error)
        assert error.location.file == "t.yaml"
    if layer is not None:
        assert error.layer == layer
    assert str(error).count("\n") == 0


def test_error_text_is_compiler_style():
    error = error_of(layers("- linear: 10"))
    assert str(error).startswith("t.yaml:4:5: error: linear needs a flattened input")
    assert str(error).endswith("[linear1]")


# -- YAML types: only the core schema ------------------------------------------------------------------------------
@pytest.mark.parametrize("plain", ["2020-01-01", "2020-13-45", "=", "2001-12-14t21:59:43.10-05:00"])
def test_yaml_1_1_implicit_types_stay_strings(plain):
    """Plain scalars resolve to core types only (a date would reach the checks as datetime.date)."""
    network = parse_network(f"name: t\ndescription: {plain}\ninput: [3, 8, 8]\nlayers: [relu]\n", "t.yaml")
    assert network.description == plain


@pytest.mark.parametrize(
    "tag", ["!!omap", "!!pairs", "!!set", "!!timestamp", "!!binary", "!!python/tuple", "!local", "!<tag:x.org,1:y>"]
)
@pytest.mark.parametrize("place", ["input: {tag} [3, 8, 8]", "layers: {tag} [relu]", "description: {tag} x"])
def test_every_tag_outside_the_core_schema_is_refused_where_it_stands(tag, place):
    text = "name: t\n" + place.format(tag=tag) + "\n"
    text += "".join(line for line in ("input: [3, 8, 8]\n", "layers: [relu]\n") if line.split(":")[0] not in place)
    with pytest.raises(CnnCalcError, match="is not allowed: a description holds only maps") as error:
        parse_network(text, "t.yaml")
    assert ":2:" in str(error.value)


@pytest.mark.parametrize(
    "tagged, value",
    [("!!str x", "x"), ("!!int 3", 3), ("!!float 3", 3.0), ("!!bool true", True), ("!!map {}", {}), ("!!seq []", [])],
)
def test_core_tags_are_accepted(tagged, value):
    text = f"name: t\ninput: [3, 8, 8]\nlayers: [relu]\nargs:\n  - a: {tagged}\n"
    assert parse_network(text, "t.yaml").args == {"a": value}
