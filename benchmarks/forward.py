"""Forward-pass speed and memory of the NumPy backend, side by side with PyTorch on the CPU.

    python benchmarks/forward.py [--repeats 5] [--threads 2] [--nets resnet152,alexnet] [--batches 1,8]

For each network and batch (float32): the best-of-N wall time of the NumPy forward pass and of the same network
in PyTorch (built from the description by tests/torch_model.py, eval mode, no_grad, same weights, same thread
count), their ratio, the achieved GFLOP/s over the propagator's FLOPs, and the GFLOP/s of the convolutions
alone. The ceiling is a plain NumPy float32 matmul (2048 x 2048) on the same machine. The peak resident memory
of a ResNet-152 batch-1 run (`cnncalc run`'s code path, no PyTorch loaded) is measured in a subprocess with
resource.getrusage.

Best-of-N (and the median), NumPy's N passes, then PyTorch's, with a pause between so that neither library's
spinning worker threads slow the other; the minimum is the least disturbed figure on a shared machine. On processors
where OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are set (docs/performance.md), unset both for
this command alone; the BLAS in use is printed (threadpoolctl, when installed).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

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


def bench_network(name: str, batch: int, repeats: int, torch) -> dict:
    import numpy as np
    from torch_model import TorchModel

    from cnncalc.backend import crosscheck, execute, weights
    from cnncalc.load import load
    from cnncalc.propagate import propagate

    network = load(name)
    report = propagate(network, batch)
    arrays = weights.initialise(report, 0)
    x = crosscheck.make_input(report, 0, "float32")
    model = TorchModel(network)
    model.load(arrays)
    tx = torch.from_numpy(x)

    def numpy_pass():
        per_layer = [(step.index, step.seconds) for step in execute.forward(network, arrays, x.copy())]
        return per_layer

    def torch_pass():
        with torch.no_grad():
            outputs = {-1: tx}
            for index, node in enumerate(network.nodes):
                xs = [outputs[i] for i in node.inputs]
                if node.kind == "add":
                    y = xs[0] + xs[1] if len(xs) == 2 else sum(xs[1:], xs[0])
                elif node.kind == "concat":
                    y = torch.cat(xs, dim=1)
                else:
                    y = model.modules[node.path](xs[0])
                outputs[index] = y
            return y

    numpy_times, torch_times, conv_times = [], [], []
    conv_layers = {i for i, layer in enumerate(report.layers) if layer.kind == "conv"}
    numpy_pass()  # warm-up: BLAS threads, page faults
    for _ in range(repeats):
        start = time.perf_counter()
        per_layer = numpy_pass()
        numpy_times.append(time.perf_counter() - start)
        conv_times.append(sum(seconds for index, seconds in per_layer if index in conv_layers))
    _settle()
    torch_pass()  # warm-up: oneDNN primitives
    torch_times = [_timed(torch_pass) for _ in range(repeats)]
    _settle()
    conv_flops = sum(report.layers[i].flops for i in conv_layers)
    ours, theirs = min(numpy_times), min(torch_times)
    reference = model(x)
    check = np.abs(crosscheck.run(network, report).output - reference).max() / np.abs(reference).max()
    return {
        "name": name,
        "batch": batch,
        "numpy": ours,
        "torch": theirs,
        "ratio": ours / theirs,
        "gflops": report.totals.flops / ours / 1e9,
        "torch_gflops": report.totals.flops / theirs / 1e9,
        "conv_gflops": conv_flops / min(conv_times) / 1e9,
        "flops": report.totals.flops,
        "median_ratio": sorted(numpy_times)[len(numpy_times) // 2] / sorted(torch_times)[len(torch_times) // 2],
        "max_difference": float(check),  # relative to the output's largest magnitude
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--nets", default="resnet152,alexnet")
    parser.add_argument("--batches", default="1,8")
    options = parser.parse_args()

    # First, while this process is small: a child's ru_maxrss starts from its parent's RSS at fork time.
    memory = peak_memory()
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy
    import torch

    torch.set_num_threads(options.threads)
    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"numpy {numpy.__version__} with {blas_description()}; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads)"
    )
    print(
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}"
    )
    ceiling = matmul_gflops(numpy, options.repeats)
    print(f"ceiling: numpy float32 matmul 2048x2048: {ceiling:.1f} GFLOP/s\n")
    header = (
        f"{'network':<10} {'batch':>5} {'numpy s':>9} {'torch s':>9} {'ratio':>6} {'median':>6} "
        f"{'GFLOP/s':>8} {'torch':>8} {'conv GF/s':>9} {'of ceil':>7} {'rel diff':>9}"
    )
    print(header)
    for name in options.nets.split(","):
        for batch in map(int, options.batches.split(",")):
            row = bench_network(name, batch, options.repeats, torch)
            print(
                f"{name:<10} {batch:>5} {row['numpy']:>9.4f} {row['torch']:>9.4f} {row['ratio']:>6.2f} "
                f"{row['median_ratio']:>6.2f} {row['gflops']:>8.1f} {row['torch_gflops']:>8.1f} "
                f"{row['conv_gflops']:>9.1f} {row['conv_gflops'] / ceiling:>7.0%} {row['max_difference']:>9.1e}",
                flush=True,
            )
    print(f"\npeak resident memory, resnet152 batch 1 (cnncalc run path, subprocess): {memory / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
