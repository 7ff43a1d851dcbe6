"""Reading a description file: safe YAML that remembers where every value stands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import CnnCalcError, Location


class Mapping(dict):
    """A YAML mapping that knows the location of itself, of each key and of each value."""

    location: Location
    key_locations: dict
    value_locations: dict

    def location_of(self, key: Any) -> Location:
        """Where the value of ``key`` stands, or the mapping itself when the key is absent."""
        return self.value_locations.get(key, self.location)


class Sequence(list):
    """A YAML sequence that knows the location of itself and of each item."""

    location: Location
    item_locations: list

    def location_of(self, index: int) -> Location:
        """Where item ``index`` stands."""
        return self.item_locations[index] if index < len(self.item_locations) else self.location


def _location(file: str, node: yaml.Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry source locations."""

    file = "<input>"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Mapping:
    loader.flatten_mapping(node)
    result = Mapping()
    result.location = _location(loader.file, node)
    result.key_locations = {}
    result.value_locations = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise CnnCalcError("a mapping key must be a plain value", _location(loader.file, key_node)) from None
        if key in result:
            raise CnnCalcError(f"duplicate key '{key}'", _location(loader.file, key_node))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locations[key] = _location(loader.file, key_node)
        result.value_locations[key] = _location(loader.file, value_node)
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> Sequence:
    result = Sequence(loader.construct_object(child, deep=True) for child in node.value)
    result.location = _location(loader.file, node)
    result.item_locations = [_location(loader.file, child) for child in node.value]
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML text safely; syntax errors become a CnnCalcError at the parser's line and column."""
    loader = _Loader(text)
    loader.file = file
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        problem = error.problem or error.context or "invalid YAML"
        raise CnnCalcError(f"YAML syntax error: {problem}", location) from None
    except yaml.YAMLError as error:
        raise CnnCalcError(f"YAML error: {error}", Location(file, 1, 1)) from None
    finally:
        loader.dispose()


def read_file(path: Path) -> str:
    """Read a description file as UTF-8 text; every failure is a CnnCalcError naming the file."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise CnnCalcError(f"{path} is a directory, not a description file") from None
    except FileNotFoundError:
        raise CnnCalcError(f"no such file: {path}") from None
    except OSError as error:
        raise CnnCalcError(f"cannot read {path}: {error.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CnnCalcError(
            f"{path} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None
