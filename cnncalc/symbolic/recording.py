"""Recording the conditions met while propagating symbolic sizes.

Size rules call ``require`` (and ``note``) with a comparison: ``True`` passes, ``False`` is an error, and an
undecided ``Condition`` (``algebra.py``) is recorded in the active ``Collector``, which the propagator tells
which layer it is in. With whole-number sizes every comparison is True or False.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from ..errors import CnnCalcError, Location
from .algebra import Condition


class Recorded(NamedTuple):
    """A condition met while propagating, with the rule it comes from and the layer it stands in.

    rule: 'size' (every output >= 1, the window fits), 'merge' (add/concat operands agree) or 'exact' (no input
    pixels dropped; advisory, never required).
    """

    condition: Condition
    message: str
    rule: str
    layer: str | None
    location: Location | None


class Collector:
    """Where ``require`` and ``note`` record conditions during one symbolic propagation."""

    def __init__(self):
        self.items: list[Recorded] = []
        self.layer: str | None = None
        self.location: Location | None = None

    def at(self, layer: str, location: Location | None) -> None:
        """The propagator says which layer the next conditions belong to."""
        self.layer, self.location = layer, location

    def record(self, condition, message: str, rule: str) -> None:
        self.items.append(Recorded(condition, message, rule, self.layer, self.location))


_ACTIVE: ContextVar[Collector | None] = ContextVar("cnncalc_conditions", default=None)


@contextmanager
def collecting() -> Iterator[Collector]:
    """Record the conditions of everything propagated inside the block."""
    collector = Collector()
    token = _ACTIVE.set(collector)
    try:
        yield collector
    finally:
        _ACTIVE.reset(token)


def active_collector() -> Collector | None:
    """The collector of the enclosing ``collecting()`` block, or None."""
    return _ACTIVE.get()


def require(condition, message: str | Callable[[], str], rule: str = "size", argument: str | None = None) -> None:
    """A size rule: True passes, False raises CnnCalcError(message), a Condition is recorded (or raises
    UndecidedError when nothing collects). ``argument`` names the layer argument an error is about."""
    if not isinstance(condition, Condition):
        condition = bool(condition)  # a comparison of whole numbers, whatever its type (a NumPy bool too)
    if condition is True:
        return
    text = message() if callable(message) else message
    if condition is False:
        raise CnnCalcError(text, argument=argument)
    collector = _ACTIVE.get()
    if collector is None:
        bool(condition)  # raises UndecidedError
    else:
        collector.record(condition, text, rule)


def note(remainder: Callable[[], Any], message: Callable[[], str]) -> None:
    """Advisory: record ``remainder() == 0`` as an 'exact' condition while collecting; no cost otherwise."""
    collector = _ACTIVE.get()
    if collector is None:
        return
    value = remainder()
    if isinstance(value, int) and value == 0:
        return
    collector.record(Condition(value, "==", 0), message(), "exact")
