"""Per-layer speed of the NumPy backend's convolution against torch.nn.functional.conv2d, single-threaded.

    python benchmarks/conv_layers.py [--repeats 7] [--only depthwise,grouped,dense] [--batches 1,8]

Both sides run one thread (OPENBLAS_NUM_THREADS=1 and friends are set before NumPy is imported,
torch.set_num_threads(1)) and are timed in CPU time (time.process_time), so that other processes on a shared
machine disturb the figures much less than wall-clock ratios. Each figure is the median of N calls after a
warm-up, float32, same process. The layers are those of the built-ins the speed targets name: MobileNetV2 and
EfficientNet-B0 depthwise, ConvNeXt-T 7x7, RegNetY-400MF and ResNeXt grouped, ResNet-152 dense.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: (family, model, channels in, channels out, map, kernel, stride, groups), padding kernel // 2.
LAYERS = [
    ("depthwise", "mobilenet_v2", 32, 32, 112, 3, 1, 32),
    ("depthwise", "mobilenet_v2", 96, 96, 112, 3, 2, 96),
    ("depthwise", "mobilenet_v2", 144, 144, 56, 3, 1, 144),
    ("depthwise", "mobilenet_v2", 144, 144, 56, 3, 2, 144),
    ("depthwise", "mobilenet_v2", 192, 192, 28, 3, 1, 192),
    ("depthwise", "mobilenet_v2", 384, 384, 14, 3, 1, 384),
    ("depthwise", "mobilenet_v2", 960, 960, 7, 3, 1, 960),
    ("depthwise", "efficientnet_b0", 144, 144, 56, 5, 2, 144),
    ("depthwise", "efficientnet_b0", 240, 240, 28, 5, 1, 240),
    ("depthwise", "efficientnet_b0", 672, 672, 14, 5, 1, 672),
    ("depthwise", "efficientnet_b0", 672, 672, 14, 5, 2, 672),
    ("depthwise", "efficientnet_b0", 1152, 1152, 7, 5, 1, 1152),
    ("depthwise", "convnext_tiny", 96, 96, 56, 7, 1, 96),
    ("depthwise", "convnext_tiny", 192, 192, 28, 7, 1, 192),
    ("depthwise", "convnext_tiny", 384, 384, 14, 7, 1, 384),
    ("depthwise", "convnext_tiny", 768, 768, 7, 7, 1, 768),
    ("grouped", "regnet_y_400mf", 48, 48, 56, 3, 2, 6),
    ("grouped", "regnet_y_400mf", 104, 104, 28, 3, 1, 13),
    ("grouped", "regnet_y_400mf", 208, 208, 14, 3, 1, 26),
    ("grouped", "regnet_y_400mf", 440, 440, 7, 3, 1, 55),
    ("grouped", "resnext50_32x4d", 128, 128, 56, 3, 1, 32),
    ("grouped", "resnext50_32x4d", 256, 256, 56, 3, 2, 32),
    ("grouped", "resnext50_32x4d", 512, 512, 14, 3, 1, 32),
    ("grouped", "resnext50_32x4d", 1024, 1024, 7, 3, 1, 32),
    ("dense", "resnet152", 3, 64, 224, 7, 2, 1),
    ("dense", "resnet152", 64, 64, 56, 1, 1, 1),
    ("dense", "resnet152", 64, 64, 56, 3, 1, 1),
    ("dense", "resnet152", 64, 256, 56, 1, 1, 1),
    ("dense", "resnet152", 256, 64, 56, 1, 1, 1),
    ("dense", "resnet152", 128, 128, 56, 3, 2, 1),
    ("dense", "resnet152", 256, 512, 56, 1, 2, 1),
    ("dense", "resnet152", 512, 128, 28, 1, 1, 1),
    ("dense", "resnet152", 128, 128, 28, 3, 1, 1),
    ("dense", "resnet152", 1024, 256, 14, 1, 1, 1),
    ("dense", "resnet152", 256, 256, 14, 3, 1, 1),
    ("dense", "resnet152", 256, 1024, 14, 1, 1, 1),
    ("dense", "resnet152", 2048, 512, 7, 1, 1, 1),
    ("dense", "resnet152", 512, 512, 7, 3, 1, 1),
    ("dense", "resnet152", 512, 2048, 7, 1, 1, 1),
]


def median_cpu_time(call, repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", default="depthwise,grouped,dense")
    parser.add_argument("--batches", default="1,8")
    args = parser.parse_args()
    import numpy as np
    import torch

    from cnncalc.backend import kernels

    torch.set_num_threads(1)
    families = set(args.only.split(","))
    rng = np.random.default_rng(0)
    print("| family | model | batch | C_in -> C_out | map | kernel | stride | groups | numpy ms | torch ms | ratio |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for batch in map(int, args.batches.split(",")):
        for family, model, c_in, c_out, size, k, stride, groups in LAYERS:
            if family not in families:
                continue
            x = rng.standard_normal((batch, c_in, size, size), dtype=np.float32)
            weight = rng.standard_normal((c_out, c_in // groups, k, k), dtype=np.float32)
            padding = [(k // 2, k // 2)] * 2
            ours = median_cpu_time(
                partial(kernels.conv, x, weight, None, (stride, stride), padding, (1, 1), groups), args.repeats
            )
            tx, tw = torch.from_numpy(x), torch.from_numpy(weight)
            with torch.no_grad():
                theirs = median_cpu_time(
                    partial(torch.nn.functional.conv2d, tx, tw, None, stride, k // 2, 1, groups), args.repeats
                )
            print(
                f"| {family} | {model} | {batch} | {c_in} -> {c_out} | {size} | {k}x{k} | {stride} | {groups} "
                f"| {ours * 1e3:.2f} | {theirs * 1e3:.2f} | {ours / theirs:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
