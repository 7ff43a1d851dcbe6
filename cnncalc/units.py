"""Human units both ways: printed as 60.97 M, 11.51 G, 243.86 MB (1 MB = 10^6 bytes); read from 25M, 200MB, 4GiB."""

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


# -- reading quantities: one grammar for 'expect:' budgets, the --max-* options and run --max-memory -------------
#: Decimal prefixes (powers of ten) shared by counts and bytes; binary ones (powers of two) only for bytes.
_DECIMAL = {"k": 3, "K": 3, "M": 6, "G": 9, "T": 12, "P": 15}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50}
COUNT_UNITS = {"": 1, **{prefix: 10**power for prefix, power in _DECIMAL.items()}}
BYTE_UNITS = {
    "": 1,
    "B": 1,
    **{prefix + "B": 10**power for prefix, power in _DECIMAL.items()},
    **{prefix + "B": 2**power for prefix, power in _BINARY.items()},
}
UNIT_HELP = {
    "count": "a count like 25M (k, M, G, T, P: steps of 1000)",
    "bytes": "a size in bytes like 200MB (kB, MB, GB, TB, PB: steps of 1000; KiB, MiB, GiB, TiB, PiB: steps of 1024)",
}
#: Digits grouped by commas in threes or by underscores (``25,000,000``, ``25_000_000``), a fraction, an exponent.
_NUMBER = r"\s*([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+(?:_[0-9]+)*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]{1,3}))?\s*([A-Za-z]*)\s*"


def parse_quantity(value, unit: str, name: str, lower: bool = False) -> int:
    """``25M`` -> 25000000, ``200MB`` -> 200000000, ``1.5GiB`` -> 1610612736, for ``unit`` "count" or "bytes".

    Read exactly (no binary floating point), then rounded to the whole count or byte that keeps the same verdict
    for every whole figure: down for an upper limit (``0.1KiB`` -> 102), up for a ``lower`` one (min 2.5 -> 3).
    ``name`` says who gave the value (``--max-memory``); a ValueError says what was received and what is accepted.
    """
    import re

    units = COUNT_UNITS if unit == "count" else BYTE_UNITS
    text = value
    if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
        text = repr(value)  # '2500000.0', '1e+20': read exactly like the same text
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    match = re.fullmatch(_NUMBER, text) if isinstance(text, str) and len(text) < 100 else None
    if not match or match.group(4) not in units:
        hint = _unit_hint(match.group(4), unit) if match else ""
        raise ValueError(f"{name} must be {UNIT_HELP[unit]}, received {value!r}{hint}")
    whole, fraction, exponent, written = match.groups()
    digits = int(whole.replace("_", "").replace(",", "") + (fraction or ""))
    shift = int(exponent or 0) - len(fraction or "")
    scaled = digits * units[written]
    if shift >= 0:
        return scaled * 10**shift
    whole_part, rest = divmod(scaled, 10**-shift)
    return whole_part + 1 if lower and rest else whole_part


def _unit_hint(written: str, unit: str) -> str:
    """Why a unit that looks almost right is refused: ``Mb`` would be megabits, ``m`` milli."""
    if unit == "bytes" and written.endswith("b"):
        prefix = written[:-1].removesuffix("i").upper().replace("K", "k")
        if prefix == "":
            return f" ({written} reads as bits: write B for bytes)"
        if prefix in _DECIMAL:
            binary = f"{prefix.upper()}iB for 2^{_BINARY[prefix.upper() + 'i']} bytes"
            choices = binary if written[:-1].endswith("i") else f"{prefix}B for 10^{_DECIMAL[prefix]} bytes or {binary}"
            return f" ({written} reads as bits: write {choices})"
    if unit == "count" and written == "B":
        return " (for billions write G)"
    if unit == "count" and written in BYTE_UNITS:
        return " (a count takes no B)"
    close = [known for known in (COUNT_UNITS if unit == "count" else BYTE_UNITS) if known.lower() == written.lower()]
    return f" (did you mean {' or '.join(close)}?)" if close and written else ""
