"""From a parsed description to a network graph: blocks called, repeats unrolled, every layer given a path.

The result is a flat list of nodes in execution order, each naming the nodes it reads from, plus the groups
(block instances, repeats, residuals, branch sets) that tables indent by. Layer arguments stay as written;
the propagator checks them when it meets the layer's input, so that ``groups: in_channels`` can be resolved.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from . import kinds  # noqa: F401  (registers the layer kinds)
from .errors import CnnCalcError, Location
from .expr import ExpressionError, evaluate
from .registry import REGISTRY, joiner, suggest
from .source import Mapping, Sequence

INPUT = -1  # producer index of the network input
MAX_LAYERS = 100_000
MAX_STEPS = 300_000  # items visited while expanding, skipped ones too: bounds nested repeats of 'when: false'
MAX_DEPTH = 64
TOP_KEYS = ("name", "description", "input", "args", "include", "blocks", "layers", "expect")
STRUCTURES = ("residual", "repeat", "group", "aux")
#: The keys each structure takes (besides its kind); the schema is generated from these too.
STRUCTURE_KEYS = {
    "residual": ("main", "shortcut", "name", "when"),
    "repeat": ("times", "layers", "var", "start", "names", "name", "when"),
    "group": ("layers", "name", "when"),
    "aux": ("layers", "name", "when"),
}
SHORTCUT_KEYS = ("name", "layers")  # the mapping form of a residual's 'shortcut'
BRANCHES_KEYS = ("branches", "inline", "name", "when")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+$")


class Node(NamedTuple):
    """One layer to compute: its kind, its arguments as written, and which outputs it reads."""

    path: str
    kind: str
    raw: Mapping
    names: dict
    inputs: tuple[int, ...]
    location: Location
    uses: tuple = ()  # (block name, use site) of the blocks this layer lies in, innermost first


class Group(NamedTuple):
    """A named structure around consecutive nodes: a block instance, a repeat, a residual, a branch set."""

    path: str
    kind: str
    location: Location


class Output(NamedTuple):
    """An output of the network: the main one (``aux`` is None) or the last layer of an ``aux:`` group."""

    index: int  # of the node giving it
    aux: str | None = None  # the path of the aux group


class Network(NamedTuple):
    """A description expanded into nodes in execution order.

    ``outputs`` lists the main output first, then the auxiliary ones in execution order; empty means the last
    node is the one output (a Network made without the loader). ``args`` holds the description arguments' values.
    """

    name: str
    description: str
    file: str
    input: tuple
    input_location: Location
    nodes: tuple[Node, ...]
    groups: tuple[Group, ...]
    expect: Any = None  # budget.Expectations from the description's 'expect:', if any
    outputs: tuple[Output, ...] = ()
    args: dict | None = None


def outputs_of(network: Network) -> tuple[Output, ...]:
    """The network's outputs, main first."""
    return network.outputs or (Output(len(network.nodes) - 1),)


class Block(NamedTuple):
    """A reusable block: its parameters (name -> default, None when required) and its layers."""

    name: str
    params: dict
    layers: Sequence
    location: Location


class Scope:
    """Where names are given and looked up: a path prefix, the names used in it, the counters of auto names."""

    __slots__ = ("path", "entry", "parent", "used", "counters")

    def __init__(self, path: str, entry: int, parent: Scope | None = None):
        self.path = path
        self.entry = entry  # the producer of the scope's input
        self.parent = parent
        self.used: set[str] = set()
        self.counters: dict[str, int] = {}

    def child_path(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name


def _mapping(value: Any, location: Location, what: str) -> Mapping:
    if value is None:
        empty = Mapping()
        empty.location, empty.key_locations, empty.value_locations = location, {}, {}
        return empty
    if not isinstance(value, Mapping):
        raise CnnCalcError(f"{what} must be a mapping of arguments, received {_describe(value)}", location)
    return value


def _sequence(value: Any, location: Location, what: str) -> Sequence:
    if not isinstance(value, Sequence):
        raise CnnCalcError(f"{what} must be a list of layers, received {_describe(value)}", location)
    return value


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _check_keys(mapping: Mapping, allowed: tuple[str, ...], what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise CnnCalcError(
                f"{what} has no key '{key}'{suggest(key, list(allowed))} (it takes: {', '.join(allowed)})",
                mapping.key_locations.get(key, mapping.location),
            )


class Expander:
    """Expands the layers of one description into nodes and groups."""

    def __init__(self, blocks: dict[str, Block], arguments: dict | None = None):
        self.blocks = blocks
        self.arguments = arguments or {}  # the description's 'args:', visible everywhere, blocks included
        self.residual_join = joiner("residual")
        self.branch_join = joiner("branches")
        self.nodes: list[Node] = []
        self.groups: list[Group] = []
        self.produced: dict[str, int] = {}  # path -> index of the node giving its output
        self.aux: list[Output] = []  # the auxiliary outputs, in execution order
        self.calls: list[str] = []
        self.uses: list[tuple[str, Location]] = []  # block uses being expanded, outermost first
        self.steps = 0

    # -- lists and items ------------------------------------------------------------------------------------
    def expand_list(self, items: Sequence, scope: Scope, current: int, names: dict, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise CnnCalcError(f"structures nest deeper than {MAX_DEPTH} levels", items.location)
        for index, item in enumerate(items):
            current = self.expand_item(item, items.location_of(index), scope, current, names, depth, None)
        return current

    def expand_item(self, item, location, scope, current, names, depth, forced_name) -> int:
        self._step(location)
        kind, value, kind_location, value_location = self._split(item, location)
        arguments = self._arguments(kind, value, kind_location, value_location)
        if "when" in arguments and not self._condition(arguments, names):
            return current
        if kind == self.branch_join.name and "branches" in arguments and self._inline(arguments, names):
            return self._branches_inline(arguments, scope, current, names, depth, location)
        name = self._name(kind, arguments, scope, forced_name)
        path = scope.child_path(name)
        if kind == "residual":
            named = forced_name is not None or "name" in arguments
            last = self._residual(arguments, path, scope, current, names, depth, location, named)
        elif kind == "repeat":
            last = self._repeat(arguments, path, scope, current, names, depth, location)
        elif kind == "group":
            _check_keys(arguments, STRUCTURE_KEYS["group"], "group")
            inner = Scope(path, current, scope)
            self.groups.append(Group(path, "group", location))
            layers = _sequence(arguments.get("layers"), arguments.location_of("layers"), "group 'layers'")
            last = self.expand_list(layers, inner, current, names, depth + 1)
        elif kind == "aux":
            return self._aux(arguments, path, scope, current, names, depth, location)
        elif kind == self.branch_join.name and "branches" in arguments:
            last = self._branches(arguments, path, scope, current, names, depth, location)
        elif kind in self.blocks:
            last = self._call(self.blocks[kind], arguments, path, scope, current, names, depth, location)
        else:
            last = self._layer(kind, arguments, path, scope, current, names, location)
        self.produced[path] = last
        return last

    def _split(self, item: Any, location: Location) -> tuple[str, Any, Location, Location]:
        """An item is a bare kind or a one-key mapping from kind to its arguments: (kind, arguments, where each is)."""
        if isinstance(item, str):
            return item, None, location, location
        if isinstance(item, Mapping) and len(item) == 1:
            kind = next(iter(item))
            if isinstance(kind, str):
                return kind, item[kind], item.key_locations[kind], item.location_of(kind)
        if isinstance(item, Mapping) and len(item) > 1:
            keys = ", ".join(str(key) for key in item)
            raise CnnCalcError(
                f"a layer is a one-key mapping from its kind to its arguments, received the keys {keys}"
                " (indent the arguments under the kind)",
                location,
            )
        raise CnnCalcError(f"a layer must be a kind name or a one-key mapping, received {_describe(item)}", location)

    def _arguments(self, kind: str, value: Any, kind_location: Location, location: Location) -> Mapping:
        known = kind in REGISTRY or kind in self.blocks or kind in STRUCTURES
        if not known:
            choices = sorted([*REGISTRY, *self.blocks, *STRUCTURES])
            raise CnnCalcError(f"unknown layer kind '{kind}'{suggest(kind, choices)}", kind_location)
        if isinstance(value, Mapping) or value is None:
            return _mapping(value, location, kind)
        layer_kind = REGISTRY.get(kind)
        main = (layer_kind.operands or layer_kind.main) if layer_kind is not None else None
        if main is None or isinstance(value, dict):
            raise CnnCalcError(f"{kind} takes a mapping of arguments, received {_describe(value)}", location)
        shorthand = _mapping(None, location, kind)
        shorthand[main] = value
        shorthand.value_locations[main] = location
        shorthand.key_locations[main] = location
        return shorthand

    def _condition(self, arguments: Mapping, names: dict) -> bool:
        return _flag(arguments, "when", names)

    def _name(self, kind: str, arguments: Mapping, scope: Scope, forced: str | None) -> str:
        if forced is not None:
            name = forced
        elif "name" in arguments:
            name = _checked_name(arguments["name"], arguments.location_of("name"))
        else:
            count = scope.counters.get(kind, 0)
            while True:
                count += 1
                name = f"{kind}{count}"
                if name not in scope.used:
                    break
            scope.counters[kind] = count
        _claim(scope, name, arguments.location_of("name"))
        return name

    # -- leaves ---------------------------------------------------------------------------------------------
    def _add_node(self, path: str, kind: str, raw: Mapping, names: dict, inputs: tuple, location: Location) -> int:
        if len(self.nodes) >= MAX_LAYERS:
            raise CnnCalcError(f"the network expands to more than {MAX_LAYERS:,} layers", location)
        self.nodes.append(Node(path, kind, raw, names, inputs, location, tuple(reversed(self.uses))))
        return len(self.nodes) - 1

    def _layer(self, kind, arguments, path, scope, current, names, location) -> int:
        inputs: tuple[int, ...] = (current,)
        key = REGISTRY[kind].operands
        if key is not None:
            inputs = self._references(kind, key, arguments, scope, current, names)
            arguments = _without(arguments, key)
        return self._add_node(path, kind, arguments, names, inputs, location)

    def _references(
        self, kind: str, key: str, arguments: Mapping, scope: Scope, current: int, names: dict
    ) -> tuple[int, ...]:
        operands = arguments.get(key)
        location = arguments.location_of(key)
        if not isinstance(operands, list) or len(operands) < 2:
            raise CnnCalcError(
                f"{kind} needs '{key}': a list of at least two earlier layers (or 'previous', 'input')", location
            )
        return tuple(
            self._resolve(ref, operands.location_of(i), scope, current, names) for i, ref in enumerate(operands)
        )

    def _resolve(self, reference: Any, location: Location, scope: Scope, current: int, names: dict) -> int:
        if isinstance(reference, str) and isinstance(names.get(reference), str):
            reference = names[reference]  # a block parameter naming a layer of the caller
        if reference == "previous":
            return current
        if reference == "input":
            return scope.entry
        if isinstance(reference, str):
            lookup: Scope | None = scope
            while lookup is not None:
                path = lookup.child_path(reference)
                if path in self.produced:
                    return self.produced[path]
                lookup = lookup.parent
        visible = sorted({path.rsplit(".", 1)[-1] for path in self.produced})
        raise CnnCalcError(
            f"no earlier layer named {reference!r}{suggest(reference, visible)}"
            " (a reference names a layer that comes before it)",
            location,
        )

    # -- structures -----------------------------------------------------------------------------------------
    def _residual(self, arguments, path, scope, current, names, depth, location, named) -> int:
        """A named residual groups its layers under its name; an unnamed one adds them to the enclosing scope."""
        _check_keys(arguments, STRUCTURE_KEYS["residual"], "residual")
        if named:
            self.groups.append(Group(path, "residual", location))
            inner = Scope(path, current, scope)
        else:
            inner = scope
        if "main" not in arguments:
            raise CnnCalcError("residual needs 'main': the list of layers of its main path", arguments.location)
        main = _sequence(arguments["main"], arguments.location_of("main"), "residual 'main'")
        main_last = self.expand_list(main, inner, current, names, depth + 1)
        if main_last == current:
            raise CnnCalcError("residual 'main' path has no layers", arguments.location_of("main"))
        shortcut_last = current
        if arguments.get("shortcut"):
            where = arguments.location_of("shortcut")
            shortcut, name = self._shortcut(arguments["shortcut"], where, inner)
            shortcut_scope = Scope(inner.child_path(name), current, inner)
            self.groups.append(Group(shortcut_scope.path, "shortcut", where))
            shortcut_last = self.expand_list(shortcut, shortcut_scope, current, names, depth + 1)
            self.produced[shortcut_scope.path] = shortcut_last
        kind = self.residual_join.name
        join = inner.child_path(self._unique(inner, kind))
        return self._add_node(join, kind, _mapping(None, location, kind), names, (main_last, shortcut_last), location)

    def _shortcut(self, value: Any, location: Location, scope: Scope) -> tuple[Sequence, str]:
        """A shortcut's layers and name: a list (named ``shortcut``) or ``{name: downsample, layers: [...]}``."""
        if not isinstance(value, Mapping):
            return _sequence(value, location, "residual 'shortcut'"), self._unique(scope, "shortcut")
        _check_keys(value, SHORTCUT_KEYS, "residual 'shortcut'")
        for key in SHORTCUT_KEYS:
            if key not in value:
                raise CnnCalcError(
                    f"residual 'shortcut' as a mapping needs '{key}' (it takes: {', '.join(SHORTCUT_KEYS)})",
                    value.location,
                )
        layers = _sequence(value["layers"], value.location_of("layers"), "residual 'shortcut' layers")
        if not layers:
            raise CnnCalcError(
                "residual 'shortcut' layers is empty (leave 'shortcut' out for the identity)",
                value.location_of("layers"),
            )
        name = _checked_name(value["name"], value.location_of("name"))
        _claim(scope, name, value.location_of("name"))
        return layers, name

    @staticmethod
    def _unique(scope: Scope, name: str) -> str:
        """``name`` if it is free in the scope, else name2, name3, ...; the result is taken."""
        key = "=" + name  # counters of join names, apart from those of auto-named kinds
        count = scope.counters.get(key, 1)
        chosen = name if count == 1 else f"{name}{count}"
        while chosen in scope.used:
            count += 1
            chosen = f"{name}{count}"
        scope.counters[key] = count
        scope.used.add(chosen)
        return chosen

    def _inline(self, arguments: Mapping, names: dict) -> bool:
        """Whether a branch set is ``inline: true`` (an expression or true/false, like ``when``)."""
        _check_keys(arguments, BRANCHES_KEYS, self.branch_join.name)
        return "inline" in arguments and _flag(arguments, "inline", names)

    def _branch_list(self, arguments: Mapping) -> tuple[list, bool]:
        """The branches as (name, layers, location), and whether they were given as a mapping."""
        kind = self.branch_join.name
        branches = arguments["branches"]
        where = arguments.location_of("branches")
        if isinstance(branches, Mapping):
            named = [(str(key), value, branches.location_of(key)) for key, value in branches.items()]
        elif isinstance(branches, Sequence):
            named = [(str(i), value, branches.location_of(i)) for i, value in enumerate(branches)]
        else:
            raise CnnCalcError(
                f"{kind} 'branches' must be a list of layer lists, received {_describe(branches)}", where
            )
        if len(named) < 2:
            raise CnnCalcError(f"{kind} needs at least two branches", where)
        return named, isinstance(branches, Mapping)

    def _branches_inline(self, arguments, scope, current, names, depth, location) -> int:
        """``inline: true``: no level for the set. Mapping branches are scopes named by their keys in the
        enclosing scope; list branches put their layers in it. The join is ``concat`` (or ``name:``) there."""
        kind = self.branch_join.name
        named, mapped = self._branch_list(arguments)
        branches = arguments["branches"]
        lasts = []
        for name, layers, branch_location in named:
            layers = _sequence(layers, branch_location, "a branch")
            if mapped:
                key_location = branches.key_locations.get(name, branch_location)
                _claim(scope, _checked_name(name, key_location), key_location)
                branch = Scope(scope.child_path(name), current, scope)
                self.groups.append(Group(branch.path, "branch", branch_location))
            else:  # the enclosing scope's names and counters, with the set's input as 'input'
                branch = Scope(scope.path, current, scope.parent)
                branch.used, branch.counters = scope.used, scope.counters
            last = self.expand_list(layers, branch, current, names, depth + 1)
            if mapped:
                self.produced[branch.path] = last
            lasts.append(last)
        if "name" in arguments:
            join = _checked_name(arguments["name"], arguments.location_of("name"))
            _claim(scope, join, arguments.location_of("name"))
        else:
            join = self._unique(scope, kind)
        path = scope.child_path(join)
        index = self._add_node(path, kind, _mapping(None, location, kind), names, tuple(lasts), location)
        self.produced[path] = index
        return index

    def _branches(self, arguments, path, scope, current, names, depth, location) -> int:
        kind = self.branch_join.name
        named, _ = self._branch_list(arguments)
        self.groups.append(Group(path, kind, location))
        inner = Scope(path, current, scope)
        lasts = []
        for name, layers, branch_location in named:
            inner.used.add(name)
            branch = Scope(inner.child_path(name), current, inner)
            self.groups.append(Group(branch.path, "branch", branch_location))
            last = self.expand_list(_sequence(layers, branch_location, "a branch"), branch, current, names, depth + 1)
            self.produced[branch.path] = last
            lasts.append(last)
        join = inner.child_path(self._unique(inner, kind))
        return self._add_node(join, kind, _mapping(None, location, kind), names, tuple(lasts), location)

    def _aux(self, arguments, path, scope, current, names, depth, location) -> int:
        """A side output: its layers read the current output, its last layer is an extra network output, and
        the main path continues from the output before it."""
        _check_keys(arguments, STRUCTURE_KEYS["aux"], "aux")
        if current == INPUT:
            raise CnnCalcError(
                "aux reads the output of the layer before it, and there is none here (an aux head cannot come first)",
                location,
            )
        layers = _sequence(arguments.get("layers"), arguments.location_of("layers"), "aux 'layers'")
        self.groups.append(Group(path, "aux", location))
        last = self.expand_list(layers, Scope(path, current, scope), current, names, depth + 1)
        if last == current:
            raise CnnCalcError("aux 'layers' has no layers", arguments.location_of("layers"))
        self.produced[path] = last
        self.aux.append(Output(last, path))
        return current

    def _repeat(self, arguments, path, scope, current, names, depth, location) -> int:
        _check_keys(arguments, STRUCTURE_KEYS["repeat"], "repeat")
        times = arguments.get("times")
        if isinstance(times, str):
            try:
                times = evaluate(times, names)
            except ExpressionError as error:
                raise CnnCalcError(f"repeat times: {error}", arguments.location_of("times")) from None
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise CnnCalcError(
                f"repeat needs 'times', a whole number >= 1, received {times!r}", arguments.location_of("times")
            )
        if times > MAX_LAYERS:
            raise CnnCalcError(
                f"repeat times {times:,} is more than the {MAX_LAYERS:,} layers a network may have",
                arguments.location_of("times"),
            )
        var = arguments.get("var", "i")
        if not isinstance(var, str) or not var.isidentifier():
            raise CnnCalcError(f"repeat 'var' must be a name, received {var!r}", arguments.location_of("var"))
        start = self._start(arguments, names)
        pattern = arguments.get("names", "{" + var + "}")
        if not isinstance(pattern, str) or "{" + var + "}" not in pattern:
            raise CnnCalcError(
                f"repeat 'names' must be text holding {{{var}}} (the step's value), received {pattern!r}",
                arguments.location_of("names"),
            )
        layers = _sequence(arguments.get("layers"), arguments.location_of("layers"), "repeat 'layers'")
        self.groups.append(Group(path, "repeat", location))
        inner = Scope(path, current, scope)
        for i in range(start, start + times):
            self._step(location)
            local = {**names, var: i}
            name = _checked_name(pattern.replace("{" + var + "}", str(i)), arguments.location_of("names"))
            if len(layers) == 1:
                current = self.expand_item(layers[0], layers.location_of(0), inner, current, local, depth + 1, name)
            else:
                _claim(inner, name, arguments.location_of("names"))
                step = Scope(inner.child_path(name), current, inner)
                self.groups.append(Group(step.path, "step", location))
                current = self.expand_list(layers, step, current, local, depth + 1)
                self.produced[step.path] = current
        return current

    @staticmethod
    def _start(arguments: Mapping, names: dict) -> int:
        """The first value of a repeat's variable: ``start``, a whole number >= 0 (default 0)."""
        start = arguments.get("start", 0)
        if isinstance(start, str):
            try:
                start = evaluate(start, names)
            except ExpressionError as error:
                raise CnnCalcError(f"repeat start: {error}", arguments.location_of("start")) from None
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise CnnCalcError(
                f"repeat 'start' must be a whole number >= 0, received {start!r}", arguments.location_of("start")
            )
        return start

    def _call(self, block: Block, arguments, path, scope, current, names, depth, location) -> int:
        if block.name in self.calls:
            chain = " -> ".join([*self.calls[self.calls.index(block.name) :], block.name])
            raise CnnCalcError(f"block '{block.name}' uses itself ({chain})", location)
        bound: dict = {}
        for key, value in arguments.items():
            if key in ("name", "when"):
                continue
            if key not in block.params:
                raise CnnCalcError(
                    f"block '{block.name}' has no parameter '{key}'{suggest(key, list(block.params))}"
                    f" (it takes: {', '.join(block.params) or 'none'})",
                    arguments.key_locations.get(key, location),
                )
            bound[key] = self._block_argument(value, names, arguments.location_of(key))
        for key, default in block.params.items():
            if key not in bound:
                if default is None:
                    raise CnnCalcError(f"block '{block.name}' needs the parameter '{key}'", location)
                bound[key] = self._block_argument(default, {**self.arguments, **bound}, block.location)
        self.groups.append(Group(path, block.name, location))
        self.calls.append(block.name)
        self.uses.append((block.name, location))
        try:
            inner_names = {**self.arguments, **bound} if self.arguments else bound
            return self.expand_list(block.layers, Scope(path, current, scope), current, inner_names, depth + 1)
        except CnnCalcError as error:
            error.used_in(block.name, location)
            raise
        finally:
            self.calls.pop()
            self.uses.pop()

    def _step(self, location: Location) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise CnnCalcError(f"the description expands to more than {MAX_STEPS:,} items (repeats multiply)", location)

    @staticmethod
    def _block_argument(value: Any, names: dict, location: Location) -> Any:
        """Strings are expressions in the caller's names, unless they are a plain word like 'same'."""
        if not isinstance(value, str) or (value.isidentifier() and value not in names):
            return value
        try:
            return evaluate(value, names)
        except ExpressionError as error:
            raise CnnCalcError(str(error), location) from None


def _checked_name(name: Any, location: Location) -> str:
    """A name given in the description: letters, digits, '_' and '-' (digits quoted, YAML reads 0 as a number)."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        hint = f" (quote digits: name: '{name}')" if isinstance(name, int) and not isinstance(name, bool) else ""
        raise CnnCalcError(f"a layer name is letters, digits, '_' and '-', received {name!r}{hint}", location)
    return name


def _claim(scope: Scope, name: str, location: Location) -> None:
    """Take ``name`` in ``scope``; a name already taken there is a duplicate."""
    if name in scope.used:
        raise CnnCalcError(f"duplicate layer name '{scope.child_path(name)}'", location)
    scope.used.add(name)


def _flag(arguments: Mapping, key: str, names: dict) -> bool:
    """A true/false argument (``when``, ``inline``): written as true or false, or an expression giving one."""
    value = arguments[key]
    if isinstance(value, str):
        try:
            value = evaluate(value, names)
        except ExpressionError as error:
            raise CnnCalcError(f"{key}: {error}", arguments.location_of(key)) from None
    if not isinstance(value, bool):
        raise CnnCalcError(f"{key} must be true or false, received {value!r}", arguments.location_of(key))
    return value


def _without(arguments: Mapping, key: str) -> Mapping:
    rest = _mapping(None, arguments.location, "")
    for other, value in arguments.items():
        if other != key:
            rest[other] = value
            rest.key_locations[other] = arguments.key_locations.get(other, arguments.location)
            rest.value_locations[other] = arguments.location_of(other)
    return rest
