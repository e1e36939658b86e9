#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Training throughput of the same RepVGG (plain BN) in PyTorch's Python front end.

Overhead check for repvk-train: run with the same preset, batch and thread count as
`repvk-train bench --norm bn` and compare images/s. Uses Debian's python3-torch:
    /usr/bin/python3 tools/train/scripts/bench_python.py --batch 128 --threads 2
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv3 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.conv1 = nn.Conv2d(cin, cout, 1, stride, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.bnid = nn.BatchNorm2d(cout) if cin == cout and stride == 1 else None

    def forward(self, x):
        y = self.bn3(self.conv3(x)) + self.bn1(self.conv1(x))
        if self.bnid is not None:
            y = y + self.bnid(x)
        return F.relu(y)


class RepVGG(nn.Module):
    def __init__(self, cin, depths, widths, strides, classes):
        super().__init__()
        blocks = []
        for depth, width, stride in zip(depths, widths, strides):
            for d in range(depth):
                blocks.append(Block(cin, width, stride if d == 0 else 1))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.blocks(x).mean((2, 3)))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--input", default="1x28x28")
    p.add_argument("--depths", default="1,2,2,2,1")
    p.add_argument("--widths", default="16,32,64,128,256")
    p.add_argument("--strides", default="1,2,2,2,1")
    p.add_argument("--classes", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    c, h, w = (int(v) for v in a.input.split("x"))
    ints = lambda s: [int(v) for v in s.split(",")]
    net = RepVGG(c, ints(a.depths), ints(a.widths), ints(a.strides), a.classes).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
    x = torch.randn(a.batch, c, h, w)
    y = torch.randint(0, a.classes, (a.batch,))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    s = time.perf_counter() - t0
    print(f"python torch {torch.__version__}: threads {torch.get_num_threads()}, batch {a.batch}, "
          f"{a.steps} steps: {a.batch * a.steps / s:.1f} images/s")


if __name__ == "__main__":
    main()
