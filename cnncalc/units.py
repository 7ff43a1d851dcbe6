"""Human-readable numbers: 60.97 M, 11.51 G, 243.86 MB (decimal prefixes, 1 MB = 10^6 bytes)."""

from __future__ import annotations

_PREFIXES = ((10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))


def human(value: int, unit: str = "") -> str:
    """``60965224`` -> ``60.97 M``; numbers below 1000 are printed whole; a symbolic count as its expression."""
    if not isinstance(value, (int, float)):
        return f"{value} {unit}".rstrip()
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.2f} {prefix}{unit}"
    return f"{value} {unit}".rstrip()


def is_zero(value) -> bool:
    """True for the int 0; a symbolic count (docs/symbolic.md) is never blanked."""
    return isinstance(value, int) and value == 0


def grouped(value: int) -> str:
    """``60965224`` -> ``60,965,224``."""
    return f"{value:,}"
