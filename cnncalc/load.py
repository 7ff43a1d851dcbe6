"""Loading a network: find the file (a path or a built-in name), parse it and expand it."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .errors import CnnCalcError, Location, UsageError
from .expr import ExpressionError, evaluate
from .gcpause import gc_paused
from .network import (
    CONTEXT_NAMES,
    INPUT,
    STRUCTURES,
    TOP_KEYS,
    Block,
    Expander,
    Network,
    Output,
    Scope,
    _check_keys,
    _describe,
    _sequence,
    context_name_message,
)
from .registry import MAX_SIZE, REGISTRY, suggest
from .source import Mapping, Sequence, parse_yaml, read_file
from .symbolic.algebra import is_symbol_name, symbol

BLOCK_KEYS = ("args", "layers", "description")


MAX_INCLUDES = 16
MAX_INCLUDED_FILES = 64


def _builtin_folder() -> Path:
    """The architectures/ folder: shipped inside the package when installed, the checkout's own when run from
    source or installed editable (pyproject.toml maps one onto the other)."""
    here = Path(__file__).resolve().parent
    shipped = here / "architectures"
    return shipped if shipped.is_dir() else here.parent / "architectures"


def builtin_names() -> list[str]:
    """Names of the built-in networks shipped in architectures/ (files starting with '_' only hold blocks)."""
    names = [
        entry.name[:-5]
        for entry in _builtin_folder().iterdir()
        if entry.name.endswith(".yaml") and not entry.name.startswith("_")
    ]
    return sorted(names, key=lambda name: [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)])


def builtin_family(name: str) -> str:
    """The family of a built-in network: the ``_``-prefixed block library its description includes first
    (``include: _resnet.yaml``: ``resnet``), or '' for a description that shares no library."""
    document = parse_yaml((_builtin_folder() / f"{name}.yaml").read_text(encoding="utf-8"), f"{name}.yaml")
    value = document.get("include") if isinstance(document, Mapping) else None
    first = value[0] if isinstance(value, list) and value else value
    if not isinstance(first, str) or not first.startswith("_"):
        return ""
    return Path(first).stem[1:]


def resolve(net: str) -> tuple[str, str, Any]:
    """Return (text, label, folder) for a YAML path or a built-in name; anything else is a usage error.

    The folder is where the description's includes are looked up.
    """
    path = Path(net)
    if path.exists() or net.endswith((".yaml", ".yml")) or "/" in net:
        if not path.exists():
            raise UsageError(f"no such file: {net}")
        return read_file(path), str(path), path.parent
    names = builtin_names()
    if net in names:
        entry = _builtin_folder() / f"{net}.yaml"
        return entry.read_text(encoding="utf-8"), f"{net}.yaml", _builtin_folder()
    raise UsageError(
        f"'{net}' is neither a file nor a built-in network{suggest(net, names)} (built-in: {', '.join(names)})"
    )


def load(net: str, input_shape: tuple | None = None, settings: dict | None = None) -> Network:
    """Load and expand the network ``net`` (a path or a built-in name); ``settings`` (``--set``) override the
    description's ``args:`` of the same name (other names are left to the caller: size symbols)."""
    text, label, folder = resolve(net)
    return parse_network(text, label, input_shape, folder, settings)


def parse_network(
    text: str, file: str, input_shape: tuple | None = None, folder: Any = None, settings: dict | None = None
) -> Network:
    """Parse a description's text and expand it into a Network; includes are read from ``folder``."""
    document = parse_yaml(text, file)
    start = Location(file, 1, 1)
    if document is None:
        raise CnnCalcError("the description is empty", start)
    if not isinstance(document, Mapping):
        raise CnnCalcError(
            f"a description is a mapping with name, input and layers, received {_describe(document)}",
            getattr(document, "location", start),
        )
    _check_keys(document, TOP_KEYS, "the description")
    name = document.get("name", Path(file).stem)
    if not isinstance(name, str):
        raise CnnCalcError(f"name must be text, received {name!r}", document.location_of("name"))
    description = document.get("description", "")
    if not isinstance(description, str):
        raise CnnCalcError(f"description must be text, received {description!r}", document.location_of("description"))
    if "input" not in document:
        raise CnnCalcError("the description needs 'input', e.g. input: [3, 224, 224]", document.location)
    shape = input_shape if input_shape is not None else parse_input(document["input"], document.location_of("input"))
    if "layers" not in document:
        raise CnnCalcError("the description needs 'layers', a list of layers", document.location)
    layers = _sequence(document["layers"], document.location_of("layers"), "layers")
    blocks = _included_blocks(document, Path(file).parent if folder is None else folder, [os.path.normpath(file)])
    blocks.update(parse_blocks(document.get("blocks"), document.location_of("blocks"), blocks))
    expect = None
    if "expect" in document:
        from .ci.budget import parse_expectations

        expect = parse_expectations(document["expect"], document.location_of("expect"))
    arguments = description_args(document.get("args"), document.location_of("args"), settings or {})
    expander = Expander(blocks, arguments)
    with gc_paused():
        main = expander.expand_list(layers, Scope("", INPUT), INPUT, dict(arguments), 0)
    if not expander.nodes:
        raise CnnCalcError("the network has no layers", document.location_of("layers"))
    return Network(
        name,
        description,
        file,
        tuple(shape),
        document.location_of("input"),
        tuple(expander.nodes),
        tuple(expander.groups),
        expect,
        (Output(main), *expander.aux),
        arguments,
    )


def description_args(value: Any, location: Location, settings: dict) -> dict:
    """``args: [aux_logits: false]``: names usable in every expression and ``when:`` of the description (blocks
    included); a ``--set`` of the same name overrides the default. A bare name must be set."""
    params = _block_params("", value, location, "the description")
    arguments: dict = {}
    for name, default in params.items():
        if name in settings:
            arguments[name] = _setting(name, settings[name], default)
        elif default is None:
            raise CnnCalcError(
                f"the description needs the argument '{name}': give it with --set {name}=VALUE", location
            )
        elif isinstance(default, str) and not (default.isidentifier() and default not in arguments):
            try:
                arguments[name] = evaluate(default, arguments)
            except ExpressionError as error:
                raise CnnCalcError(f"args: {name}: {error}", location) from None
        else:
            arguments[name] = default
    return arguments


def _setting(name: str, value: Any, default: Any) -> Any:
    """A ``--set`` value for an argument whose default is true/false: 1 and 0 are accepted for true and false."""
    if isinstance(default, bool) and value in (0, 1) and not isinstance(value, bool):
        return bool(value)
    if isinstance(default, bool) and not isinstance(value, bool):
        raise UsageError(f"--set {name} takes true or false (or 1, 0), received {value!r}")
    return value


def parse_input(value: Any, location: Location) -> tuple:
    """``input: [3, 224, 224]``: channels, then one to three spatial sizes, each a whole number >= 1."""
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise CnnCalcError(
            f"input must be a list like [3, 224, 224] (channels, then 0 to 3 sizes), received {_describe(value)}",
            location,
        )
    for index, size in enumerate(value):
        if is_symbol_name(size):  # a size symbol such as H (docs/symbolic.md)
            continue
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise CnnCalcError(f"input sizes must be whole numbers >= 1, received {size!r}", value.location_of(index))
        if size > MAX_SIZE:
            raise CnnCalcError(f"input sizes must be at most {MAX_SIZE:,}, received {size:,}", value.location_of(index))
    return tuple(symbol(size) if isinstance(size, str) else size for size in value)


def _included_blocks(document: Mapping, folder: Any, chain: list[str], read: list | None = None) -> dict[str, Block]:
    """The blocks of the files named by ``include:`` (relative to the including file), included ones first."""
    value = document.get("include")
    if value is None:
        return {}
    location = document.location_of("include")
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise CnnCalcError(f"include must be a file name or a list of them, received {_describe(value)}", location)
    blocks: dict[str, Block] = {}
    for index, name in enumerate(names):
        if isinstance(value, list):
            location = value.location_of(index)
        entry = folder / name
        shown = os.path.normpath(entry) if isinstance(entry, Path) else name
        if shown in chain:
            raise CnnCalcError(f"include cycle: {' -> '.join([*chain, shown])}", location)
        if len(chain) > MAX_INCLUDES:
            raise CnnCalcError(f"includes nest deeper than {MAX_INCLUDES} files", location)
        read = [] if read is None else read
        read.append(shown)
        if len(read) > MAX_INCLUDED_FILES:
            raise CnnCalcError(f"a description may include at most {MAX_INCLUDED_FILES} files in all", location)
        text = _read_include(entry, name, location)
        included = parse_yaml(text, str(entry) if isinstance(entry, Path) else name)
        if not isinstance(included, Mapping):
            raise CnnCalcError(
                f"an included file holds a mapping with 'blocks', received {_describe(included)}", location
            )
        _check_keys(included, ("blocks", "include", "description"), f"included file '{name}'")
        inner = _included_blocks(included, entry.parent if isinstance(entry, Path) else folder, [*chain, shown], read)
        inner.update(parse_blocks(included.get("blocks"), included.location_of("blocks"), {**blocks, **inner}))
        blocks.update(inner)
    return blocks


def _read_include(entry: Any, name: str, location: Location) -> str:
    """The text of an included description: a .yaml/.yml regular file of bounded size, UTF-8."""
    if not name.endswith((".yaml", ".yml")):
        raise CnnCalcError(f"cannot include '{name}': an included file is a .yaml or .yml description", location)
    if isinstance(entry, Path):
        try:
            return read_file(entry)
        except CnnCalcError as error:
            raise CnnCalcError(f"cannot include '{name}': {error.message}", location) from None
    try:
        return entry.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CnnCalcError(f"cannot include '{name}': {getattr(error, 'strerror', None) or error}", location) from None


def load_library(path: str) -> dict[str, Block]:
    """Check a file that only holds blocks (and includes), the kind other descriptions include."""
    text, label, folder = resolve(path)
    document = parse_yaml(text, label)
    if not isinstance(document, Mapping):
        raise CnnCalcError(
            f"a block library is a mapping with 'blocks', received {_describe(document)}",
            getattr(document, "location", Location(label, 1, 1)),
        )
    _check_keys(document, ("blocks", "include", "description"), "a block library")
    blocks = _included_blocks(document, folder, [os.path.normpath(label)])
    blocks.update(parse_blocks(document.get("blocks"), document.location_of("blocks"), blocks))
    return blocks


def parse_blocks(value: Any, location: Location, existing: dict | None = None) -> dict[str, Block]:
    """``blocks: {name: {args: [width, stride: 1], layers: [...]}}``; a name may not be defined twice."""
    existing = existing or {}
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CnnCalcError(
            f"blocks must be a mapping from block name to its definition, received {_describe(value)}", location
        )
    blocks = {}
    for name, definition in value.items():
        where = value.key_locations[name]
        if not isinstance(name, str) or not name.isidentifier():
            raise CnnCalcError(f"a block name must be a word, received {name!r}", where)
        if name in REGISTRY or name in STRUCTURES:
            raise CnnCalcError(f"block name '{name}' is already a layer kind", where)
        if name in existing:
            raise CnnCalcError(f"block '{name}' is already defined in {existing[name].location}", where)
        if not isinstance(definition, Mapping):
            raise CnnCalcError(
                f"block '{name}' must be a mapping with args and layers, received {_describe(definition)}",
                value.location_of(name),
            )
        _check_keys(definition, BLOCK_KEYS, f"block '{name}'")
        if "layers" not in definition:
            raise CnnCalcError(f"block '{name}' needs 'layers'", definition.location)
        layers = _sequence(definition["layers"], definition.location_of("layers"), f"block '{name}' layers")
        params = _block_params(name, definition.get("args"), definition.location_of("args"))
        blocks[name] = Block(name, params, layers, where)
    return blocks


def _block_params(block: str, value: Any, location: Location, owner: str | None = None) -> dict:
    """``args: [width, out, stride: 1]``: a bare name is required, a one-key mapping gives a default.
    ``owner`` names whose arguments they are in messages (default ``block 'NAME'``)."""
    if value is None:
        return {}
    owner = owner or f"block '{block}'"
    if not isinstance(value, Sequence):
        raise CnnCalcError(
            f"{owner} args must be a list like [width, stride: 1], received {_describe(value)}", location
        )
    params: dict = {}
    for index, item in enumerate(value):
        if isinstance(item, str):
            name, default = item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            name, default = next(iter(item.items()))
            if default is None:
                raise CnnCalcError(f"{owner} argument '{name}' has an empty default", value.location_of(index))
        else:
            raise CnnCalcError(
                f"a block argument is a name or 'name: default', received {_describe(item)}", value.location_of(index)
            )
        if not isinstance(name, str) or not name.isidentifier():
            raise CnnCalcError(f"a block argument name must be a word, received {name!r}", value.location_of(index))
        if name in ("name", "when"):
            raise CnnCalcError(f"'{name}' cannot be a block argument: every layer has it", value.location_of(index))
        if name in CONTEXT_NAMES:
            what = "a block argument" if owner.startswith("block") else f"an argument of {owner}"
            raise CnnCalcError(context_name_message(name, what), value.location_of(index))
        params[name] = default
    return params
