"""Property tests of naming over generated networks: whatever the names, an accepted network never gives two layers
one path, never gives two arrays one weight key, no layer's path is the group of another layer, and no layer or
group takes a word that references read first (``input``, ``previous``).

The generator builds structurally sound networks (every layer keeps 4 channels, so most of them are accepted) out
of every structure that names things (groups, residuals with both shortcut forms, branch sets in list and mapping
form, inline or not, repeats with name patterns, aux heads, blocks) and draws the names from a small pool of the
troublesome ones: digits as numbers and as text, dotted names, the reference words, names that auto names and join
names also take, and the names of weight arrays.
"""

from __future__ import annotations

import os

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cnncalc.backend.weights import expected
from cnncalc.errors import CnnCalcError
from cnncalc.load import parse_network
from cnncalc.propagate import propagate

SCALE = int(os.environ.get("CNNCALC_FUZZ_SCALE", "1"))
PROPERTY = settings(
    max_examples=300 * SCALE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NAMES = ["a", "b", "0", "1", "conv1", "relu1", "add", "concat", "shortcut", "weight", "bias", "running_mean"]
NAMES += ["unit1", "x-1", "a1"]
NAME = st.sampled_from([*NAMES, "previous"])  # valid names but one, so that most networks pass
KEY = st.sampled_from(["0", 0, "a", "a.b", "b", "input"])  # branch keys: few, so that they meet often
REFERENCE = st.sampled_from([*NAMES, "a.b", "b.0", "a.a", "0.a", "input"])


def _named(draw, arguments: dict) -> dict:
    if draw(st.booleans()):
        arguments["name"] = draw(NAME)
    return arguments


@st.composite
def leaf(draw):
    kind = draw(st.sampled_from(["relu", "conv", "batchnorm", "scale"] * 3 + ["add"]))
    if kind == "add":
        return {"add": [draw(REFERENCE), "previous"]}
    arguments = {"out": 4, "kernel": 1} if kind == "conv" else {}
    arguments = _named(draw, arguments)
    return {kind: arguments} if arguments else kind


def items(depth: int, blocks: bool = True):
    flat = lambda lists: [x for part in lists for x in part]  # noqa: E731
    return st.lists(item(depth + 1, blocks), min_size=1, max_size=2).map(flat)


@st.composite
def item(draw, depth: int = 0, blocks: bool = True) -> list:
    """One or two list items (a branch set is followed by a conv back to 4 channels, an aux head follows a relu)."""
    structures = ["leaf"] * 3 + ["group", "residual", "branches", "branches", "repeat", "aux"] + ["block"] * blocks
    structure = draw(st.sampled_from(structures))
    if depth >= 2 or structure == "leaf":
        return [draw(leaf())]
    if structure == "block":
        return [{"unit": _named(draw, {})}]
    if structure == "group":
        return [{"group": _named(draw, {"layers": draw(items(depth, blocks))})}]
    if structure == "aux":
        return ["relu", {"aux": _named(draw, {"layers": draw(items(depth, blocks))})}]
    if structure == "residual":
        arguments = _named(draw, {"main": draw(items(depth, blocks))})
        form = draw(st.sampled_from(["identity", "list", "mapping"]))
        if form == "list":
            arguments["shortcut"] = draw(items(depth, blocks))
        elif form == "mapping":
            arguments["shortcut"] = {"name": draw(NAME), "layers": draw(items(depth, blocks))}
        return [{"residual": arguments}]
    if structure == "repeat":
        arguments = {"times": draw(st.integers(1, 2)), "layers": draw(items(depth, blocks))}
        if draw(st.booleans()):
            arguments["names"] = draw(st.sampled_from(["{i}", "a{i}", "b.{i}", "conv{i}", "relu{i}"]))
        if draw(st.booleans()):
            arguments["start"] = 1
        return [{"repeat": _named(draw, arguments)}]
    count = draw(st.integers(2, 3))
    if draw(st.booleans()):
        branches = {draw(KEY): draw(items(depth, blocks)) for _ in range(count)}
    else:
        branches = [draw(items(depth, blocks)) for _ in range(count)]
    arguments = {"branches": branches}
    if draw(st.booleans()):
        arguments["inline"] = True
        arguments = _named(draw, arguments)
    return [{"concat": arguments}, {"conv": {"out": 4, "kernel": 1}}]


@st.composite
def network_text(draw) -> str:
    document = {
        "name": "names",
        "input": [4, 3, 3],
        "blocks": {"unit": {"layers": draw(items(1, blocks=False))}},
        "layers": draw(items(0)),
    }
    return yaml.safe_dump(document, default_flow_style=None, sort_keys=False)


ZERO_AND_QUOTED_ZERO = "input: [4, 3, 3]\nlayers:\n- concat:\n    branches: {0: [relu], '0': [relu]}\n"
DOTTED_BESIDE_GROUP = (
    "input: [4, 3, 3]\nlayers:\n- concat:\n    branches:\n      a.b: [relu: {name: c}]\n"
    "      a: [group: {name: b, layers: [relu: {name: c}]}]\n"
)


@PROPERTY
@given(text=network_text())
@example(text=ZERO_AND_QUOTED_ZERO)
@example(text=DOTTED_BESIDE_GROUP)
def test_no_two_layers_share_a_path_and_no_two_arrays_a_key(text):
    try:
        network = parse_network(text, "names.yaml")
        report = propagate(network)
    except CnnCalcError as error:
        assert "\n" not in str(error)
        return
    paths = [node.path for node in network.nodes]
    assert len(paths) == len(set(paths)), text
    groups = {path.rsplit(".", 1)[0] for path in paths if "." in path}
    assert not groups & set(paths), f"a layer's path is the group of another layer: {groups & set(paths)}\n{text}"
    reserved = {"input", "previous"} & {part for path in paths for part in path.split(".")}
    assert not reserved, f"a layer or group is named {reserved}, a word references read first\n{text}"
    keys = [weight.key for weight in expected(report)]
    assert len(keys) == len(set(keys)), text


def test_the_generator_mostly_makes_accepted_networks():
    """The property above is only worth something if most generated networks pass the loader."""
    accepted = []

    @settings(PROPERTY, max_examples=200)
    @given(text=network_text())
    def count(text):
        try:
            propagate(parse_network(text, "names.yaml"))
            accepted.append(True)
        except CnnCalcError:
            accepted.append(False)

    count()
    assert sum(accepted) >= len(accepted) // 5, f"{sum(accepted)} of {len(accepted)} accepted"
