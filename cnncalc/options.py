"""Values of command-line options: the input shape, the batch, size bindings and resolutions.

Each parser turns the text of one option into a value, or raises UsageError naming the option and the text.
"""

from __future__ import annotations

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
        raise UsageError(f"--input must look like 3x224x224 (or 3xHxW with size symbols), received '{text}'") from None
    numbers = [size for size in shape if isinstance(size, int)]
    if not 1 <= len(shape) <= 4 or min(numbers, default=1) < 1 or max(numbers, default=1) > MAX_SIZE:
        raise UsageError(f"--input needs 1 to 4 sizes from 1 to {MAX_SIZE:,}, received '{text}'")
    return shape


def parse_batch(text: str | int) -> int | Sym:
    """``--batch 8`` or ``--batch N``."""
    text = str(text).strip()
    if is_symbol_name(text):
        return symbol(text)
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise UsageError(f"--batch must be a whole number >= 1 or a size symbol like N, received '{text}'")


def parse_settings(text: str) -> dict:
    """``--set H=227,aux_logits=true`` -> {'H': 227, 'aux_logits': True}: whole numbers, true/false, decimals or
    plain words. Which names are description arguments and which size symbols is decided once the network is
    loaded (``propagate.size_binding``)."""
    settings: dict = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not name.isidentifier() or not value:
            raise UsageError(f"--set must look like H=227,W=227 or aux_logits=true, received '{text}'")
        settings[name] = _setting_value(value)
    return settings


def _setting_value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_resolutions(text: str) -> list[int]:
    """``--at 128,160,224`` -> [128, 160, 224]."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise UsageError(f"--at must be sizes >= 1 separated by commas, e.g. 128,160,224, received '{text}'")
    return [int(part) for part in parts]
