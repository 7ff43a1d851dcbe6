"""The JSON Schema is generated from the registry, describes every kind, and accepts every built-in network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cnncalc.ci.schema import schema
from cnncalc.errors import CnnCalcError
from cnncalc.load import parse_network
from cnncalc.network import STRUCTURES
from cnncalc.propagate import propagate
from cnncalc.registry import BOOL, CHOICE, FLOAT, INT, PADDING, PAIRS, REGISTRY, SCALE, SIZES, WHOLES, Arg, ArgError

ARCHITECTURES = sorted((Path(__file__).parent.parent / "architectures").glob("*.yaml"))


def test_every_kind_and_argument_is_described():
    kinds = schema()["definitions"]["layer"]["anyOf"][1]["properties"]
    assert set(kinds) == set(REGISTRY) | set(STRUCTURES)
    for name, kind in REGISTRY.items():
        mapping = kinds[name]["anyOf"][0]
        assert set(mapping["properties"]) >= {arg.name for arg in kind.args} | {"name", "when"}
        assert mapping["additionalProperties"] is False
        assert kinds[name]["description"] == kind.doc


def test_cli_prints_the_schema(cli):
    result = cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == schema()


def test_schema_is_plain_json_and_deterministic():
    assert json.dumps(schema(), sort_keys=True) == json.dumps(schema(), sort_keys=True)


jsonschema = pytest.importorskip("jsonschema")


def validator():
    jsonschema.Draft7Validator.check_schema(schema())
    return jsonschema.Draft7Validator(schema())


@pytest.mark.parametrize("path", ARCHITECTURES, ids=lambda path: path.name)
def test_built_in_architectures_are_valid(path):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator().iter_errors(document)]
    assert not errors


@pytest.mark.parametrize(
    "text",
    [
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3, strides: 2}\n",  # unknown argument
        "input: [3, 8, 8]\nlayers:\n  - conv: {kernel: 3}\n",  # missing argument
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 0, kernel: 3}\n",  # below the minimum
        "input: [3, 8, 8]\nlayers:\n  - upsample: {mode: cubic, scale: 2}\n",  # not a choice
        "input: [3, 8, 8]\nlayer: [relu]\n",  # unknown top-level key
        "input: [3, 8, 8]\nlayers:\n  - repeat: {layers: [relu]}\n",  # repeat without times
        "input: [3, 8, 8]\nexpect: {param: {max: 1M}}\nlayers: [relu]\n",  # unknown expectation
        "input: [3, 8, 8]\nlayers:\n  - group: {layers: [relu], extra: 1}\n",  # unknown structure key
    ],
)
def test_schema_rejects_what_the_loader_rejects(text):
    assert list(validator().iter_errors(yaml.safe_load(text)))


def test_schema_accepts_expressions_blocks_and_budgets():
    text = """
input: [3, 32, 32]
expect: {output: [10], params: {max: 25M}, activation_bytes: {max: 2MiB}, flops: 1G}
blocks:
  unit:
    args: [width, stride: 1]
    layers:
      - conv: {out: width * 2, kernel: 3, stride: stride, padding: same}
layers:
  - unit: {width: 8}
  - concat: {branches: [[relu], [identity]]}
  - repeat: {times: 2, var: j, layers: [leakyrelu: 0.1]}
  - globalavgpool
  - flatten
  - linear: 10
"""
    assert not list(validator().iter_errors(yaml.safe_load(text)))


ARG_SAMPLES = [
    # an argument, values its converter accepts and values it refuses (rank 2); a string is an expression to both
    (Arg("n", INT, ""), [3, 2.0], [0, 2.5, True]),
    (Arg("p", FLOAT, "", minimum=0, below=1), [0, 0.5], [1, -0.1, True]),
    (Arg("b", BOOL, ""), [True, False], [1, None]),
    (Arg("m", CHOICE, "", choices=("nearest", "bilinear")), ["nearest"], ["cubic", 1]),
    (Arg("k", SIZES, ""), [3, [1, 7]], [0, [1, 0], [1.5, 2]]),
    (Arg("pad", PADDING, "", minimum=0), ["same", "valid", 0, [1, 2], [[0, 1], [1, 1]]], [-1, [[0, 1, 2], 1]]),
    (Arg("s", SCALE, ""), [2, 1.5, [2, 0.5]], [0, -1, [2, 0]]),
    (Arg("pairs", PAIRS, "", minimum=0), [0, [1, 2], [[0, 1], [1, 1]]], [-1, [[0, 1, 2], 1], [1, True]]),
    (Arg("dims", WHOLES, "", minimum=0), [[0], [2, 0, 1]], [[], 3, [-1], [1.5]]),
]


@pytest.mark.parametrize("arg, accepted, refused", ARG_SAMPLES, ids=lambda value: getattr(value, "name", ""))
def test_each_argument_types_converter_and_schema_agree(arg, accepted, refused):
    check = jsonschema.Draft7Validator(arg.type.schema(arg))
    for value in accepted:
        arg.convert(value, 2, {})
        assert check.is_valid(value), value
    for value in refused:
        with pytest.raises(ArgError):
            arg.convert(value, 2, {})
        assert not check.is_valid(value), value


def test_schema_accepts_naming_control_aux_and_args():
    text = """
input: [8, 16, 16]
args: [aux_logits: false, width: 8]
layers:
  - residual:
      main: [conv: {out: width, kernel: 3, padding: 1}]
      shortcut: {name: downsample, layers: [conv: {name: '0', out: width, kernel: 1}, batchnorm: {name: '1'}]}
  - concat: {inline: true, branches: {branch1: [relu], branch2: []}}
  - concat: {inline: "not aux_logits", branches: [[relu], [relu]]}
  - aux: {name: aux1, when: aux_logits, layers: [globalavgpool, flatten, linear: 10]}
  - repeat: {times: 2, start: 1, names: "denselayer{i}", layers: [relu]}
"""
    assert not list(validator().iter_errors(yaml.safe_load(text)))


@pytest.mark.parametrize(
    "layer",
    [
        "residual: {main: [relu], shortcut: {name: d}}",
        "residual: {main: [relu], shortcut: {name: d, layers: []}}",
        "aux: {layers: []}",
        "aux: {name: a}",
        "repeat: {times: 2, start: -1, layers: [relu]}",
        "repeat: {times: 2, names: layer, layers: [relu]}",
        "concat: {inlined: true, branches: [[relu], [relu]]}",
    ],
)
def test_schema_rejects_bad_naming_control_and_aux(layer):
    text = f"input: [3, 8, 8]\nlayers:\n  - relu\n  - {layer}\n"
    assert list(validator().iter_errors(yaml.safe_load(text)))
    with pytest.raises(CnnCalcError):
        propagate(parse_network(text, "t.yaml"))
