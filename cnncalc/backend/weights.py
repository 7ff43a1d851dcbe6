"""The arrays an execution needs: the expected keys, a deterministic random initialisation, and loading them
from an .npz or a .safetensors file.

Keys follow PyTorch's state_dict naming, ``<layer path>.<array name>`` (``layer1.0.conv1.weight``,
``bn1.running_var``), or the layer path alone for a bare parameter (a ``scale``'s ``features.1.0.layer_scale``,
``Weight.key``), taken from the propagator's weight list. Listing the keys is static (``cnncalc weights``
must not pay for importing NumPy), so NumPy is imported inside the functions that make or read arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod, sqrt

from ..errors import CnnCalcError, UsageError
from ..propagate import Report
from ..registry import SELF, format_shape, suggest
from .memory import human_bytes

#: PyTorch's batch-norm counter: present in every state_dict, meaningless at inference, so tolerated in a file.
IGNORED_SUFFIX = ".num_batches_tracked"


@dataclass(frozen=True)
class ExpectedWeight:
    """One array the network needs: its key, shape, whether it is trained, and the layer owning it."""

    key: str
    shape: tuple[int, ...]
    trainable: bool
    layer: str
    name: str

    @property
    def size(self) -> int:
        return prod(self.shape)


def expected(report: Report) -> list[ExpectedWeight]:
    """Every array of the network, in layer order, keyed ``<path>.<name>`` (or ``<path>`` for a SELF array)."""
    return [
        ExpectedWeight(weight.key(layer.path), tuple(weight.shape), weight.trainable, layer.path, weight.name)
        for layer in report.layers
        for weight in layer.weights
    ]


def _describe_shape(shape: tuple) -> str:
    return format_shape(shape) if shape else "a scalar"


def initialise(report: Report, seed: int = 0, dtype: str = "float32") -> dict:
    """Deterministic random arrays for every expected key.

    He-normal (std sqrt(2 / fan_in)) for convolution and linear weights, biases uniform in [-0.05, 0.05),
    one-dimensional weights (batch-norm scales, PReLU slopes) and the arrays keyed by the layer path (layer scales)
    uniform in [0.5, 1.5), running means normal with std 0.1 and running variances uniform in [0.5, 1.5), so that
    inference batch norm is not the identity. Values are drawn in float32 whatever the run's
    dtype, so a float64 run of the same seed uses the same weights.
    """
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    arrays = {}
    for weight in expected(report):
        arrays[weight.key] = _draw(rng, weight).astype(dtype, copy=False)
    return arrays


def _draw(rng, weight: ExpectedWeight):
    """One float32 array, by its PyTorch name and rank; scaled in place so that no temporary copy is made."""
    import numpy as np

    shape = weight.shape
    if weight.name == "weight" and len(shape) >= 2:
        return _scaled(rng.standard_normal(shape, dtype=np.float32), sqrt(2.0 / prod(shape[1:])))
    if weight.name in ("weight", "running_var", SELF):
        return _scaled(rng.random(shape, dtype=np.float32), 1.0, 0.5)
    if weight.name == "running_mean":
        return _scaled(rng.standard_normal(shape, dtype=np.float32), 0.1)
    return _scaled(rng.random(shape, dtype=np.float32), 0.1, -0.05)


def _scaled(array, scale: float, shift: float = 0.0):
    array *= scale
    array += shift
    return array


#: What to install for .safetensors files (an optional extra: NumPy alone reads .npz).
SAFETENSORS_EXTRA = "pip install 'cnncalc[safetensors]'"


def load(path: str, report: Report, dtype: str = "float32", limit: int | None = None) -> dict:
    """Read an .npz or .safetensors file and check it holds exactly the expected arrays with the expected shapes
    and numeric element types.

    Every key, shape and element type is checked from the file's headers (the .npy headers inside an .npz, the
    JSON header of a .safetensors) before a single array is decompressed or read; so is ``limit``, the bytes the
    arrays may take while they are read (see ``_check_memory``).
    """
    wanted = {weight.key: weight for weight in expected(report)}
    if str(path).endswith(".safetensors"):
        with _SafetensorsFile(path) as source:
            return _read(path, source, wanted, dtype, limit)
    from .npyfiles import NpzFile

    with NpzFile(path, "weights file") as archive:
        return _read(path, _NpzSource(archive), wanted, dtype, limit)


def _read(path: str, source, wanted: dict, dtype: str, limit: int | None) -> dict:
    """Check the file's keys, shapes and element types against ``wanted`` and ``limit``, then read and convert
    every array."""
    for key in source.keys:
        if key not in wanted and not _ignored(key, wanted):
            raise CnnCalcError(
                f"weights file {path}: unexpected array '{key}' (shape "
                f"{_describe_shape(source.shape(key))}): the network has no such weight"
                f"{suggest(key, list(wanted))}"
            )
    for key, weight in wanted.items():
        if key not in source.keys:
            raise CnnCalcError(
                f"weights file {path}: missing array '{key}' (expected shape {format_shape(weight.shape)})",
                layer=weight.layer,
            )
        shape = source.shape(key, weight.layer)
        if shape != weight.shape:
            raise CnnCalcError(
                f"weights file {path}: array '{key}' has shape {_describe_shape(shape)}, "
                f"expected {format_shape(weight.shape)}",
                layer=weight.layer,
            )
        header = source.header(key, weight.layer)
        if header is not None and not header.numeric:
            raise CnnCalcError(
                f"weights file {path}: array '{key}' holds {header.dtype}, not numbers", layer=weight.layer
            )
    if limit is not None:
        _check_memory(path, source, wanted, dtype, limit)
    arrays = {}
    for key, weight in wanted.items():
        array = source.read(key, weight.layer)
        if array.dtype.kind not in "fiub":
            raise CnnCalcError(
                f"weights file {path}: array '{key}' holds {array.dtype}, not numbers", layer=weight.layer
            )
        arrays[key] = array.astype(dtype, copy=False)
    return arrays


def _check_memory(path: str, source, wanted: dict, dtype: str, limit: int) -> None:
    """Refuse a file whose arrays cannot be read within ``limit`` bytes: every array in the run's ``dtype``,
    plus, while the one being read is converted, its copy in the file's element type (the largest of those)."""
    import numpy as np

    arrays = sum(weight.size for weight in wanted.values()) * np.dtype(dtype).itemsize
    largest, key = max(((source.copy_bytes(key, dtype), key) for key in wanted), default=(0, ""))
    if arrays + largest > limit:
        copy = f" and {human_bytes(largest)} to convert '{key}' from its file's element type" if largest else ""
        raise CnnCalcError(
            f"weights file {path}: reading it needs {human_bytes(arrays)} of {dtype} arrays{copy}, above what "
            f"--max-memory leaves for the weights ({human_bytes(max(limit, 0))}); raise --max-memory"
        )


class _NpzSource:
    """An open .npz (npyfiles.NpzFile) seen as a weights source: keys, shapes and element types from the .npy
    headers, an array decompressed only when read."""

    def __init__(self, archive):
        self.archive, self.keys = archive, archive.members

    def shape(self, key: str, layer: str | None = None) -> tuple:
        return self.archive.header(key, layer).shape

    def header(self, key: str, layer: str | None = None):
        """The member's npyfiles.Header: its shape and element type."""
        return self.archive.header(key, layer)

    def copy_bytes(self, key: str, dtype: str) -> int:
        """The bytes of the array as read when converting it to ``dtype`` copies it, else 0."""
        header = self.archive.header(key)
        return 0 if header.dtype == dtype else header.nbytes

    def read(self, key: str, layer: str):
        return self.archive.read(key, layer)


#: Bytes per element of the safetensors element types (its header's names); an unknown one counts as 8.
_SAFETENSORS_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2}
_SAFETENSORS_ITEMSIZE |= {"BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


class _SafetensorsFile:
    """An open .safetensors file (the safetensors package's NumPy API): keys, shapes and dtypes come from its
    header; an array is read only when asked for."""

    def __init__(self, path: str):
        from .npyfiles import existing

        existing(path, "weights file")
        try:
            from safetensors import SafetensorError, safe_open
        except ImportError:
            raise UsageError(
                f"reading .safetensors weights needs the safetensors package: {SAFETENSORS_EXTRA}"
            ) from None
        self.path, self.error = path, SafetensorError
        try:
            self.file = safe_open(path, framework="numpy")
        except (SafetensorError, OSError) as error:
            raise CnnCalcError(f"cannot read weights file {path}: {error}") from None
        self.keys = dict.fromkeys(self.file.keys())

    def __enter__(self):
        self.file.__enter__()
        return self

    def __exit__(self, *exception):
        return self.file.__exit__(*exception)

    def shape(self, key: str, layer: str | None = None) -> tuple:
        return tuple(self.file.get_slice(key).get_shape())

    def header(self, key: str, layer: str | None = None) -> None:
        """No NumPy header: the element type may be one NumPy lacks (bfloat16), checked by ``read``."""
        return None

    def copy_bytes(self, key: str, dtype: str) -> int:
        """The bytes of the array as read when converting it to ``dtype`` copies it, else 0."""
        stored = self.file.get_slice(key).get_dtype()
        same = {"float32": "F32", "float64": "F64"}.get(dtype) == stored
        return 0 if same else prod(self.shape(key)) * _SAFETENSORS_ITEMSIZE.get(stored, 8)

    def read(self, key: str, layer: str):
        try:
            return self.file.get_tensor(key)
        except (self.error, TypeError, OSError) as error:  # TypeError: a dtype NumPy lacks, such as bfloat16
            dtype = self.file.get_slice(key).get_dtype()
            raise CnnCalcError(
                f"weights file {self.path}: cannot read array '{key}' ({dtype}): {error}", layer=layer
            ) from None


def _ignored(key: str, wanted: dict) -> bool:
    """``bn1.num_batches_tracked`` is skipped when ``bn1`` is a batch norm of the network."""
    return key.endswith(IGNORED_SUFFIX) and f"{key[: -len(IGNORED_SUFFIX)]}.running_mean" in wanted
