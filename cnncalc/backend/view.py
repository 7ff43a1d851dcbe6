"""Rendering for the execution commands: the run table and JSON, the weight listing, the delayed progress bar.

Static: nothing here imports NumPy, so ``cnncalc weights`` stays light.
"""

from __future__ import annotations

import time

from ..registry import format_shape
from ..render import BOLD, CYAN, RESET, labelled, padded
from ..units import grouped, human
from .memory import human_bytes
from .weights import ExpectedWeight

PROGRESS_DELAY = 1.0  # seconds before a progress bar appears
GREEN, RED = "\x1b[32m", "\x1b[31m"


def run_table(result, color: bool = False) -> str:
    """Per layer the computed and executed shapes, a match mark and the kernel time, as aligned text.

    The static tables' plain string formatting (``render.padded``), not a rich Table: 100,000 layers render in
    well under a second instead of 42 s. With ``color`` (ANSI) the header is bold, kinds cyan, marks green or red.
    """
    width = 2 if all(layer.match for layer in result.layers) else 7
    marks = {True: " " * ((width - 2) // 2) + "ok" + " " * ((width - 1) // 2), False: "DIFFERS"}  # centred as rich
    shapes: dict = {}  # most layers share a few shapes: format each once
    rows = [["Layer", "Kind", "Computed", "Executed", " " * width, "ms"]]
    for layer in result.layers:
        computed, executed = layer.computed, layer.executed
        rows.append(
            [
                layer.path,
                layer.kind,
                shapes.get(computed) or shapes.setdefault(computed, format_shape(computed)),
                shapes.get(executed) or shapes.setdefault(executed, format_shape(executed)),
                marks[layer.match],
                f"{layer.seconds * 1e3:.2f}",
            ]
        )
    lines = [f"{result.name}  input {format_shape(result.input)}  ({result.dtype}, {result.weights})"]
    if not color:
        return "\n".join(lines + ["  ".join(row).rstrip() for row in padded(rows, "llrrlr")]) + "\n"
    for index, row in enumerate(padded(rows, "llrrlr")):
        row[1] = CYAN + row[1] + RESET
        if index:
            mark = row[4].strip()
            row[4] = row[4].replace(mark, (GREEN if mark == "ok" else BOLD + RED) + mark + RESET)
        line = "  ".join(row).rstrip()
        lines.append(BOLD + line + RESET if index == 0 else line)
    return "\n".join(lines) + "\n"


def run_summary(result) -> str:
    """Totals: layers run, time, achieved GFLOP/s and which FLOPs they are, the memory estimate."""
    from .crosscheck import FLOPS_BASIS

    ran = len(result.layers)
    if result.mismatch is not None:
        status = f"stopped at {result.mismatch.path} ({ran} of {result.total_layers} layers run)"
    else:
        status = f"all {ran} shapes match"
        if not result.finite:
            status += " (the output holds inf or NaN: the values overflowed, the shapes are still checked)"
    outputs = (
        [["outputs", ", ".join(f"{path} {format_shape(array.shape)}" for path, _, array in result.outputs)]]
        if len(result.outputs) > 1
        else []
    )
    return labelled(
        [
            ["shapes", status],
            *outputs,
            ["time", f"{result.seconds:.4f} s in the kernels"],
            ["throughput", f"{result.gflops:.2f} GFLOP/s over {human(result.flops, 'FLOPs')} ({FLOPS_BASIS})"],
            [
                "memory",
                f"estimated peak {human_bytes(result.memory.peak)}, weights {human_bytes(result.memory.weights)}",
            ],
        ]
    )


def run_json(result) -> dict:
    """The run as data: per layer path, kind, computed, executed, match, seconds; then the totals."""
    from .crosscheck import FLOPS_BASIS, is_finite

    mismatch = result.mismatch
    return {
        "name": result.name,
        "file": result.file,
        "dtype": result.dtype,
        "input": list(result.input),
        "seed": result.seed,
        "weights": result.weights,
        "match": mismatch is None,
        "output_finite": result.finite,
        "first_mismatch": mismatch.path if mismatch else None,
        "outputs": [
            {"path": path, "aux": aux, "shape": list(array.shape), "finite": is_finite(array)}
            for path, aux, array in result.outputs
        ],
        "layers": [
            {
                "path": layer.path,
                "kind": layer.kind,
                "computed": list(layer.computed),
                "executed": list(layer.executed),
                "match": layer.match,
                "seconds": layer.seconds,
            }
            for layer in result.layers
        ],
        "totals": {
            "layers": result.total_layers,
            "layers_run": len(result.layers),
            "seconds": result.seconds,
            "flops": result.flops,
            "gflops": result.gflops,
            "flops_basis": FLOPS_BASIS,
            "memory_estimate_bytes": result.memory.peak,
        },
    }


def weights_table(name: str, expected: list[ExpectedWeight]):
    """A rich Table of the expected weight keys and shapes."""
    from rich.table import Table

    grid = Table(
        title=f"{name}: arrays of 'run --weights' (.npz or .safetensors)",
        title_justify="left",
        header_style="bold",
        footer_style="bold",
        box=None,
        pad_edge=False,
        show_footer=True,
    )
    grid.add_column("Key", footer="Total")
    grid.add_column("Shape", justify="right", footer=f"{len(expected)} arrays")
    grid.add_column("Elements", justify="right", footer=grouped(sum(weight.size for weight in expected)))
    grid.add_column("Kind")
    for weight in expected:
        grid.add_row(
            weight.key, format_shape(weight.shape), grouped(weight.size), "parameter" if weight.trainable else "buffer"
        )
    return grid


def weights_json(name: str, expected: list[ExpectedWeight]) -> dict:
    """The expected arrays as data."""
    return {
        "name": name,
        "weights": [
            {"key": weight.key, "shape": list(weight.shape), "size": weight.size, "trainable": weight.trainable}
            for weight in expected
        ],
        "total": sum(weight.size for weight in expected),
    }


class DelayedProgress:
    """A transient rich progress bar on stderr that appears only once a run has taken ``PROGRESS_DELAY`` s,
    and only on a terminal."""

    def __init__(self, description: str, console=None):
        self.description = description
        self.console = console  # a rich Console; stderr by default
        self.start = time.perf_counter()
        self.progress = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.progress is None:
            if time.perf_counter() - self.start < PROGRESS_DELAY or done >= total:
                return
            from rich.console import Console
            from rich.progress import Progress

            console = self.console or Console(stderr=True)
            if not console.is_terminal:  # no bar in logs and pipes: it would only leave blank lines behind
                self.start = float("inf")
                return
            self.progress = Progress(console=console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=total)
        self.progress.update(self.task, completed=done)

    def __enter__(self) -> DelayedProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()
