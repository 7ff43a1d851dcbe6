"""Writing output files (``--output``, ``--save-output``) without destroying what the path names.

A new path or a regular file is written atomically: a temporary file beside it, flushed, then renamed over it, so
readers see the old file or the whole new one. A symbolic link is followed: the file it finally points to is
replaced that way and the link stays a link. A FIFO or a character device (``/dev/null``, ``/dev/stdout``, a
terminal) is written through: opened and written like a shell's ``>`` would, never replaced by a regular file.
Anything else (a directory, a socket, a block device) is refused.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import UsageError

Content = str | Callable[[BinaryIO], None]

# What is refused, by the file type stat reports; FIFOs and character devices are written through.
_REFUSED = {stat.S_IFDIR: "a directory", stat.S_IFSOCK: "a socket", stat.S_IFBLK: "a block device"}


def _failure(path: str, failure: str) -> str:
    return failure or f"cannot write --output {path}"


def _status(path: str | Path, failure: str) -> os.stat_result | None:
    """``os.stat(path)`` (links followed), or None when nothing is there yet (a new path, a dangling link)."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise UsageError(f"{failure}: {error.strerror or error}") from None


def _standard_stream(status: os.stat_result) -> int | None:
    """The descriptor of standard output or error when ``status`` is that very file (``-o /dev/stdout`` while
    standard output is redirected to a file): writing through that descriptor keeps the shell's offset and
    append mode, where reopening or replacing the file would not."""
    for descriptor in (1, 2):
        try:
            if os.path.samestat(status, os.fstat(descriptor)):
                return descriptor
        except OSError:
            continue
    return None


def check_writable(path: str, failure: str = "") -> Path:
    """Where ``path`` will be written: the folder of the file it names (links followed) for an atomic write, or
    ``path`` itself for one written through. Refuses a directory, a socket, a block device, a missing folder.
    Callers that do long work first (``run --save-output``) call it before that work; ``write_atomic`` again."""
    failure = _failure(path, failure)
    status = _status(path, failure)
    if status is not None:
        refused = _REFUSED.get(stat.S_IFMT(status.st_mode))
        if refused is not None:
            raise UsageError(f"{failure}: it is {refused}")
        if not stat.S_ISREG(status.st_mode):
            return Path(path)
    target = Path(os.path.realpath(path))  # every link followed, chains included; a dangling one to its target
    if not target.parent.is_dir():
        raise UsageError(f"{failure}: no such folder {target.parent}")
    return target.parent


def write_atomic(path: str, content: Content, failure: str = "") -> None:
    """Write ``content`` (text, or a function writing bytes to the open file) to ``path`` as the module's
    docstring says: atomically onto a new path or a regular file (through links), through a FIFO or a device.

    A failed atomic write removes its temporary file and leaves ``path`` as it was; every failure is a
    UsageError that starts with ``failure`` (by default 'cannot write --output PATH').
    """
    failure = _failure(path, failure)
    check_writable(path, failure)
    status = _status(path, failure)
    if status is not None and stat.S_ISREG(status.st_mode) and (descriptor := _standard_stream(status)) is not None:
        _write_through(lambda: os.dup(descriptor), content, failure)
    elif status is not None and not stat.S_ISREG(status.st_mode):
        _write_through(lambda: os.open(path, os.O_WRONLY | os.O_NOCTTY), content, failure)
    else:
        _replace(Path(os.path.realpath(path)), status, content, failure)


def _write(stream: BinaryIO, content: Content) -> None:
    if isinstance(content, str):
        stream.write(content.encode("utf-8"))
    else:
        content(stream)


def _write_through(opener: Callable[[], int], content: Content, failure: str) -> None:
    """Open (a FIFO waits for its reader, as a shell's ``>`` does) and write; nothing is truncated or replaced."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        with os.fdopen(opener(), "wb") as stream:
            _write(stream, content)
    except OSError as error:
        raise UsageError(f"{failure}: {error.strerror or error}") from None


def _replace(target: Path, status: os.stat_result | None, content: Content, failure: str) -> None:
    """Write a temporary file beside ``target``, flush it to disk, rename it over ``target``; keep its mode."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise UsageError(f"{failure}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            _write(stream, content)
            stream.flush()
            os.fsync(stream.fileno())
        if status is not None:
            os.chmod(temporary, status.st_mode & 0o777)
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
