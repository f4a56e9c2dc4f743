#!/usr/bin/python3
"""The TaT loss computed per sample, as the published PyTorch code does: a loop over the
batch, embeddings and attention on one sample at a time (heads batched inside a sample).
Same shapes and formula as bench_tat_loss; prints the median forward + backward time and
the peak RSS.   tat_python.py [--threads N] [--repeats R]
"""
import argparse
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvNorm(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv2d = nn.Conv2d(cin, cout, 1, bias=False)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.norm(self.conv2d(x))


def attention(q, k, v, heads):
    s, p = q.shape
    d = s // heads
    qh, kh, vh = q.view(heads, d, p).transpose(1, 2), k.view(heads, d, p), v.view(heads, d, p).transpose(1, 2)
    return torch.softmax(qh @ kh, -1) @ vh


def stack(x, n, m):
    c, h, w = x.shape
    kh, kw = h // n, w // m
    x = x[:, :n * kh, :m * kw].reshape(c, n, kh, m, kw).permute(1, 3, 0, 2, 4)
    return x.reshape(n * m * c, kh * kw)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--flush-denormal", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(bool(args.flush_denormal))
    torch.manual_seed(0)
    q_e, k_e, v_e = ConvNorm(256, 256), ConvNorm(256, 256), ConvNorm(256, 256)
    fs = torch.randn(4, 256, 129, 129, requires_grad=True)
    ft = torch.randn(4, 256, 129, 129)
    n = m = 16
    heads, ah, aw = 64, 32, 32
    times = []
    for r in range(args.repeats + 1):
        fs.grad = None
        start = time.time()
        pg_total, ap_total = 0.0, 0.0
        for i in range(fs.shape[0]):
            s, t = fs[i:i + 1], ft[i:i + 1]
            q, k, v = q_e(s)[0], k_e(t)[0], v_e(s)[0]
            out = attention(stack(q, n, m), stack(k, n, m), stack(v, n, m), heads)
            target = stack(t[0], n, m).view(heads, -1, out.shape[1]).transpose(1, 2)
            pg_total = pg_total + F.mse_loss(out, target)
            kernel = (q.shape[1] // ah, q.shape[2] // aw)
            pool = lambda x: F.avg_pool2d(x[None], kernel, kernel)[0].flatten(1)
            out = attention(pool(q), pool(k), pool(v), 1)
            ap_total = ap_total + F.mse_loss(out, pool(t[0]).t()[None])
        total = pg_total / fs.shape[0] + 0.4 * ap_total / fs.shape[0]
        total.backward()
        if r > 0:
            times.append((time.time() - start) * 1000)
    times.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("python_per_sample median_ms=%.1f peak_rss_mb=%.0f loss=%.6f" % (times[len(times) // 2], peak, total.item()))


if __name__ == "__main__":
    main()
