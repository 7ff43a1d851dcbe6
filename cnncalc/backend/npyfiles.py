"""Reading the .npy and .npz files a user names (``--weights``, ``--input-data``), headers first.

Every key, shape and element type is read from the .npy headers (a few hundred bytes each, inside the zip for an
.npz) and checked by the caller before any array is decompressed or allocated: a 4 MB .npz can hold 4 GiB of
zeros, and a 100-byte .npy can claim 10^10 elements. Whatever the file does wrong (truncated, not a zip, empty,
a pickle) is a CnnCalcError naming it, never a NumPy or zipfile exception.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from math import prod
from pathlib import Path
from tokenize import TokenError

import numpy as np
from numpy.lib import format as npy

from ..errors import CnnCalcError, UsageError

ZIP_MAGIC = b"PK"
NPY_MAGIC = npy.MAGIC_PREFIX

#: What a damaged file raises while it is read: zipfile's, zlib's and NumPy's own errors. NumPy raises ValueError
#: for a bad header or a short read, and a header that is not a Python literal escapes its parser as SyntaxError
#: or tokenize.TokenError; zipfile raises NotImplementedError for an unknown compression method and RuntimeError
#: for an encrypted member.
READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    SyntaxError,
    TokenError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)


@dataclass(frozen=True)
class Header:
    """What an .npy header says: the shape and element type of the array that follows."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return prod(self.shape) * self.dtype.itemsize

    @property
    def numeric(self) -> bool:
        return self.dtype.kind in "fiub" and not self.dtype.hasobject


def read_header(stream) -> Header:
    """The header at the start of ``stream``; a wrong magic string, an unknown version or a malformed header
    raises ValueError (NumPy's own checks, which never evaluate the header as code)."""
    version = npy.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = npy.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _, dtype = npy.read_array_header_2_0(stream)
    else:
        raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    return Header(tuple(shape), dtype)


def existing(path: str, what: str) -> Path:
    """``path`` as a Path; a missing file (or a folder) is a usage error."""
    file = Path(path)
    try:
        found = file.is_file()
    except (OSError, ValueError) as error:  # a name too long for the system, a NUL in it
        raise UsageError(f"cannot read {what} {_shorten(path)}: {getattr(error, 'strerror', None) or error}") from None
    if not found:
        raise UsageError(f"no such {what}: {path}")
    return file


def _shorten(text: str) -> str:
    return text if len(text) <= 80 else f"{text[:80]}... ({len(text):,} characters)"


def starts_with(path: Path, magic: bytes, what: str) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(len(magic)) == magic
    except OSError as error:
        raise CnnCalcError(f"cannot read {what} {path}: {error.strerror or error}") from None


class NpyFile:
    """One .npy file, open; its header read, its array only when asked for."""

    def __init__(self, path: str, what: str):
        self.path, self.what = path, what
        file = existing(path, what)
        if file.stat().st_size == 0:
            raise CnnCalcError(f"cannot read {what} {path}: the file is empty")
        if starts_with(file, ZIP_MAGIC, what):
            raise CnnCalcError(f"{what} {path} is an .npz archive; it must be one array saved as .npy")
        try:
            self.stream = open(file, "rb")
            self.header = read_header(self.stream)
        except READ_ERRORS as error:
            self.close()
            raise CnnCalcError(f"cannot read {what} {path}: {_reason(error)}") from None

    def read(self) -> np.ndarray:
        try:
            self.stream.seek(0)
            return npy.read_array(self.stream, allow_pickle=False)
        except READ_ERRORS as error:
            raise CnnCalcError(f"cannot read {self.what} {self.path}: {_reason(error)}") from None

    def close(self) -> None:
        if getattr(self, "stream", None) is not None:
            self.stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exception) -> None:
        self.close()


class NpzFile:
    """One .npz archive, open: its keys (member names without ``.npy``), each header read on first use, each
    array decompressed only when asked for (and then no further than its header says)."""

    def __init__(self, path: str, what: str):
        self.path, self.what = path, what
        file = existing(path, what)
        if starts_with(file, NPY_MAGIC, what):
            raise CnnCalcError(
                f"{what} {path} holds a single array; it must be an .npz archive of named arrays (or .safetensors)"
            )
        try:
            self.archive = zipfile.ZipFile(file)
        except READ_ERRORS as error:
            raise CnnCalcError(f"cannot read {what} {path}: not an .npz archive ({_reason(error)})") from None
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in self.archive.infolist():
            key = info.filename.removesuffix(".npy")
            if key == info.filename or key in self.members:
                self.close()
                problem = "is not an .npy array" if key == info.filename else "appears twice"
                raise CnnCalcError(f"{what} {path}: archive member '{info.filename}' {problem}")
            self.members[key] = info
        self.headers: dict[str, Header] = {}

    def header(self, key: str, layer: str | None = None) -> Header:
        if key not in self.headers:
            try:
                with self.archive.open(self.members[key]) as member:
                    self.headers[key] = read_header(member)
            except READ_ERRORS as error:
                raise self.error(key, error, layer) from None
        return self.headers[key]

    def read(self, key: str, layer: str | None = None) -> np.ndarray:
        try:
            with self.archive.open(self.members[key]) as member:
                return npy.read_array(member, allow_pickle=False)
        except READ_ERRORS as error:
            raise self.error(key, error, layer) from None

    def error(self, key: str, error: BaseException, layer: str | None) -> CnnCalcError:
        return CnnCalcError(f"{self.what} {self.path}: cannot read array '{key}': {_reason(error)}", layer=layer)

    def close(self) -> None:
        self.archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exception) -> None:
        self.close()


def _reason(error: BaseException) -> str:
    if isinstance(error, (SyntaxError, TokenError)):
        return "its .npy header is not a dictionary literal"
    text = str(error) if isinstance(error, ValueError) or not getattr(error, "strerror", None) else error.strerror
    return " ".join(text.split()) or type(error).__name__
