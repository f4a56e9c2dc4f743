#!/usr/bin/python3
"""The published TaT training step in PyTorch, timed: the loop as the published code runs
it (published recipe, section 1) -- teacher and student in train mode, the teacher's
forward with autograd on, the distiller applied one sample at a time, fp32 -- on a fixed
random batch (data loading left out). Networks and distiller are the independent Python
implementations of the tests (tests/python/reference_deeplab.py, published_train_step.py),
the distiller's heads and patches batched as the published code batches them.

  train_step_python.py --student resnet18|mobilenetv2 [--batch 4] [--crop 513]
                       [--iterations 5] [--warmup 2] [--threads 2]

Prints one JSON line: seconds per step (median after the warm-up), images/s, peak RSS (MB).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
import published_train_step as published  # noqa: E402
import reference_deeplab as ref  # noqa: E402
import tat_reference as tat  # noqa: E402


# The test reference loops over heads and patches in Python, for clarity; the published
# distiller batches them (one matrix product over the heads, patches by reshaping). The
# timed step does as the published code does. Same formula: no 1/sqrt(d), the mean squared
# error over all S x P elements.
def attention_loss(q, k, v, target, heads):
    s, p = q.shape
    d = s // heads
    qh, kh, vh, th = (x.reshape(heads, d, p) for x in (q, k, v, target))
    attention = torch.softmax(qh.transpose(1, 2) @ kh, dim=2)
    return F.mse_loss(attention @ vh.transpose(1, 2), th.transpose(1, 2))


def stacked(x, n, m):
    c, h, w = x.shape
    kh, kw = h // n, w // m
    x = x[:, :n * kh, :m * kw].reshape(c, n, kh, m, kw).permute(1, 3, 0, 2, 4)
    return x.reshape(n * m * c, kh * kw)


tat.attention_loss = attention_loss
tat.stacked = stacked


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--student", choices=["resnet18", "mobilenetv2"], default="resnet18")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--crop", type=int, default=513)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    student = ref.DeepLab(args.student, 21)
    teacher = ref.DeepLab("resnet101", 21)
    distiller = published.Distiller()
    image = torch.randn(args.batch, 3, args.crop, args.crop)
    # The published loader hands labels over as float; the step casts them.
    label = torch.randint(0, 21, (args.batch, args.crop, args.crop)).float()
    head = list(student.aspp.parameters()) + list(student.decoder.parameters())
    optimizer = torch.optim.SGD([{"params": student.backbone.parameters()}, {"params": head},
                                 {"params": distiller.parameters()}], lr=0.01, momentum=0.9, weight_decay=5e-4,
                                nesterov=True)
    criterion = nn.CrossEntropyLoss(ignore_index=255)
    times = []
    for _ in range(args.warmup + args.iterations):
        start = time.perf_counter()
        for m in (student, teacher, distiller):
            m.train()
        optimizer.zero_grad()
        ft, _ = published.extract_feature(teacher, image)
        fs, logits = published.extract_feature(student, image)
        loss = criterion(logits, label.long()) / args.batch + published.ALPHA * distiller(fs, ft) / args.batch
        loss.backward()
        optimizer.step()
        loss.item()
        times.append(time.perf_counter() - start)
    step = statistics.median(times[args.warmup:])
    print(json.dumps({"student": args.student, "batch": args.batch, "seconds_per_step": step,
                      "images_per_second": args.batch / step,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
