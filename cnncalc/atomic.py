"""Writing output files atomically (``--output``, ``--save-output``): readers see the old file or the whole new
one, never a part."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import UsageError


def check_writable(path: str, failure: str = "") -> Path:
    """The folder a file will be written into: it must exist, and ``path`` must not be a directory. Callers that
    do long work first (``run --save-output``) check before it; ``write_atomic`` checks again."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    failure = failure or f"cannot write --output {path}"
    if target.is_dir():
        raise UsageError(f"{failure}: it is a directory")
    if not folder.is_dir():
        raise UsageError(f"{failure}: no such folder {folder}")
    return folder


def write_atomic(path: str, content: str | Callable[[BinaryIO], None], failure: str = "") -> None:
    """Write ``content`` (text, or a function writing bytes to the open file) to a temporary file beside
    ``path``, flush it to disk, then rename it over ``path``.

    Any failure removes the temporary file and leaves ``path`` as it was; it is reported as a UsageError that
    starts with ``failure`` (by default 'cannot write --output PATH').
    """
    failure = failure or f"cannot write --output {path}"
    target, folder = Path(path), check_writable(path, failure)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise UsageError(f"{failure}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            if isinstance(content, str):
                stream.write(content.encode("utf-8"))
            else:
                content(stream)
            stream.flush()
            os.fsync(stream.fileno())
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise UsageError(f"{failure}: {error.strerror or error}") from None
        raise
