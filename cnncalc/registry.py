"""The machinery of layer kinds: argument types, binding of YAML arguments, and the registry.

Each concrete kind (in ``kinds/``) declares its arguments, its shape rule and its counts side by side in one
class; this module turns a YAML mapping into checked argument values and looks kinds up by their YAML name.
Each argument type is one small class holding its converter and its JSON Schema fragment side by side.
"""

from __future__ import annotations

from math import isfinite, prod
from types import SimpleNamespace
from typing import Any, ClassVar, NamedTuple

from .errors import CnnCalcError
from .expr import ExpressionError, evaluate

Shape = tuple  # per-sample shape: (C, *spatial) or (features,)

#: The largest whole-number argument (and input size): keeps every count a few dozen digits at most.
MAX_SIZE = 2**31 - 1

#: Keys every layer accepts besides its own arguments.
COMMON_KEYS = ("name", "when")


def format_shape(shape: Shape) -> str:
    """``(256, 6, 6)`` -> ``256x6x6``; with symbolic sizes ``256 x ceil(H/32) x ceil(W/32)``."""
    plain = all(isinstance(size, int) for size in shape)
    return ("x" if plain else " x ").join(str(size) for size in shape)


def suggest(word: str, choices: list[str]) -> str:
    """A ' (did you mean ...?)' hint, or an empty string when nothing is close."""
    import difflib  # only on the way to an error message

    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class ArgError(CnnCalcError):
    """An argument value that does not fit its type; the binder adds kind, name and location."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _expression(value: Any, names: dict[str, Any]) -> Any:
    if isinstance(value, str):
        try:
            return evaluate(value, names)
        except ExpressionError as error:
            raise ArgError(str(error)) from None
    return value


def _whole(arg: Arg, value: Any, names: dict[str, Any]) -> int:
    value = _expression(value, names)
    if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
        value = int(value)
    if not _is_int(value):
        raise ArgError(f"must be a whole number, received {value!r}")
    lowest = 1 if arg.minimum is None else arg.minimum
    if value < lowest:
        raise ArgError(f"must be at least {lowest:g}, received {value}")
    if value > MAX_SIZE:
        raise ArgError(f"must be at most {MAX_SIZE:,}, received {value:,}")
    return value


def _per_dim(value: Any, rank: int, names: dict[str, Any]) -> tuple:
    value = _expression(value, names)
    if isinstance(value, list):
        if len(value) != rank:
            raise ArgError(
                f"needs {rank} value{'s' if rank > 1 else ''} (one per spatial dimension), "
                f"received {len(value)}: {value!r}"
            )
        return tuple(value)
    return (value,) * rank


#: In the JSON Schema: every value that takes a number may also be an expression, which YAML reads as a string.
EXPRESSION = {"type": "string", "description": "an expression of block arguments and repeat variables"}


def _whole_schema(arg: Arg) -> dict:
    lowest = 1 if arg.minimum is None else arg.minimum
    return {"anyOf": [{"type": "integer", "minimum": lowest, "maximum": MAX_SIZE}, EXPRESSION]}


def _per_dim_schema(item: dict) -> dict:
    return {"anyOf": [item, {"type": "array", "minItems": 1, "maxItems": 3, "items": item}, EXPRESSION]}


class ArgType:
    """An argument type: the check and normalisation of a YAML value, and the JSON Schema of the values it accepts,
    side by side. One instance per type, made at import; the bounds and choices are the Arg's."""

    __slots__ = ()

    def convert(self, arg: Arg, value: Any, rank: int, names: dict[str, Any]) -> Any:
        raise NotImplementedError

    def schema(self, arg: Arg) -> dict:
        raise NotImplementedError


class IntType(ArgType):
    """A whole number from the Arg's minimum (default 1) to MAX_SIZE."""

    __slots__ = ()

    def convert(self, arg, value, rank, names) -> int:
        return _whole(arg, value, names)

    def schema(self, arg) -> dict:
        return _whole_schema(arg)


class FloatType(ArgType):
    """A finite number, at least the Arg's minimum and below its ``below``."""

    __slots__ = ()

    def convert(self, arg, value, rank, names) -> float:
        value = _expression(value, names)
        if not _is_number(value) or not isfinite(value):
            raise ArgError(f"must be a finite number, received {value!r}")
        if arg.minimum is not None and value < arg.minimum:
            raise ArgError(f"must be at least {arg.minimum:g}, received {value}")
        if arg.below is not None and value >= arg.below:
            raise ArgError(f"must be below {arg.below:g}, received {value}")
        return float(value)

    def schema(self, arg) -> dict:
        number: dict[str, Any] = {"type": "number"}
        if arg.minimum is not None:
            number["minimum"] = arg.minimum
        if arg.below is not None:
            number["exclusiveMaximum"] = arg.below
        return {"anyOf": [number, EXPRESSION]}


class BoolType(ArgType):
    """true or false."""

    __slots__ = ()

    def convert(self, arg, value, rank, names) -> bool:
        value = _expression(value, names)
        if not isinstance(value, bool):
            raise ArgError(f"must be true or false, received {value!r}")
        return value

    def schema(self, arg) -> dict:
        return {"anyOf": [{"type": "boolean"}, EXPRESSION]}


class ChoiceType(ArgType):
    """One of the Arg's choices, written as a word (never an expression)."""

    __slots__ = ()

    def convert(self, arg, value, rank, names) -> str:
        if value not in arg.choices:
            raise ArgError(
                f"must be one of {', '.join(arg.choices)}, received {value!r}{suggest(value, list(arg.choices))}"
            )
        return value

    def schema(self, arg) -> dict:
        return {"enum": list(arg.choices)}


class SizesType(ArgType):
    """A whole number per spatial dimension: one for all, or a list of ``rank``; a tuple of ``rank``."""

    __slots__ = ()

    def convert(self, arg, value, rank, names) -> tuple[int, ...]:
        return tuple(_whole(arg, item, names) for item in _per_dim(value, rank, names))

    def schema(self, arg) -> dict:
        return _per_dim_schema(_whole_schema(arg))


class PairsType(ArgType):
    """Per spatial dimension a size or a [before, after] pair (one size for all, or a list); pairs, one per
    dimension."""

    __slots__ = ()

    def convert(self, arg, value, rank, names) -> tuple[tuple[int, int], ...]:
        pairs = []
        for item in _per_dim(value, rank, names):
            if isinstance(item, list):
                if len(item) != 2:
                    raise ArgError(f"per side must be [before, after], received {item!r}")
                pairs.append(tuple(_whole(arg, side, names) for side in item))
            else:
                size = _whole(arg, item, names)
                pairs.append((size, size))
        return tuple(pairs)

    def schema(self, arg) -> dict:
        side = _whole_schema(arg)
        pair = {"type": "array", "minItems": 2, "maxItems": 2, "items": side}
        return _per_dim_schema({"anyOf": [side, pair]})


class PaddingType(PairsType):
    """'same', 'valid', or the pairs of PairsType."""

    __slots__ = ()

    def convert(self, arg, value, rank, names) -> Any:
        if value in ("same", "valid"):
            return value
        return super().convert(arg, value, rank, names)

    def schema(self, arg) -> dict:
        return {"anyOf": [{"enum": ["same", "valid"]}, super().schema(arg)]}


class WholesType(ArgType):
    """A list of whole numbers of any length (at least one), each from the Arg's minimum; a tuple."""

    __slots__ = ()

    def convert(self, arg, value, rank, names) -> tuple[int, ...]:
        value = _expression(value, names)
        if not isinstance(value, list) or not value:
            raise ArgError(f"must be a list of whole numbers, received {value!r}")
        return tuple(_whole(arg, item, names) for item in value)

    def schema(self, arg) -> dict:
        return {"anyOf": [{"type": "array", "minItems": 1, "items": _whole_schema(arg)}, EXPRESSION]}


class ScaleType(ArgType):
    """A positive number per spatial dimension, as the double PyTorch receives as ``scale_factor`` (the size rule
    multiplies in floating point as PyTorch does: 100 x 0.29 is 28)."""

    __slots__ = ()

    def convert(self, arg, value, rank, names) -> tuple:
        scales = []
        for item in _per_dim(value, rank, names):
            item = _expression(item, names)
            try:
                scale = float(item) if _is_number(item) else None
            except OverflowError:
                scale = None
            if scale is None or not isfinite(scale) or scale <= 0:
                raise ArgError(f"must be a positive number, received {item!r}")
            scales.append(scale)
        return tuple(scales)

    def schema(self, arg) -> dict:
        return _per_dim_schema({"anyOf": [{"type": "number", "exclusiveMinimum": 0}, EXPRESSION]})


INT, FLOAT, BOOL, CHOICE = IntType(), FloatType(), BoolType(), ChoiceType()
SIZES, PAIRS, PADDING, SCALE, WHOLES = SizesType(), PairsType(), PaddingType(), ScaleType(), WholesType()


class Arg(NamedTuple):
    """One argument of a layer kind: its name, type, default and a one-line description."""

    name: str
    type: ArgType
    doc: str
    default: Any = None
    required: bool = False
    minimum: float | None = None
    below: float | None = None  # exclusive upper bound
    choices: tuple[str, ...] = ()

    def convert(self, value: Any, rank: int, names: dict[str, Any]) -> Any:
        """Check and normalise one value; per-dim types become tuples of length ``rank``."""
        return self.type.convert(self, value, rank, names)


#: The name of an array keyed by its layer's path alone (PyTorch's bare parameters, as torchvision ConvNeXt's
#: ``features.1.0.layer_scale``), where every other array is keyed ``<layer path>.<name>``.
SELF = ""


class Weight(NamedTuple):
    """One named array a layer owns: trainable parameters or buffers (batch-norm running statistics).

    The name ``SELF`` (empty) keys the array by the layer's path itself."""

    name: str
    shape: tuple[int, ...]
    trainable: bool = True

    @property
    def size(self) -> int:
        return prod(self.shape)

    def key(self, path: str) -> str:
        """The array's key in a weights file: ``<path>.<name>``, or the path itself for a ``SELF`` array."""
        return f"{path}.{self.name}" if self.name != SELF else path


class Operand(NamedTuple):
    """An input of a multi-input layer: the path of the layer that produced it, and its shape."""

    path: str
    shape: Shape


class LayerKind:
    """A layer kind: arguments, shape rule and counts side by side. Counts are per sample."""

    name: ClassVar[str]
    doc: ClassVar[str]
    args: ClassVar[tuple[Arg, ...]] = ()
    main: ClassVar[str | None] = None  # the argument a scalar shorthand sets (``- linear: 1000``)
    operands: ClassVar[str | None] = None  # a multi-input kind's key listing the layers it reads (``of``)
    joins: ClassVar[str | None] = None  # the structure whose paths this kind joins: 'residual' or 'branches'
    shape_rule: ClassVar[str]  # the shape rule in words, for the docs (docs/format.md)
    macs_rule: ClassVar[str | None] = None  # the MAC rule in words of the kinds that count MACs (docs/counting.md)
    flops_rule: ClassVar[str] = "0"  # the FLOP rule in words, for the docs (docs/counting.md)

    @property
    def multi_input(self) -> bool:
        """Whether the kind reads several earlier outputs (as Operands) rather than the previous one."""
        return self.operands is not None

    def output(self, a: SimpleNamespace, x: Any) -> Shape:
        raise NotImplementedError

    def weights(self, a: SimpleNamespace, x: Any) -> list[Weight]:
        return []

    def macs(self, a: SimpleNamespace, x: Any, y: Shape) -> int:
        return 0

    def flops(self, a: SimpleNamespace, x: Any, y: Shape) -> int:
        return 0

    def rank(self, x: Any) -> int:
        """Number of spatial dimensions per-dim arguments are expanded to."""
        shape = x[0].shape if self.multi_input else x
        return max(len(shape) - 1, 1)


REGISTRY: dict[str, LayerKind] = {}


def register(cls: type[LayerKind]) -> type[LayerKind]:
    """Class decorator: add a kind to the registry under its YAML name."""
    if cls.name in REGISTRY:
        raise RuntimeError(f"layer kind {cls.name} registered twice")
    if cls.joins is not None and any(kind.joins == cls.joins for kind in REGISTRY.values()):
        raise RuntimeError(f"layer kind {cls.name} is a second join of {cls.joins}")
    REGISTRY[cls.name] = cls()
    return cls


def joiner(structure: str) -> LayerKind:
    """The kind declared to join the paths of a structure (``joins = 'residual'``)."""
    for kind in REGISTRY.values():
        if kind.joins == structure:
            return kind
    raise RuntimeError(f"no layer kind joins {structure}")


def bind(kind: LayerKind, raw, names: dict[str, Any], x: Any) -> SimpleNamespace:
    """Turn the YAML arguments of one layer (a located Mapping) into checked values.

    Unknown keys suggest a known one; every error points at the offending key or value.
    """
    known = {arg.name: arg for arg in kind.args}
    location_of = raw.location_of
    for key in raw:
        if key not in known and key not in COMMON_KEYS:
            raise CnnCalcError(
                f"{kind.name} has no argument '{key}'{suggest(key, list(known))}"
                f" (it takes: {', '.join(known) or 'no arguments'})",
                raw.key_locations.get(key, raw.location),
            )
    rank = kind.rank(x)
    values = {}
    for arg in kind.args:
        if arg.name not in raw or raw[arg.name] is None:
            if arg.required:
                raise CnnCalcError(f"{kind.name} needs the argument '{arg.name}' ({arg.doc})", location_of(None))
            values[arg.name] = None if arg.default is None else arg.convert(arg.default, rank, names)
            continue
        try:
            values[arg.name] = arg.convert(raw[arg.name], rank, names)
        except ArgError as error:
            raise CnnCalcError(f"{kind.name}: {arg.name} {error.message}", location_of(arg.name)) from None
    return SimpleNamespace(**values)
