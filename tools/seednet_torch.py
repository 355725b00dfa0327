#!/usr/bin/env python3
"""Times SeedNet inference in PyTorch, the network snn's BenchmarkPredict
runs: twelve 3x3 'same' convolutions (32, 64, 128, 256 channels, three per
stage, 2x2 max-pooling after each stage), dense 512, 512, 512 and the
output, SELU, a softmax at the end; greyscale images.

    python3 tools/seednet_torch.py SIZE CLASSES BATCH THREADS [SECONDS]

prints one line: size, classes, batch, threads, ms/image, images/s.
Run it interleaved with `go test -run '^$' -bench Predict ./nn`.
"""
import sys
import time

import torch
from torch import nn


def seednet(size, classes):
    layers, c = [], 1
    for f in (32, 64, 128, 256):
        for _ in range(3):
            layers += [nn.Conv2d(c, f, 3, padding=1), nn.SELU()]
            c = f
        layers.append(nn.MaxPool2d(2))
        size //= 2
    layers.append(nn.Flatten())
    d = c * size * size
    for u in (512, 512, 512):
        layers += [nn.Linear(d, u), nn.SELU()]
        d = u
    layers += [nn.Linear(d, classes), nn.Softmax(dim=1)]
    return nn.Sequential(*layers).eval()


def main():
    size, classes, batch, threads = (int(a) for a in sys.argv[1:5])
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    m = seednet(size, classes)
    x = torch.rand(batch, 1, size, size)
    with torch.inference_mode():
        for _ in range(3):
            m(x)
        n, t0 = 0, time.perf_counter()
        while True:
            m(x)
            n += 1
            el = time.perf_counter() - t0
            if el >= seconds and n >= 3:
                break
    per = el / (n * batch)
    print(f"{size} {classes} {batch} {threads} {per * 1e3:.4f} {1 / per:.1f}")


if __name__ == "__main__":
    main()
