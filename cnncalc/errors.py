"""The one exception type cnncalc raises for anything a user can fix, and where it points."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A position in a description file; line and column count from 1."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class CnnCalcError(Exception):
    """A mistake in a description or a command: what is wrong, where, and in which layer."""

    def __init__(self, message: str, location: Location | None = None, layer: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.layer = layer

    def located(self, location: Location | None, layer: str | None = None) -> "CnnCalcError":
        """Fill in the location and layer path if they are not known yet."""
        if self.location is None:
            self.location = location
        if self.layer is None:
            self.layer = layer
        return self

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        layer = f" [{self.layer}]" if self.layer else ""
        return f"{where}error: {self.message}{layer}"


class UsageError(CnnCalcError):
    """A mistake in the command line rather than in a description (exit code 2)."""
