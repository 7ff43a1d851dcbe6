"""Values of command-line options: the input shape, the batch, size bindings and resolutions.

Each parser turns the text of one option into a value, or raises UsageError naming the option and the text.
"""

from __future__ import annotations

import math
import re

from .errors import UsageError
from .registry import MAX_SIZE
from .symbolic.algebra import Sym, is_symbol_name, symbol


def parse_input_option(text: str) -> tuple:
    """``--input 3x224x224`` -> (3, 224, 224)."""
    parts = [part.strip() for part in re.split(r"[xX,]", text)]
    try:
        shape = tuple(symbol(part) if is_symbol_name(part) else int(part) for part in parts)
    except ValueError:
        raise UsageError(
            f"--input must look like 3x224x224 (or 3xHxW with size symbols), received {received(text)}"
        ) from None
    numbers = [size for size in shape if isinstance(size, int)]
    if not 1 <= len(shape) <= 4 or min(numbers, default=1) < 1 or max(numbers, default=1) > MAX_SIZE:
        raise UsageError(f"--input needs 1 to 4 sizes from 1 to {MAX_SIZE:,}, received {received(text)}")
    return shape


#: The longest whole number worth reading: MAX_SIZE's digits (a longer one is refused before int() reads it,
#: which for thousands of digits is slow, and past 4,300 digits raises).
MAX_DIGITS = len(str(MAX_SIZE))


def received(text: str) -> str:
    """``text`` quoted for an error line, shortened when long (an option of 5,000 digits)."""
    shown = text if len(text) <= 40 else f"{text[:40]}... ({len(text):,} characters)"
    return repr(shown) if "'" in shown or not shown.isprintable() else f"'{shown}'"


def whole_size(text: str) -> int | None:
    """The size written in ``text`` (ASCII digits only), or None if it is none; UsageError above MAX_SIZE."""
    if not re.fullmatch(r"[0-9]+", text):
        return None
    if len(text.lstrip("0")) > MAX_DIGITS or int(text) > MAX_SIZE:
        raise ValueError(f"must be at most {MAX_SIZE:,}")
    return int(text)


def parse_batch(text: str | int) -> int | Sym:
    """``--batch 8`` or ``--batch N``."""
    text = str(text).strip()
    if is_symbol_name(text):
        return symbol(text)
    problem = "must be a whole number >= 1 or a size symbol like N"
    try:
        size = whole_size(text)
    except ValueError as error:
        problem = str(error)
        size = None
    if size is not None and size >= 1:
        return size
    raise UsageError(f"--batch {problem}, received {received(text)}")


def parse_settings(text: str) -> dict:
    """``--set H=227,aux_logits=true`` -> {'H': 227, 'aux_logits': True}: whole numbers, true/false, decimals or
    plain words. Which names are description arguments and which size symbols is decided once the network is
    loaded (``propagate.size_binding``)."""
    settings: dict = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not name.isidentifier() or not value:
            raise UsageError(f"--set must look like H=227,W=227 or aux_logits=true, received {received(text)}")
        settings[name] = _setting_value(name, value)
    return settings


def _setting_value(name: str, text: str):
    """true/false, a whole number (at most MAX_SIZE either way), a finite decimal, or the text itself."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if re.fullmatch(r"[+-]?[0-9_]+", text) and len(text.replace("_", "").lstrip("+-0")) > MAX_DIGITS:
        raise UsageError(f"--set {name}: whole numbers go up to {MAX_SIZE:,}, received {received(text)}")
    for convert in (int, float):
        try:
            value = convert(text)
        except ValueError:
            continue
        if convert is int and abs(value) > MAX_SIZE:
            raise UsageError(f"--set {name}: whole numbers go up to {MAX_SIZE:,}, received {received(text)}")
        if convert is float and not math.isfinite(value):
            raise UsageError(f"--set {name}: a number must be finite, received {received(text)}")
        return value
    return text


def parse_resolutions(text: str) -> list[int]:
    """``--at 128,160,224`` -> [128, 160, 224]."""
    sizes = []
    for part in text.split(","):
        try:
            size = whole_size(part.strip())
        except ValueError as error:
            raise UsageError(f"--at sizes {error}, received {received(text)}") from None
        if size is None or size < 1:
            raise UsageError(
                f"--at must be sizes >= 1 separated by commas, e.g. 128,160,224, received {received(text)}"
            )
        sizes.append(size)
    return sizes
