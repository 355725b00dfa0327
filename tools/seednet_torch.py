#!/usr/bin/env python3
"""Times SeedNet in PyTorch: inference, the network snn's BenchmarkPredict
runs, or one training step, what snn's BenchmarkSeedNetStep runs. The
network: twelve 3x3 'same' convolutions (32, 64, 128, 256 channels, three
per stage, 2x2 max-pooling after each stage), dense 512, 512, 512 and the
output, SELU, a softmax at the end; greyscale images.

    python3 tools/seednet_torch.py SIZE CLASSES BATCH THREADS [SECONDS]
    python3 tools/seednet_torch.py train SIZE CLASSES BATCH THREADS [SECONDS]

The first prints one line: size, classes, batch, threads, ms/image,
images/s; run it interleaved with `go test -run '^$' -bench Predict ./nn`.
The second times a training step (forward, softmax cross-entropy,
backward, Adam with Keras' defaults: learning rate 1e-3, epsilon 1e-7,
then W <- W - mean(W) for every convolution and dense kernel, snn's
default constraint for SELU) and prints: size, classes, batch, threads,
ms/step, images/s; run it interleaved with
`go test -run '^$' -bench SeedNetStep .` (BenchmarkSeedNetStep).

PyTorch picks its CPU code path by itself; ONEDNN_MAX_CPU_ISA=AVX2 limits
oneDNN to AVX2 on a CPU with AVX-512 (ONEDNN_VERBOSE=1 shows what runs).
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


def timed(f, seconds):
    """Runs f three times, then until seconds have passed (at least three
    more times); returns the mean seconds per call."""
    for _ in range(3):
        f()
    n, t0 = 0, time.perf_counter()
    while True:
        f()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds and n >= 3:
            return el / n


def train(args):
    size, classes, batch, threads = (int(a) for a in args[:4])
    seconds = float(args[4]) if len(args) > 4 else 2.0
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    m = seednet(size, classes).train()
    body = m[:-1]  # the softmax is inside the loss
    kernels = [p for name, p in body.named_parameters() if name.endswith("weight")]
    opt = torch.optim.Adam(body.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 1, size, size)
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(body(x), y).backward()
        opt.step()
        with torch.no_grad():
            for w in kernels:
                w.sub_(w.mean())

    per = timed(step, seconds)
    print(f"{size} {classes} {batch} {threads} {per * 1e3:.3f} {batch / per:.1f}")


def main():
    if sys.argv[1] == "train":
        train(sys.argv[2:])
        return
    size, classes, batch, threads = (int(a) for a in sys.argv[1:5])
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    m = seednet(size, classes)
    x = torch.rand(batch, 1, size, size)
    with torch.inference_mode():
        per = timed(lambda: m(x), seconds) / batch
    print(f"{size} {classes} {batch} {threads} {per * 1e3:.4f} {1 / per:.1f}")


if __name__ == "__main__":
    main()
