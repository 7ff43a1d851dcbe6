"""Start-up and propagation speed of the static commands, against baselines measured in the same run.

1. Whole-process time of ``cnncalc params resnet152`` against ``python -c "import typer, rich, yaml"`` (the floor:
   the libraries the CLI cannot do without). Target: within 1.5x of the floor.
2. Propagation time of generated chains of 1,000 / 10,000 / 100,000 layers (parse, expand, propagate).
   Target: time per layer at 100,000 layers at most 2x that at 1,000.

Usage: python benchmarks/cli.py [--runs 15]. Prints medians and the ratios; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def whole_process(commands: list[list[str]], runs: int) -> list[float]:
    """Median wall time of running each command to completion; the commands take turns, so that a change in the
    machine's load falls on all of them alike."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for command, samples in zip(commands, times):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "120"})
            samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def chain(layers: int) -> str:
    """A generated description: conv / batchnorm / relu / residual units repeated to ``layers`` layers."""
    units = layers // 4
    return (
        "name: chain\ninput: [8, 16, 16]\nlayers:\n"
        f"  - repeat:\n      times: {units}\n      layers:\n"
        "        - residual:\n            main:\n"
        "              - conv: {out: 8, kernel: 3, padding: 1, bias: false}\n"
        "              - batchnorm\n              - relu\n"
    )


def propagation_time(layers: int, repeats: int) -> float:
    from cnncalc.load import parse_network
    from cnncalc.propagate import propagate

    text = chain(layers)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        report = propagate(parse_network(text, "chain.yaml"))
        times.append(time.perf_counter() - start)
        assert len(report.layers) == layers
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()

    script = shutil.which("cnncalc", path=str(Path(sys.executable).parent)) or shutil.which("cnncalc")
    command = [script] if script else [sys.executable, "-m", "cnncalc"]
    floor, ours = whole_process(
        [[sys.executable, "-c", "import typer, rich, yaml"], [*command, "params", "resnet152"]], options.runs
    )
    startup_ratio = ours / floor
    print(f"floor  python -c 'import typer, rich, yaml'   {floor * 1000:7.1f} ms (median of {options.runs})")
    print(f"ours   cnncalc params resnet152                {ours * 1000:7.1f} ms")
    print(f"ratio  {startup_ratio:.2f}x the floor (target <= 1.5x)")

    print()
    per_layer = {}
    for layers, repeats in ((1_000, 3), (10_000, 3), (100_000, 3)):
        seconds = propagation_time(layers, repeats)
        per_layer[layers] = seconds / layers
        print(f"{layers:>7,} layers  {seconds:8.3f} s   {per_layer[layers] * 1e6:6.1f} us/layer")
    scaling = per_layer[100_000] / per_layer[1_000]
    print(f"per-layer time at 100,000 / at 1,000: {scaling:.2f}x (target <= 2x)")
    return 0 if startup_ratio <= 1.5 and scaling <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
