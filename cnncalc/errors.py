"""The one exception type cnncalc raises for anything a user can fix, and where it points."""

from __future__ import annotations

from typing import NamedTuple


class Location(NamedTuple):
    """A position in a description file; line and column count from 1.

    A NamedTuple rather than a frozen dataclass: loading makes one for every key and value of a file, and this
    is three times cheaper to create.
    """

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def one_line(text: str) -> str:
    """Error messages are one line each, whatever a description's strings hold."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class CnnCalcError(Exception):
    """A mistake in a description or a command: what is wrong, where, and in which layer.

    ``argument`` names the layer argument the mistake is about (``groups``, ``kernel``) when the code that finds
    it does not know where that argument stands; the propagator turns it into the location of its value.
    ``uses`` lists the block uses the mistake was reached through, innermost first: (block name, use site).
    """

    def __init__(
        self, message: str, location: Location | None = None, layer: str | None = None, argument: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.location = location
        self.layer = layer
        self.argument = argument
        self.uses: list[tuple[str, Location]] = []

    def located(self, location: Location | None, layer: str | None = None) -> CnnCalcError:
        """Fill in the location and layer path if they are not known yet."""
        if self.location is None:
            self.location = location
        if self.layer is None:
            self.layer = layer
        return self

    def used_in(self, block: str, site: Location) -> CnnCalcError:
        """Record that the mistake lies inside block ``block`` used at ``site`` (called from the inside out)."""
        if self.location != site and (block, site) not in self.uses:
            self.uses.append((block, site))
        return self

    @property
    def detail(self) -> str:
        """The message with the block uses it was reached through, without location and layer."""
        text = self.message
        for block, site in self.uses:
            where = f"line {site.line}" if self.location and site.file == self.location.file else str(site)
            text += f" (in block '{block}' used at {where})"
        return one_line(text)

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        layer = f" [{one_line(self.layer)}]" if self.layer else ""
        return f"{where}error: {self.detail}{layer}"


class UsageError(CnnCalcError):
    """A mistake in the command line rather than in a description (exit code 2)."""
