"""Forward-pass speed of the NumPy backend against torchvision's own model classes on the CPU.

    python benchmarks/forward.py [--repeats 9] [--threads 2] [--nets resnet152,mobilenet_v2] [--batches 1,8]

Each row is a built-in description run by the NumPy backend (`cnncalc run`'s forward pass, weights already in
memory) and the torchvision model of the same name, `torchvision.models.<name>(weights=None)` (torchvision's
`alexnet` for our `alexnet-torchvision`), in eval mode under `torch.no_grad()`, float32, with the same thread
count for PyTorch's intra-op pool and NumPy's BLAS, in the same process and the same run. The baseline is
torchvision's code as users run it, never a model rebuilt from our description.

Per row: the median wall time of NumPy's passes and of torchvision's, their ratio (and the ratio of the best
passes), the achieved GFLOP/s over the propagator's FLOPs, the share of NumPy's time spent in grouped and
depthwise convolutions, and, when our description's weight keys equal torchvision's state_dict keys, the
largest output difference with torchvision's own weights loaded into both (relative to the output's largest
magnitude); otherwise both run with their own random weights and the difference is not reported. A built-in
that does not exist yet is listed as missing. `--nets` also takes `path.yaml=torchvision_name`, to measure a
description outside the repository against a torchvision model.

NumPy's N passes run first, then torchvision's, with a pause between, so that neither library's spinning worker
threads slow the other. The ceiling is a plain NumPy float32 matmul (2048 x 2048) in the same run. The peak
resident memory of a ResNet-152 batch-1 run (`cnncalc run`'s code path, no PyTorch loaded) is measured in a
subprocess with resource.getrusage. On processors where OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are set
(docs/performance.md), unset both for this command alone; the BLAS in use is printed (threadpoolctl, when
installed).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETS = "resnet152,alexnet-torchvision,mobilenet_v2,efficientnet_b0,densenet121,convnext_tiny"
#: Our built-in name -> torchvision's, where they differ (our `alexnet` is the original, with groups and LRN).
TORCHVISION_NAMES = {"alexnet-torchvision": "alexnet"}

MEMORY_PROBE = """
import resource, sys
from cnncalc.backend import crosscheck
from cnncalc.load import load
from cnncalc.propagate import propagate
network = load("resnet152")
result = crosscheck.run(network, propagate(network, 1))
assert result.mismatch is None
assert "torch" not in sys.modules
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def matmul_gflops(numpy, repeats: int, size: int = 2048) -> float:
    a = numpy.random.default_rng(0).standard_normal((size, size), dtype=numpy.float32)
    b = a.copy()
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _settle() -> None:
    """Let the other library's worker threads stop spinning: OpenBLAS and OpenMP threads busy-wait after a call,
    and on two cores a pass started meanwhile runs at half speed (alternating passes made both look 4x slower)."""
    time.sleep(1.0)


def parse_row(item: str) -> tuple[str, str]:
    """`name` (a built-in, compared with torchvision's model of that name) or `path.yaml=torchvision_name`."""
    description, _, torchvision_name = item.partition("=")
    return description, torchvision_name or TORCHVISION_NAMES.get(description, description)


def load_description(description: str, batch: int):
    """The network and its report, or None for a built-in that does not exist (yet)."""
    from cnncalc.errors import CnnCalcError
    from cnncalc.load import builtin_names, load
    from cnncalc.propagate import propagate

    if not description.endswith((".yaml", ".yml")) and description not in builtin_names():
        return None
    try:
        network = load(description)
    except CnnCalcError as error:
        raise SystemExit(f"{description}: {error}") from None
    return network, propagate(network, batch)


def shared_weights(report, model) -> dict | None:
    """torchvision's state_dict as our weights, if its keys (num_batches_tracked aside) are exactly ours."""
    from cnncalc.backend import weights

    wanted = {weight.key: weight.shape for weight in weights.expected(report)}
    state = {key: value for key, value in model.state_dict().items() if not key.endswith(".num_batches_tracked")}
    if set(state) != set(wanted) or any(tuple(state[key].shape) != wanted[key] for key in wanted):
        return None
    return {key: value.detach().numpy().astype("float32") for key, value in state.items()}


def grouped_layers(report) -> set[int]:
    """Indices of the convolutions with groups > 1 (grouped and depthwise): their weights' second dimension
    holds fewer channels than the input."""
    return {
        index
        for index, layer in enumerate(report.layers)
        if layer.kind == "conv" and layer.weights and layer.weights[0].shape[1] != _input_channels(report, layer)
    }


def _input_channels(report, layer) -> int:
    producer = layer.inputs[0]
    return (report.input if producer < 0 else report.layers[producer].output)[1]


def bench_row(description: str, torchvision_name: str, batch: int, repeats: int, torch, torchvision) -> dict | None:
    import numpy as np

    from cnncalc.backend import crosscheck, execute, weights

    loaded = load_description(description, batch)
    if loaded is None:
        return None
    network, report = loaded
    model = getattr(torchvision.models, torchvision_name)(weights=None).eval()
    arrays = shared_weights(report, model)
    same_weights = arrays is not None
    if not same_weights:
        arrays = weights.initialise(report, 0)
    x = crosscheck.make_input(report, 0, "float32")
    tx = torch.from_numpy(x)
    grouped = grouped_layers(report)

    def numpy_pass():
        output = None
        seconds = 0.0
        for step in execute.forward(network, arrays, x.copy()):
            output = step.output
            if step.index in grouped:
                seconds += step.seconds
        return output, seconds

    def torch_pass():
        with torch.no_grad():
            return model(tx)

    output, _ = numpy_pass()  # warm-up: BLAS threads, page faults
    numpy_times, grouped_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        output, seconds = numpy_pass()
        numpy_times.append(time.perf_counter() - start)
        grouped_times.append(seconds)
    _settle()
    reference = torch_pass().numpy()  # warm-up: oneDNN primitives
    torch_times = [_timed(torch_pass) for _ in range(repeats)]
    _settle()
    ours, theirs = statistics.median(numpy_times), statistics.median(torch_times)
    difference = None
    if same_weights:
        difference = float(np.abs(output - reference).max() / np.abs(reference).max())
    return {
        "name": Path(description).stem if description.endswith((".yaml", ".yml")) else description,
        "batch": batch,
        "numpy": ours,
        "torch": theirs,
        "ratio": ours / theirs,
        "best_ratio": min(numpy_times) / min(torch_times),
        "gflops": report.totals.flops / ours / 1e9,
        "grouped_share": statistics.median(grouped_times) / ours,
        "max_difference": difference,
    }


def peak_memory() -> int:
    """ru_maxrss of a fresh process running ResNet-152 at batch 1 through the cross-check."""
    output = subprocess.run([sys.executable, "-c", MEMORY_PROBE], capture_output=True, text=True, check=True, cwd=ROOT)
    return int(output.stdout.strip().splitlines()[-1])


def blas_description() -> str:
    try:
        import threadpoolctl
    except ImportError:
        return "threadpoolctl not installed"
    found = [
        f"{pool['internal_api']} {pool.get('version')} ({pool.get('architecture')}, {pool['num_threads']} threads)"
        for pool in threadpoolctl.threadpool_info()
        if pool["user_api"] == "blas"
    ]
    return ", ".join(found) or "none found"


def limit_blas_threads(threads: int) -> None:
    """The same thread count for NumPy's BLAS as for PyTorch: threadpoolctl when installed, else the environment
    (read by OpenBLAS and MKL when NumPy is first imported, which has not happened yet in this process)."""
    try:
        import threadpoolctl
    except ImportError:
        for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ[variable] = str(threads)
        return
    threadpoolctl.threadpool_limits(threads, user_api="blas")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--nets", default=NETS, help="built-in names, or path.yaml=torchvision_name")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocess")
    options = parser.parse_args()

    # First, while this process is small: a child's ru_maxrss starts from its parent's RSS at fork time.
    memory = None if options.no_memory else peak_memory()
    sys.path.insert(0, str(ROOT))
    if "threadpoolctl" not in sys.modules:
        limit_blas_threads(options.threads)
    import numpy
    import torch
    import torchvision

    limit_blas_threads(options.threads)  # threadpoolctl needs NumPy's BLAS loaded to limit it
    torch.set_num_threads(options.threads)
    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"numpy {numpy.__version__} with {blas_description()}; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), torchvision {torchvision.__version__}"
    )
    print(
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}; medians of {options.repeats} passes"
    )
    ceiling = matmul_gflops(numpy, options.repeats)
    print(f"ceiling: numpy float32 matmul 2048x2048: {ceiling:.1f} GFLOP/s\n")
    print(
        f"{'network':<20} {'batch':>5} {'numpy s':>9} {'tv s':>9} {'ratio':>6} {'best':>6} "
        f"{'GFLOP/s':>8} {'grouped':>7} {'rel diff':>9}"
    )
    missing = []
    for item in options.nets.split(","):
        description, torchvision_name = parse_row(item)
        for batch in map(int, options.batches.split(",")):
            row = bench_row(description, torchvision_name, batch, options.repeats, torch, torchvision)
            if row is None:
                missing.append(description)
                break
            difference = "(own wts)" if row["max_difference"] is None else f"{row['max_difference']:.1e}"
            print(
                f"{row['name']:<20} {batch:>5} {row['numpy']:>9.4f} {row['torch']:>9.4f} {row['ratio']:>6.2f} "
                f"{row['best_ratio']:>6.2f} {row['gflops']:>8.1f} {row['grouped_share']:>7.0%} {difference:>9}",
                flush=True,
            )
    if missing:
        print(f"\nmissing built-ins (not measured): {', '.join(missing)}")
    if memory is not None:
        print(f"\npeak resident memory, resnet152 batch 1 (cnncalc run path, subprocess): {memory / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
