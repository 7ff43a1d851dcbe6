"""The .npz of ``--weights`` and the .npy of ``--input-data`` are checked from their headers before any array is
decompressed or allocated, and every damaged file is one error line naming it, exit 1 (never 'internal error')."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy

from cnncalc.backend import weights
from cnncalc.backend.crosscheck import make_input
from cnncalc.backend.memory import OVERHEAD
from cnncalc.errors import CnnCalcError
from cnncalc.load import load
from cnncalc.propagate import propagate

LENET = propagate(load("lenet5"))


def npy_header(shape, dtype="<f4") -> bytes:
    stream = io.BytesIO()
    npy.write_array_header_1_0(stream, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return stream.getvalue()


def lenet_npz(path: Path, change: dict | None = None) -> Path:
    arrays = weights.initialise(LENET, 0)
    np.savez(path, **{**arrays, **(change or {})})
    return path


class _RepeatingDeflate:
    """A deflate compressor for a stream of one chunk repeated: after a full flush the compressor has forgotten
    its history, so every copy of the chunk compresses to the same bytes, compressed once. It makes a 4 GiB
    member in seconds (zlib itself takes 40 s); zipfile still computes the true CRC, so the archive is valid."""

    def __init__(self) -> None:
        self.real, self.done = zlib.compressobj(9, zlib.DEFLATED, -15), {}

    def compress(self, data) -> bytes:
        key = bytes(data) if len(data) < 4096 else (len(data), id(data))
        if key not in self.done:
            self.done[key] = self.real.compress(data) + self.real.flush(zlib.Z_FULL_FLUSH)
        return self.done[key]

    def flush(self) -> bytes:
        return self.real.flush()


@pytest.fixture(scope="module")
def zeros_bomb(tmp_path_factory) -> Path:
    """A 4 MB .npz whose one member, 'c1.weight', is an .npy of 2^30 float32 zeros: 4 GiB decompressed."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    chunk = bytes(1 << 24)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("c1.weight.npy", "w", force_zip64=True) as member:
            member._compressor = _RepeatingDeflate()  # zipfile's own deflate object, replaced by a faster one
            member.write(npy_header((2**30,)))
            for _ in range(2**32 // len(chunk)):
                member.write(chunk)
    assert path.stat().st_size < 5 * 2**20
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("c1.weight.npy").file_size == 2**32 + len(npy_header((2**30,)))
    return path


def peak_allocation(action) -> tuple[int, object]:
    """(the most bytes Python and NumPy held at once while ``action`` ran, what it raised or returned)."""
    tracemalloc.start()
    try:
        try:
            outcome = action()
        except CnnCalcError as error:
            outcome = error
        return tracemalloc.get_traced_memory()[1], outcome
    finally:
        tracemalloc.stop()


def test_a_zip_bomb_is_refused_from_its_header_without_allocating(zeros_bomb):
    peak, outcome = peak_allocation(lambda: weights.load(str(zeros_bomb), LENET))
    assert isinstance(outcome, CnnCalcError)
    assert f"weights file {zeros_bomb}: unexpected array 'c1.weight'" not in str(outcome)
    assert "missing array 'c1.bias'" in str(outcome) or "has shape 1073741824" in str(outcome)
    assert peak < 4 * 2**20, peak  # 4 MiB: the headers and the zip's directory, not one array


def test_a_zip_bomb_under_a_right_key_is_refused_by_its_claimed_shape(zeros_bomb, tmp_path):
    """Every other array present and right: the bomb's header alone says its shape is not c1's."""
    path = tmp_path / "w.npz"
    with zipfile.ZipFile(zeros_bomb) as source, zipfile.ZipFile(path, "w") as archive:
        archive.writestr(source.getinfo("c1.weight.npy"), b"")  # replaced below by the raw copy
    lenet = dict(weights.initialise(LENET, 0))
    del lenet["c1.weight"]
    np.savez(path, **lenet)
    with zipfile.ZipFile(path, "a") as archive, zipfile.ZipFile(zeros_bomb) as source:
        info = source.getinfo("c1.weight.npy")
        with source.open(info) as member, archive.open("c1.weight.npy", "w", force_zip64=True) as copy:
            copy.write(member.read(1 << 20))  # the header and a first MiB: enough for the header check
    peak, outcome = peak_allocation(lambda: weights.load(str(path), LENET))
    assert str(outcome).endswith("array 'c1.weight' has shape 1073741824, expected 6x1x5x5 [c1]")
    assert peak < 4 * 2**20, peak


def test_the_bomb_through_the_cli_is_one_line_exit_1(cli, zeros_bomb):
    result = cli("run", "lenet5", "--weights", str(zeros_bomb))
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: weights file")


def test_a_header_claiming_ten_billion_elements_is_refused_unread(tmp_path):
    path = tmp_path / "w.npz"
    lenet_npz(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("huge.npy", npy_header((10**10,)) + b"\0" * 64)
    peak, outcome = peak_allocation(lambda: weights.load(str(path), LENET))
    assert "unexpected array 'huge' (shape 10000000000): the network has no such weight" in str(outcome)
    assert peak < 4 * 2**20


def test_input_data_claiming_ten_billion_elements_is_refused_unread(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(npy_header((10**10, 1, 32, 32)) + b"\0" * 64)
    peak, outcome = peak_allocation(lambda: make_input(LENET, 0, "float32", str(path)))
    assert str(outcome) == (
        f"error: input data {path} has shape 10000000000x1x32x32, expected 1x1x32x32 (batch 1, input 1x32x32); "
        "set --batch and --input to match the data"
    )
    assert peak < 2**20


def truncated_member(path: Path) -> Path:
    """An .npz whose 'c1.weight' header is right and whose data stops after 10 bytes."""
    lenet_npz(path, {"c1.weight": np.zeros(1)})
    arrays = dict(np.load(path))
    arrays.pop("c1.weight")
    np.savez(path, **arrays)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("c1.weight.npy", npy_header((6, 1, 5, 5)) + b"\0" * 10)
    return path


def cut(path: Path) -> Path:
    data = lenet_npz(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def pickled(path: Path) -> Path:
    arrays = dict(weights.initialise(LENET, 0))
    arrays["c1.bias"] = np.array([object()] * 6)
    np.savez(path, **arrays)
    return path


def duplicated(path: Path) -> Path:
    lenet_npz(path)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "a") as archive:
        archive.writestr("c1.bias.npy", npy_header((6,)) + bytes(24))
    return path


def not_npy(path: Path) -> Path:
    lenet_npz(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("README", "hello")
    return path


def written(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def bad_header(path: Path) -> Path:
    lenet_npz(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("extra.npy", npy.MAGIC_PREFIX + b"\x01\x00\x10\x00{'descr': os.system}\n")
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (truncated_member, "cannot read array 'c1.weight': EOF: reading array data, expected 600 bytes got 10 [c1]"),
        (cut, "not an .npz archive (File is not a zip file)"),
        (lambda path: written(path, b"not a zip"), "not an .npz archive (File is not a zip file)"),
        (lambda path: written(path, b""), "not an .npz archive (File is not a zip file)"),
        (pickled, "array 'c1.bias' holds object, not numbers [c1]"),
        (duplicated, "archive member 'c1.bias.npy' appears twice"),
        (not_npy, "archive member 'README' is not an .npy array"),
        (bad_header, "cannot read array 'extra': its .npy header is not a dictionary literal"),
    ],
    ids=["truncated member", "cut archive", "not a zip", "empty", "pickle", "duplicate", "not npy", "bad header"],
)
def test_every_damaged_weights_file_is_one_located_line(cli, tmp_path, make, message):
    path = make(tmp_path / "w.npz")
    result = cli("run", "lenet5", "--weights", str(path))
    assert result.exit_code == 1, result.output
    line = result.stderr.strip()
    assert line.startswith("error: ") and str(path) in line and message in line and "\n" not in line


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (npy.MAGIC_PREFIX, "EOF: reading magic string"),
        (b"\x93NUMPY\x01\x00", "EOF: reading array header length"),
        (npy_header((1, 1, 32, 32)) + b"\0" * 100, "Failed to read all data for array"),
        (npy_header((1, 1, 32, 32), "|O"), "holds object, not numbers"),
        (npy_header((1, 1, 32, 32), "<U3"), "holds <U3, not numbers"),
        (b"not numpy at all", "the magic string is not correct"),
        (b"PK\x03\x04 rest of a zip", "is an .npz archive; it must be one array saved as .npy"),
    ],
    ids=["empty", "magic only", "no header", "short data", "object", "text", "not npy", "npz"],
)
def test_every_damaged_input_data_file_is_one_located_line(cli, tmp_path, content, message):
    path = tmp_path / "x.npy"
    path.write_bytes(content)
    result = cli("run", "lenet5", "--input-data", str(path))
    assert result.exit_code == 1, result.output
    line = result.stderr.strip()
    assert (
        line.startswith("error: ")
        and "input data" in line
        and str(path) in line
        and message in line
        and "\n" not in line
    )


def test_max_memory_covers_reading_the_weights_before_any_is_read(cli, tmp_path):
    """float64 weights for a float32 run: the largest array is held twice while converted. A limit that leaves
    room for the float32 arrays only refuses the float64 file from its headers and reads the float32 one."""
    arrays = weights.initialise(LENET, 0)
    weight_bytes = sum(array.nbytes for array in arrays.values())
    limit = OVERHEAD + 1 * 32 * 32 * 4 + weight_bytes + 1000  # the input, the weights and a little
    single = tmp_path / "single.npz"
    np.savez(single, **arrays)
    assert weights.load(str(single), LENET, "float32", limit - OVERHEAD - 4096).keys() == arrays.keys()
    double = tmp_path / "double.npz"
    np.savez(double, **{key: array.astype(np.float64) for key, array in arrays.items()})
    with pytest.raises(CnnCalcError, match="to convert 'c5.weight' from its file's element type, above what"):
        weights.load(str(double), LENET, "float32", limit - OVERHEAD - 4096)
    refused = cli("run", "lenet5", "--weights", str(double), "--max-memory", "64.3MiB")
    assert refused.exit_code == 1 and "raise --max-memory" in refused.stderr
    assert cli("run", "lenet5", "--weights", str(double)).exit_code == 0


# The whole class: any byte of a valid file changed, or the file cut anywhere, is at worst one error line, exit 1.
VALID_NPZ = io.BytesIO()
np.savez(VALID_NPZ, **weights.initialise(LENET, 0))
VALID_NPY = io.BytesIO()
np.save(VALID_NPY, np.zeros((1, 1, 32, 32), np.float32))


def damaged(valid: bytes):
    return st.one_of(
        st.integers(0, len(valid)).map(lambda end: valid[:end]),
        st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)).map(
            lambda change: valid[: change[0]] + bytes([change[1]]) + valid[change[0] + 1 :]
        ),
    )


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=damaged(VALID_NPZ.getvalue()))
def test_a_damaged_npz_never_crashes(cli, tmp_path, data):
    (tmp_path / "w.npz").write_bytes(data)
    result = cli("run", "lenet5", "--weights", str(tmp_path / "w.npz"), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    assert result.exit_code == 0 or len(result.stderr.strip().splitlines()) == 1


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=damaged(VALID_NPY.getvalue()))
def test_a_damaged_npy_never_crashes(cli, tmp_path, data):
    (tmp_path / "x.npy").write_bytes(data)
    result = cli("run", "lenet5", "--input-data", str(tmp_path / "x.npy"), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    assert result.exit_code == 0 or len(result.stderr.strip().splitlines()) == 1
