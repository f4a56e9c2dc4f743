#!/usr/bin/python3
"""An independent implementation of the published comparison distillers (distiller_comp.py,
as docs/architecture.md and the facts file describe them), for the distiller tests:
random float64 features, each distiller's term sum(D) / B and the gradient of the student
feature, written with per-sample and per-patch loops where the formula has them.

  comparison_reference.py OUT.pt

Writes a dict: for each case NAME, NAME.fs, NAME.ft, NAME.loss, NAME.grad_fs.
"""
import sys

import torch
import torch.nn.functional as F


def kd_width(fs, ft, T=7.0):
    B = fs.shape[0]
    kl = F.kl_div(F.log_softmax(fs / T, dim=3), F.softmax(ft / T, dim=3), reduction="sum")
    D = 0.01 * T * T / B * kl
    return D / B


def at(fs, ft):
    B = fs.shape[0]
    if fs.shape[2] > ft.shape[2]:
        fs = F.adaptive_avg_pool2d(fs, (ft.shape[2], ft.shape[2]))
    elif ft.shape[2] > fs.shape[2]:
        ft = F.adaptive_avg_pool2d(ft, (fs.shape[2], fs.shape[2]))
    total = 0.0
    for b in range(B):
        a_s = F.normalize((fs[b] ** 2).mean(0).flatten(), dim=0, eps=1e-12)
        a_t = F.normalize((ft[b] ** 2).mean(0).flatten(), dim=0, eps=1e-12)
        total = total + ((a_s - a_t) ** 2).sum()
    return total / B


def fitnet_plain(fs, ft):
    return ((fs - ft) ** 2).mean() / fs.shape[0]


def ch(fs, ft, n, m):
    B, C, H, W = fs.shape
    kh, kw = H // n, W // m
    total = 0.0
    for b in range(B):
        for i in range(H // kh):
            for j in range(W // kw):
                grams = []
                for f in (fs, ft):
                    p = f[b, :, i * kh:(i + 1) * kh, j * kw:(j + 1) * kw].reshape(C, kh * kw)
                    grams.append(F.normalize(p @ p.t(), dim=1, eps=1e-12))
                total = total + ((grams[0] - grams[1]) ** 2).sum()
    D = 0.5 * total / (C * B * B)
    return D / B


CASES = {
    # name: (function, student shape, teacher shape)
    "kd_width": (kd_width, (3, 5, 7, 11), (3, 5, 7, 11)),
    "at": (at, (3, 5, 13, 9), (3, 7, 13, 9)),
    "at_pooled": (at, (2, 4, 19, 19), (2, 6, 37, 37)),
    "fitnet_plain": (fitnet_plain, (3, 5, 7, 11), (3, 5, 7, 11)),
    # 37 // 8 = 4-row patches give a 9-row grid, not 8: the published floor rule
    "ch": (lambda s, t: ch(s, t, 8, 3), (3, 5, 37, 29), (3, 5, 37, 29)),
}


def main():
    g = torch.Generator().manual_seed(11)
    out = {}
    for name, (function, s_shape, t_shape) in CASES.items():
        fs = torch.randn(*s_shape, generator=g, dtype=torch.float64).requires_grad_()
        ft = torch.randn(*t_shape, generator=g, dtype=torch.float64)
        loss = function(fs, ft)
        loss.backward()
        out.update({name + ".fs": fs.detach(), name + ".ft": ft, name + ".loss": loss.detach(), name + ".grad_fs": fs.grad})
    torch.save(out, sys.argv[1])


if __name__ == "__main__":
    main()
