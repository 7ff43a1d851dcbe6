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
from pathlib import Path

from ..errors import CnnCalcError, UsageError
from ..propagate import Report
from ..registry import SELF, format_shape, suggest

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


def read_numpy_file(path: str, what: str):
    """``np.load`` of a file the user names (no pickles): a missing file is a usage error, an unreadable one
    an error naming it."""
    import numpy as np

    file = Path(path)
    if not file.is_file():
        raise UsageError(f"no such {what}: {path}")
    try:
        return np.load(file, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise CnnCalcError(f"cannot read {what} {path}: {error}") from None


#: What to install for .safetensors files (an optional extra: NumPy alone reads .npz).
SAFETENSORS_EXTRA = "pip install 'cnncalc[safetensors]'"


def load(path: str, report: Report, dtype: str = "float32") -> dict:
    """Read an .npz or .safetensors file and check it holds exactly the expected arrays with the expected shapes.

    Every key and shape is checked before any array is converted; a .safetensors file is checked from its header
    alone, before a single array is read.
    """
    wanted = {weight.key: weight for weight in expected(report)}
    if str(path).endswith(".safetensors"):
        with _SafetensorsFile(path) as source:
            return _read(path, source, wanted, dtype)
    import numpy as np

    archive = read_numpy_file(path, "weights file")
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CnnCalcError(
            f"weights file {path} holds a single array; it must be an .npz archive of named arrays (or .safetensors)"
        )
    with archive:
        return _read(path, _NpzFile(path, archive), wanted, dtype)


def _read(path: str, source, wanted: dict, dtype: str) -> dict:
    """Check the file's keys and shapes against ``wanted``, then read and convert every array."""
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
    arrays = {}
    for key, weight in wanted.items():
        array = source.read(key, weight.layer)
        if array.dtype.kind not in "fiub":
            raise CnnCalcError(
                f"weights file {path}: array '{key}' holds {array.dtype}, not numbers", layer=weight.layer
            )
        arrays[key] = array.astype(dtype, copy=False)
    return arrays


class _NpzFile:
    """An open .npz archive. An array's shape is known once it is read, so it is read once and kept until taken."""

    def __init__(self, path: str, archive):
        self.path, self.archive, self.keys, self.arrays = path, archive, dict.fromkeys(archive.files), {}

    def shape(self, key: str, layer: str | None = None) -> tuple:
        if key not in self.arrays:
            try:
                self.arrays[key] = self.archive[key]
            except (OSError, ValueError) as error:
                raise CnnCalcError(
                    f"weights file {self.path}: cannot read array '{key}': {error}", layer=layer
                ) from None
        return self.arrays[key].shape

    def read(self, key: str, layer: str):
        self.shape(key, layer)
        return self.arrays.pop(key)


class _SafetensorsFile:
    """An open .safetensors file (the safetensors package's NumPy API): keys, shapes and dtypes come from its
    header; an array is read only when asked for."""

    def __init__(self, path: str):
        if not Path(path).is_file():
            raise UsageError(f"no such weights file: {path}")
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
