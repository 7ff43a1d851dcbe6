"""Reading a description file: safe YAML that remembers where every value stands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import CnnCalcError, Location

#: Bounds that keep any input cheap to read: nesting of YAML collections, the size of the document with every
#: alias expanded (a "billion laughs" file is a few lines that expand to billions of nodes), the file size.
MAX_NESTING = 100
MAX_NODES = 500_000
MAX_FILE_BYTES = 500_000


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


class _Located:
    """What both loaders share: the file name for locations, and clean errors from PyYAML's constructors."""

    file = "<input>"

    def construct_object(self, node, deep=False):
        # PyYAML's own constructors raise plain ValueErrors on values such as 2020-13-45 or a 5000-digit number.
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as error:
            value = f" {_shorten(node.value)!r}" if isinstance(node, yaml.ScalarNode) else ""
            reason = "too many digits" if "digits" in str(error) else str(error)
            raise CnnCalcError(f"cannot read the value{value}: {reason}", _location(self.file, node)) from None


class _PyLoader(_Located, yaml.SafeLoader):
    """PyYAML's pure-Python loader, with bounded nesting: its syntax errors say more than libyaml's."""

    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                mark = self.peek_event().start_mark
                raise CnnCalcError(
                    f"the YAML nests deeper than {MAX_NESTING} levels",
                    Location(self.file, mark.line + 1, mark.column + 1),
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


# libyaml's parser and composer where PyYAML has them: several times faster, and start-up time is part of the
# product. The nesting bound is then checked on the composed nodes, before anything recurses over them.
_Loader = type("_Loader", (_Located, yaml.CSafeLoader), {}) if hasattr(yaml, "CSafeLoader") else _PyLoader


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _check_flow_nesting(text: str, file: str) -> None:
    """Refuse ``[[[[...`` past MAX_NESTING before PyYAML sees it: its scanner takes quadratic time on such input.

    Brackets inside quotes and comments do not count; the count is a bound, not a parse.
    """
    depth, line, column, quote, comment, previous = 0, 1, 0, "", False, "\n"
    for character in text:
        column += 1
        if character == "\n":
            line, column, comment = line + 1, 0, False
        elif comment:
            pass
        elif quote:
            if character == quote:
                quote = ""
        elif character in "'\"" and previous in " \t\n[{,:":
            quote = character
        elif character == "#" and previous in " \t\n":
            comment = True
        elif character in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise CnnCalcError(f"the YAML nests deeper than {MAX_NESTING} levels", Location(file, line, column))
        elif character in "]}":
            depth = max(depth - 1, 0)
        previous = character


#: The tags a description may hold: YAML's core types, and the merge key ``<<``. Any other tag, explicit
#: (``!!omap``, ``!!set``, ``!!binary``, ``!custom``) or YAML 1.1's implicit date, would build a Python type no
#: part of cnncalc expects, so it is refused where it stands, before anything is constructed.
CORE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge")
)
#: A UTF-16 surrogate: YAML's ``"\ud800"`` escape makes one, and no output stream can encode it alone.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _tag_name(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _check_nodes(root: yaml.Node, file: str) -> None:
    """Refuse, at the first node past it (walked without recursion): nesting deeper than MAX_NESTING, a tag
    outside CORE_TAGS, a scalar holding a surrogate."""
    stack = [(root, 1)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise CnnCalcError(f"the YAML nests deeper than {MAX_NESTING} levels", _location(file, node))
        if node.tag not in CORE_TAGS:
            raise CnnCalcError(
                f"YAML tag '{_shorten(_tag_name(node.tag))}' is not allowed: a description holds only maps, lists, "
                "strings, numbers, true/false and null",
                _location(file, node),
            )
        if id(node) in seen:
            continue
        if isinstance(node, yaml.ScalarNode):
            if surrogate := _SURROGATE.search(node.value):
                raise CnnCalcError(
                    f"the string holds the surrogate \\u{ord(surrogate.group()):04x}, which is no character on its "
                    "own: write the character itself (or \\U0001F600 for one above \\uFFFF)",
                    _location(file, node),
                )
            continue
        seen.add(id(node))
        children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
        stack.extend((child, depth + 1) for child in reversed(children))


def _expanded_size(root: yaml.Node, file: str) -> int:
    """Number of nodes with every alias expanded; raises on a recursive alias or past MAX_NODES."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise CnnCalcError("a YAML alias refers to a collection that contains it", _location(file, node))
        active.add(key)
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1
        active.discard(key)
        if total > MAX_NODES:
            raise CnnCalcError(
                f"the YAML expands to more than {MAX_NODES:,} values (aliases counted in full)", _location(file, node)
            )
        sizes[key] = total
        return total

    return size(root)


MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: yaml.BaseLoader, node: yaml.MappingNode) -> Mapping:
    """A mapping with the locations of its keys and values; merge keys (``<<: *base`` or ``<<: [*a, *b]``) resolved
    as YAML defines them, not by PyYAML's flattening (whose order among several merged mappings depends on string
    identity): a key written in the mapping wins over merged ones, and an earlier merged mapping over a later one.
    A key written twice in one mapping is an error, in a merged mapping too (each is built, and checked, as a
    mapping of its own), and so is ``<<`` written twice."""
    result = Mapping()
    result.location = _location(loader.file, node)
    result.key_locations = {}
    result.value_locations = {}
    explicit = []
    merges = 0
    for key_node, value_node in node.value:
        if key_node.tag == MERGE_TAG:
            merges += 1
            if merges > 1:
                raise CnnCalcError("duplicate key '<<'", _location(loader.file, key_node))
            for source in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                if not isinstance(source, yaml.MappingNode):
                    raise CnnCalcError(
                        f"a merge key '<<' takes a mapping or a list of mappings, found a {source.id}",
                        _location(loader.file, key_node if source is value_node else source),
                    )
                merged = loader.construct_object(source, deep=True)
                for key, value in merged.items():
                    if key not in result:
                        result[key] = value
                        result.key_locations[key] = merged.key_locations[key]
                        result.value_locations[key] = merged.value_locations[key]
            continue
        if key_node.tag == "tag:yaml.org,2002:value":  # '=' as a key is text, as PyYAML's flattening makes it
            key_node.tag = "tag:yaml.org,2002:str"
        explicit.append((key_node, value_node))
    written: set = set()
    for key_node, value_node in explicit:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise CnnCalcError("a mapping key must be a plain value", _location(loader.file, key_node)) from None
        if key in written:
            raise CnnCalcError(f"duplicate key '{key}'", _location(loader.file, key_node))
        written.add(key)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locations[key] = _location(loader.file, key_node)
        result.value_locations[key] = _location(loader.file, value_node)
    return result


def _construct_sequence(loader: yaml.BaseLoader, node: yaml.SequenceNode) -> Sequence:
    result = Sequence(loader.construct_object(child, deep=True) for child in node.value)
    result.location = _location(loader.file, node)
    result.item_locations = [_location(loader.file, child) for child in node.value]
    return result


for _loader_class in {_Loader, _PyLoader}:
    _loader_class.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
    _loader_class.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
    # Plain scalars resolve to core types only: YAML 1.1's implicit dates (2020-01-01) and '=' stay strings.
    _loader_class.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag in CORE_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML text safely; syntax errors become a CnnCalcError at the parser's line and column.

    A text libyaml refuses is parsed again by PyYAML's Python parser, whose messages name the offending token.
    """
    try:
        return _parse(text, file, _Loader)
    except CnnCalcError:
        if _Loader is _PyLoader:
            raise
        return _parse(text, file, _PyLoader)


def _parse(text: str, file: str, loader_class: type) -> Any:
    _check_flow_nesting(text, file)
    loader = None
    try:
        loader = loader_class(text)  # the reader already refuses control characters here
        loader.file = file
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, file)
        _expanded_size(node, file)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        problem = error.problem or error.context or "invalid YAML"
        raise CnnCalcError(f"YAML syntax error: {problem}", location) from None
    except yaml.reader.ReaderError as error:
        before = text[: error.position]
        location = Location(file, before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1)
        character = f"#x{error.character:04x}" if isinstance(error.character, int) else repr(error.character)
        raise CnnCalcError(
            f"YAML syntax error: unacceptable character {character} ({error.reason})", location
        ) from None
    except yaml.YAMLError as error:
        raise CnnCalcError(f"YAML error: {error}", Location(file, 1, 1)) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_file(path: Path) -> str:
    """Read a description file as UTF-8 text; every failure is a CnnCalcError naming the file."""
    try:
        if path.is_dir():
            raise IsADirectoryError
        if path.exists() and not path.is_file():
            raise CnnCalcError(f"{path} is not a regular file")
        if path.exists() and path.stat().st_size > MAX_FILE_BYTES:
            raise CnnCalcError(f"{path} is larger than {MAX_FILE_BYTES:,} bytes; a description is far smaller")
        data = path.read_bytes()
    except IsADirectoryError:
        raise CnnCalcError(f"{path} is a directory, not a description file") from None
    except FileNotFoundError:
        raise CnnCalcError(f"no such file: {path}") from None
    except OSError as error:
        raise CnnCalcError(f"cannot read {path}: {error.strerror}") from None
    except ValueError:  # a NUL character in the name
        raise CnnCalcError(f"cannot read {str(path)!r}: not a valid file name") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise CnnCalcError(
            f"{path} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})",
            Location(str(path), line, column),
        ) from None
