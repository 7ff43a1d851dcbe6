"""A JSON Schema (draft-07) of the description format, generated from the layer registry, never written by hand.

Every layer kind's arguments come from its Arg declarations (each argument type gives its own fragment), the
structures' keys from network.STRUCTURE_KEYS, the top-level keys from network.TOP_KEYS and ``expect:`` from
budget. ``cnncalc schema`` prints it; editors that speak yaml-language-server take it with
``# yaml-language-server: $schema=cnncalc.schema.json``.
Expressions (``out: width * 4``) are strings, so every number may also be a string.
"""

from __future__ import annotations

from typing import Any

from .. import kinds  # noqa: F401  (kinds registers the layer kinds)
from ..load import BLOCK_KEYS
from ..network import BRANCHES_KEYS, SHORTCUT_KEYS, STRUCTURE_KEYS, TOP_KEYS
from ..registry import COMMON_KEYS, EXPRESSION, MAX_SIZE, REGISTRY, Arg, LayerKind
from ..units import UNIT_HELP
from . import budget

SCHEMA_ID = "https://cnncalc.invalid/description.schema.json"
LAYER_LIST = {"type": "array", "items": {"$ref": "#/definitions/layer"}}


def _arg_schema(arg: Arg) -> dict:
    """The values one argument accepts, from its declared type and bounds."""
    schema = dict(arg.type.schema(arg))
    schema["description"] = arg.doc + ("" if arg.default is None else f" (default {arg.default!r})")
    return schema


def _common() -> dict:
    return {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9_\\-]+$", "description": "the layer's name in paths"},
        "when": {"anyOf": [{"type": "boolean"}, EXPRESSION], "description": "keep the layer only if this holds"},
    }


def _kind_schema(kind: LayerKind) -> dict:
    properties = {arg.name: _arg_schema(arg) for arg in kind.args}
    properties.update({key: value for key, value in _common().items() if key in COMMON_KEYS})
    required = [arg.name for arg in kind.args if arg.required]
    if kind.operands is not None:
        properties[kind.operands] = {
            "type": "array",
            "minItems": 2,
            "items": {"type": "string"},
            "description": "earlier layers to combine (names, 'previous', 'input')",
        }
        required = [kind.operands]
    mapping: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        mapping["required"] = required
    options: list[dict] = [mapping]
    if not required:
        options.append({"type": "null"})
    if kind.main is not None:
        options.append(properties[kind.main])
    if kind.operands is not None:
        options.append(properties[kind.operands])
    if kind.joins == "branches":
        options.append(
            _object(
                {
                    "branches": {
                        "anyOf": [
                            {"type": "array", "minItems": 2, "items": LAYER_LIST},
                            {"type": "object", "minProperties": 2, "additionalProperties": LAYER_LIST},
                        ]
                    }
                },
                BRANCHES_KEYS,
                ["branches"],
                {"inline": _flag("no level for the set: branches (or their layers) in the enclosing group")},
            )
        )
    return {"description": kind.doc, "anyOf": options}


def _flag(description: str) -> dict:
    return {"anyOf": [{"type": "boolean"}, EXPRESSION], "description": description}


def _object(properties: dict, keys: tuple[str, ...], required: list[str], extra: dict | None = None) -> dict:
    common = {**_common(), **(extra or {})}
    return {
        "type": "object",
        "properties": {key: properties.get(key, common.get(key, {})) for key in keys},
        "required": required,
        "additionalProperties": False,
    }


def _structures() -> dict:
    whole = {"anyOf": [{"type": "integer", "minimum": 1}, EXPRESSION]}
    named_shortcut = _object({"layers": {**LAYER_LIST, "minItems": 1}}, SHORTCUT_KEYS, list(SHORTCUT_KEYS))
    fields = {
        "residual": {"main": LAYER_LIST, "shortcut": {"anyOf": [LAYER_LIST, {"type": "null"}, named_shortcut]}},
        "repeat": {
            "times": whole,
            "layers": LAYER_LIST,
            "var": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            "start": {
                "anyOf": [{"type": "integer", "minimum": 0}, EXPRESSION],
                "description": "the variable's first value (default 0)",
            },
            "names": {
                "type": "string",
                "pattern": "\\{[A-Za-z_][A-Za-z0-9_]*\\}",
                "description": "the name of each step, '{i}' replaced by the variable's value (default '{i}')",
            },
        },
        "group": {"layers": LAYER_LIST},
        "aux": {"layers": {**LAYER_LIST, "minItems": 1}},
    }
    required = {"residual": ["main"], "repeat": ["times", "layers"], "group": ["layers"], "aux": ["layers"]}
    return {name: _object(fields[name], keys, required[name]) for name, keys in STRUCTURE_KEYS.items()}


def _expect() -> dict:
    properties: dict[str, Any] = {
        "output": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "integer", "minimum": 1},
            "description": "output shape per sample, without the batch",
        }
    }
    for figure, unit in budget.BUDGET_UNITS.items():
        amount = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}], "description": UNIT_HELP[unit]}
        properties[figure] = {
            "anyOf": [
                amount,
                {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": False,
                    "properties": {bound: amount for bound in budget.BOUNDS},
                },
            ]
        }
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "description": "budgets and expectations that 'cnncalc check' enforces",
    }


def schema() -> dict:
    """The JSON Schema of a description file (and of a block library, which has only blocks)."""
    layer_kinds = {name: _kind_schema(kind) for name, kind in REGISTRY.items()}
    layer_kinds.update(_structures())
    parameters = {
        "type": "array",
        "description": "parameters: a name (required) or 'name: default'",
        "items": {"anyOf": [{"type": "string"}, {"type": "object", "minProperties": 1, "maxProperties": 1}]},
    }
    block_fields = {"description": {"type": "string"}, "args": parameters, "layers": LAYER_LIST}
    block_call = {
        "anyOf": [{"type": "null"}, {"type": "object"}],
        "description": "a block defined under 'blocks' (or included), with its arguments",
    }
    top = {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "input": {
            "type": "array",
            "minItems": 1,
            "maxItems": 4,
            "items": {"type": "integer", "minimum": 1, "maximum": MAX_SIZE},
            "description": "channels, then 0 to 3 spatial sizes: [3, 224, 224]",
        },
        "args": {
            **parameters,
            "description": "names usable in every expression and 'when:' (blocks included); --set NAME=VALUE"
            " overrides a default",
        },
        "include": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "files whose blocks this description uses",
        },
        "blocks": {"type": "object", "additionalProperties": {"$ref": "#/definitions/block"}},
        "layers": LAYER_LIST,
        "expect": _expect(),
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "cnncalc network description",
        "type": "object",
        "properties": {key: top[key] for key in TOP_KEYS},
        "additionalProperties": False,
        "dependencies": {"layers": ["input"], "input": ["layers"]},
        "definitions": {
            "layer": {
                "anyOf": [
                    {"type": "string", "description": "a layer kind or block without arguments"},
                    {
                        "type": "object",
                        "minProperties": 1,
                        "maxProperties": 1,
                        "properties": layer_kinds,
                        "additionalProperties": block_call,
                    },
                ]
            },
            "block": {
                "type": "object",
                "properties": {key: block_fields[key] for key in BLOCK_KEYS},
                "required": ["layers"],
                "additionalProperties": False,
            },
        },
    }
