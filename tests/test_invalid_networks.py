"""Invalid networks that were once accepted (issue 10): each is now a located error, and valid ones are unchanged."""

from __future__ import annotations

import pytest

from cnncalc.errors import CnnCalcError
from cnncalc.load import parse_network
from cnncalc.propagate import propagate

HEAD = "name: t\ninput: [3, 8, 8]\nlayers:\n"


def error_of(text: str) -> CnnCalcError:
    with pytest.raises(CnnCalcError) as caught:
        propagate(parse_network(text, "t.yaml"))
    assert str(caught.value).count("\n") == 0
    return caught.value


def where(error: CnnCalcError) -> tuple[int, int]:
    return error.location.line, error.location.column


# -- branch names are layer names -----------------------------------------------------------------------------
@pytest.mark.parametrize("inline", [False, True])
def test_branch_keys_zero_and_quoted_zero_cannot_both_name_a_branch(inline):
    text = HEAD + (
        "  - concat:\n"
        f"      inline: {str(inline).lower()}\n"
        "      branches:\n"
        "        0: [conv: {out: 4, kernel: 1}]\n"
        "        '0': [conv: {out: 4, kernel: 1}]\n"
    )
    error = error_of(text)
    assert "a layer name is letters, digits, '_' and '-', received 0 (quote digits: name: '0')" in error.message
    assert where(error) == (7, 9)


@pytest.mark.parametrize("inline", [False, True])
def test_a_dotted_branch_key_is_refused(inline):
    text = HEAD + (
        "  - concat:\n"
        f"      inline: {str(inline).lower()}\n"
        "      branches:\n"
        "        a.b: [conv: {out: 4, kernel: 1, name: c}]\n"
        "        a: [group: {name: b, layers: [conv: {out: 4, kernel: 1, name: c}]}]\n"
    )
    error = error_of(text)
    assert "a layer name is letters, digits, '_' and '-', received 'a.b'" in error.message
    assert where(error) == (7, 9)


def test_quoted_digit_branch_keys_name_the_branches():
    text = HEAD + "  - concat:\n      branches:\n        '0': [relu]\n        '1': [relu]\n"
    paths = [node.path for node in parse_network(text, "t.yaml").nodes]
    assert paths == ["concat1.0.relu1", "concat1.1.relu1", "concat1.concat"]


# -- input and previous are reserved ----------------------------------------------------------------------------
RESERVED = {
    "layer": ("  - conv: {{out: 3, kernel: 1, name: {word}}}\n  - add: [{word}, previous]\n", (4, 37)),
    "group": ("  - group: {{name: {word}, layers: [relu]}}\n", (4, 19)),
    "residual": ("  - residual: {{name: {word}, main: [relu]}}\n", (4, 22)),
    "shortcut": ("  - residual: {{main: [relu], shortcut: {{name: {word}, layers: [relu]}}}}\n", (4, 47)),
    "branch": ("  - concat:\n      branches: {{{word}: [relu], x: [relu]}}\n", (5, 18)),
    "inline branch": ("  - concat:\n      inline: true\n      branches: {{{word}: [relu], x: [relu]}}\n", (6, 18)),
    "join": ("  - concat:\n      inline: true\n      name: {word}\n      branches: [[relu], [relu]]\n", (6, 13)),
    "repeat step": ("  - repeat: {{times: 1, names: '{word}{{i}}', layers: [relu]}}\n", None),
}


@pytest.mark.parametrize("word", ["input", "previous"])
@pytest.mark.parametrize("place", sorted(RESERVED))
def test_reference_words_are_reserved_names(place, word):
    text, location = RESERVED[place]
    body = HEAD + text.format(word=word)
    if place == "repeat step":  # 'input0' is an ordinary name: the pattern cannot produce the word itself
        propagate(parse_network(body, "t.yaml"))
        return
    error = error_of(body)
    assert f"the name '{word}' is reserved: in references it means" in error.message
    assert where(error) == location


# -- a key given twice through a YAML merge ---------------------------------------------------------------------
MERGES = {
    "after a merge": ("  - conv: &c {out: 4, kernel: 1}\n  - conv: {<<: *c, out: 5, out: 6}\n", (5, 28), "'out'"),
    "in an inline merge": ("  - conv: {<<: {out: 4, kernel: 1, out: 6}}\n", (4, 36), "'out'"),
    "in a merge list": ("  - conv: {<<: [{kernel: 1}, {out: 4, out: 6}]}\n", (4, 39), "'out'"),
    "merge key twice": ("  - conv: {<<: {out: 4}, <<: {kernel: 1}}\n", (4, 26), "'<<'"),
}


@pytest.mark.parametrize("case", sorted(MERGES))
def test_a_key_given_twice_through_a_merge_is_an_error(case):
    text, location, key = MERGES[case]
    error = error_of(HEAD + text)
    assert error.message == f"duplicate key {key}"
    assert where(error) == location


def test_merge_keys_resolve_as_yaml_defines_them():
    """A key written in the mapping wins; of several merged mappings the earlier wins (PyYAML's own flattening
    picks by string identity); a merged key points at where it is written."""
    text = HEAD + (
        "  - conv: &a {out: 4, kernel: 1}\n"
        "  - conv: &b {out: 6, kernel: 3, padding: 1}\n"
        "  - conv: {<<: [*a, *b], stride: 2}\n"
        "  - conv: {<<: [*b, *a], kernel: 1, padding: 0}\n"
    )
    network = parse_network(text, "t.yaml")
    assert [dict(node.raw) for node in network.nodes[2:]] == [
        {"out": 4, "kernel": 1, "padding": 1, "stride": 2},
        {"out": 6, "kernel": 1, "padding": 0},
    ]
    assert network.nodes[2].raw.location_of("out").line == 4
    assert [layer.output for layer in propagate(network).layers[2:]] == [(1, 4, 5, 5), (1, 6, 5, 5)]


def test_a_merge_of_something_else_than_a_mapping_is_an_error():
    error = error_of(HEAD + "  - conv: &n 3\n  - conv: {<<: *n, out: 4}\n")
    assert error.message == "a merge key '<<' takes a mapping or a list of mappings, found a scalar"
    assert where(error) == (5, 12)


# -- lrn needs channels and one more dimension, as PyTorch's LocalResponseNorm --------------------------------
def test_lrn_after_flatten_is_refused_as_pytorch_refuses_it():
    error = error_of(HEAD + "  - flatten\n  - lrn: 5\n")
    assert error.message.startswith("lrn needs channels and at least one more dimension")
    assert "received 192 (a flattened tensor)" in error.message
    assert where(error) == (5, 5)


@pytest.mark.parametrize("shape", [[8, 5], [8, 3, 4], [8, 2, 3, 4]])
def test_lrn_keeps_any_rank_with_channels_and_more(shape):
    text = f"name: t\ninput: {shape}\nlayers:\n  - lrn: 3\n"
    assert propagate(parse_network(text, "t.yaml")).layers[-1].output == (1, *shape)


# -- a false-like value is never read as "left out" -----------------------------------------------------------
def test_a_false_shortcut_is_a_type_error_not_the_identity():
    for value in ("false", "0", "''"):
        error = error_of(HEAD + f"  - residual: {{main: [relu], shortcut: {value}}}\n")
        assert error.message.startswith("residual 'shortcut' must be a list of layers or a mapping with name and")
        assert where(error) == (4, 40)


@pytest.mark.parametrize("value", ["", "[]"])
def test_an_empty_or_absent_shortcut_is_the_identity(value):
    text = HEAD + f"  - residual: {{main: [conv: {{out: 3, kernel: 1}}], shortcut: {value}}}\n"
    report = propagate(parse_network(text, "t.yaml"))
    identity = propagate(parse_network(HEAD + "  - residual: {main: [conv: {out: 3, kernel: 1}]}\n", "t.yaml"))
    assert report == identity


#: Every place that takes a list or a mapping, with {v} where the value goes: false, 0 or '' there is an error.
COLLECTIONS = {
    "include": "include: {v}\nlayers: [relu]\n",
    "blocks": "blocks: {v}\nlayers: [relu]\n",
    "args": "args: {v}\nlayers: [relu]\n",
    "expect": "expect: {v}\nlayers: [relu]\n",
    "layers": "layers: {v}\n",
    "block args": "blocks: {{u: {{args: {v}, layers: [relu]}}}}\nlayers: [u]\n",
    "block layers": "blocks: {{u: {{layers: {v}}}}}\nlayers: [u]\n",
    "block call": "blocks: {{u: {{layers: [relu]}}}}\nlayers: [u: {v}]\n",
    "residual main": "layers: [residual: {{main: {v}}}]\n",
    "shortcut": "layers: [residual: {{main: [relu], shortcut: {v}}}]\n",
    "shortcut layers": "layers: [residual: {{main: [relu], shortcut: {{name: s, layers: {v}}}}}]\n",
    "group layers": "layers: [group: {{layers: {v}}}, relu]\n",
    "repeat layers": "layers: [repeat: {{times: 2, layers: {v}}}, relu]\n",
    "aux layers": "layers: [relu, aux: {{layers: {v}}}]\n",
    "branches": "layers: [concat: {{branches: {v}}}]\n",
    "a branch": "layers: [concat: {{branches: [[relu], {v}]}}]\n",
    "arguments": "layers: [relu: {v}]\n",
    "operands": "layers: [relu, add: {v}]\n",
}


@pytest.mark.parametrize("value", ["false", "0", "''"])
@pytest.mark.parametrize("place", sorted(COLLECTIONS))
def test_false_like_values_where_a_collection_goes_are_errors(place, value):
    error_of("input: [3, 8, 8]\n" + COLLECTIONS[place].format(v=value))


# -- an argument named like a value every layer sets (in_channels) ---------------------------------------------
CONTEXT = {
    "block argument": (
        "blocks:\n  b:\n    args: [in_channels: 5]\n    layers: [conv: {out: in_channels, kernel: 1}]\n"
        "layers:\n  - b: {in_channels: 7}\n",
        (5, 12),
        "a block argument",
    ),
    "required block argument": (
        "blocks:\n  b:\n    args: [in_channels]\n    layers: [relu]\nlayers: [b: {in_channels: 7}]\n",
        (5, 12),
        "a block argument",
    ),
    "description argument": (
        "args: [in_channels: 4]\nlayers: [conv: {out: in_channels, kernel: 1}]\n",
        (3, 8),
        "an argument of the description",
    ),
    "repeat variable": (
        "layers: [repeat: {times: 2, var: in_channels, layers: [relu]}]\n",
        (3, 34),
        "a repeat variable",
    ),
}


@pytest.mark.parametrize("case", sorted(CONTEXT))
def test_an_argument_named_like_a_layer_context_value_is_refused(case):
    text, location, what = CONTEXT[case]
    error = error_of("name: t\ninput: [3, 8, 8]\n" + text)
    assert error.message.startswith(f"'in_channels' cannot be {what}: it names the input channels of each layer")
    assert where(error) == location


def test_in_channels_still_reads_the_layer_input_channels():
    text = HEAD + "  - conv: {out: 6, kernel: 1}\n  - conv: {out: 2 * in_channels, kernel: 3, groups: in_channels}\n"
    assert propagate(parse_network(text, "t.yaml")).layers[-1].output == (1, 12, 6, 6)
