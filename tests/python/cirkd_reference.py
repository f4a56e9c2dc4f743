#!/usr/bin/python3
"""An independent implementation of the CIRKD toolbox's distillation losses (its facts,
section 1), for tests/distill/test_cirkd_distillers.cpp: float64 features of odd sizes,
each loss, the gradient of the student feature(s) and of each module's weight, written
with per-sample, per-channel and per-pair loops where the formula has them.

  cirkd_reference.py OUT.pt

Writes a dict: for each case NAME, NAME.s<i> / NAME.t<i> (inputs), NAME.weight (a
module's weight, when it has one), NAME.loss, NAME.grad.s<i>, NAME.grad.weight.
"""
import math
import sys

import torch
import torch.nn.functional as F


def unit(v, dim):
    return v / v.norm(dim=dim, keepdim=True).clamp_min(1e-12)


def kl_rows(p, log_q):
    """sum over rows and columns of p (log p - log q); 0 where p = 0."""
    return torch.where(p > 0, p * (torch.log(torch.where(p > 0, p, torch.ones_like(p))) - log_q), torch.zeros_like(p)).sum()


def kd(s, t, T):
    B, K, h, w = s.shape
    total = 0.0
    for b in range(B):
        for y in range(h):
            for x in range(w):
                p = torch.softmax(t[b, :, y, x] / T, 0)
                total = total + kl_rows(p, torch.log_softmax(s[b, :, y, x] / T, 0))
    return T * T * total / (B * h * w)


def at(s, t):
    B = s.shape[0]
    total = 0.0
    for b in range(B):
        a_s = unit((s[b] ** 2).mean(0).flatten(), 0)
        a_t = unit((t[b] ** 2).mean(0).flatten(), 0)
        total = total + ((a_s - a_t) ** 2).sum()
    return total / (B * s.shape[2] * s.shape[3])


def fitnet(s, t, weight):
    mapped = torch.einsum("oi,bihw->bohw", weight[:, :, 0, 0], s)
    return ((mapped - t) ** 2).mean()


def cwd(s, t, T, weight=None, log_softmax_student=False):
    B, Cs = s.shape[0], s.shape[1]
    if weight is not None:
        s = torch.einsum("oi,bihw->bohw", weight[:, :, 0, 0], s)
    total = 0.0
    for b in range(B):
        for c in range(t.shape[1]):
            p_t = torch.softmax(t[b, c].flatten() / T, 0)
            q = torch.softmax(s[b, c].flatten() / T, 0)
            log_q = torch.log_softmax(s[b, c].flatten() / T, 0) if log_softmax_student else torch.log(q)
            total = total + kl_rows(p_t, log_q)
    return T * T * total / (B * Cs)


def pool_ceil(x, k, op):
    """k x k pooling, stride k, partial border windows over what they hold."""
    B, C, h, w = x.shape
    rows, cols = -(-h // k), -(-w // k)
    out = []
    for r in range(rows):
        row = []
        for c in range(cols):
            window = x[:, :, r * k:min(h, r * k + k), c * k:min(w, c * k + k)].flatten(2)
            row.append(window.max(2).values if op == "max" else window.mean(2))
        out.append(torch.stack(row, 2))
    return torch.stack(out, 2)


def csd(s, t, T):
    def gram(x):
        p = torch.softmax(pool_ceil(x, 2, "mean").flatten(2) / T, 2)
        return torch.stack([p[b] @ p[b].T for b in range(x.shape[0])])
    return ((gram(s) - gram(t)) ** 2).mean()


def psd(ss, ts):
    def attention(f):
        return torch.stack([unit((f[b] ** 2).mean(0).flatten(), 0) for b in range(f.shape[0])])
    a_s = [attention(f) for f in ss]
    a_t = [attention(f) for f in ts]
    total, pairs = 0.0, 0
    for n in range(len(ss)):
        for m in range(n + 1, len(ss)):
            r_s = unit(unit(a_s[m] - a_s[n], 1), 1)
            r_t = unit(unit(a_t[m] - a_t[n], 1), 1)
            total = total + ((r_s - r_t) ** 2).mean()
            pairs += 1
    return total / pairs


def skd(s, t):
    def sim(x):
        f = unit(pool_ceil(x, 2, "max").flatten(2), 1)
        return torch.stack([f[b].T @ f[b] for b in range(x.shape[0])])
    return ((sim(s) - sim(t)) ** 2).mean()


def minibatch_pixel(s, t, tau, pool_large=True):
    def positions(x):
        if pool_large and x.shape[2] >= 256 and x.shape[3] >= 256:
            x = pool_ceil(x, 4, "mean")
        return unit(x.flatten(2), 1).transpose(1, 2)
    fs, ft = positions(s), positions(t)
    B, N = fs.shape[0], fs.shape[1]
    total = 0.0
    for i in range(B):
        for j in range(B):
            p = torch.softmax(ft[i] @ ft[j].T / tau, 1)
            total = total + kl_rows(p, torch.log_softmax(fs[i] @ fs[j].T / tau, 1)) / N
    return total / (B * B)


def main(out):
    torch.manual_seed(7)
    g = lambda *shape, scale=1.0: (torch.randn(*shape, dtype=torch.float64) * scale)
    cases = {
        "kd_t1": (lambda s, t: kd(s, t, 1.0), [g(2, 5, 3, 7, scale=3)], [g(2, 5, 3, 7, scale=3)], None),
        "kd_t4": (lambda s, t: kd(s, t, 4.0), [g(3, 4, 5, 2, scale=3)], [g(3, 4, 5, 2, scale=3)], None),
        "at": (at, [g(2, 3, 5, 7)], [g(2, 6, 5, 7)], None),
        "fitnet": (fitnet, [g(2, 3, 5, 7)], [g(2, 6, 5, 7)], g(6, 3, 1, 1, scale=0.3)),
        "cwd_equal": (lambda s, t: cwd(s, t, 4.0), [g(2, 5, 3, 7, scale=3)], [g(2, 5, 3, 7, scale=3)], None),
        "cwd_conv": (lambda s, t, w: cwd(s, t, 2.0, w), [g(2, 3, 4, 5)], [g(2, 6, 4, 5)], g(6, 3, 1, 1, scale=0.5)),
        "cwd_log_softmax": (lambda s, t: cwd(s, t, 4.0, None, True), [g(2, 5, 3, 7, scale=3)], [g(2, 5, 3, 7, scale=3)], None),
        "csd": (lambda s, t: csd(s, t, 4.0), [g(2, 5, 5, 7, scale=2)], [g(2, 5, 5, 7, scale=2)], None),
        "psd": (lambda *f: psd(list(f[:3]), list(f[3:])), [g(2, 5, 4, 7, scale=2), g(2, 3, 4, 7), g(2, 5, 4, 7, scale=2)],
                [g(2, 5, 4, 7, scale=2), g(2, 6, 4, 7), g(2, 5, 4, 7, scale=2)], None),
        "skd": (skd, [g(2, 4, 5, 7)], [g(2, 8, 5, 7)], None),
        "minibatch": (lambda s, t: minibatch_pixel(s, t, 0.1), [g(3, 4, 3, 5)], [g(3, 6, 3, 5)], None),
        "minibatch_pooled": (lambda s, t: minibatch_pixel(s, t, 0.1), [g(1, 2, 258, 257)], [g(1, 3, 258, 257)], None),
        "minibatch_v1": (lambda s, t: minibatch_pixel(s, t, 0.5, False), [g(1, 2, 30, 17)], [g(1, 3, 30, 17)], None),
    }
    out_dict = {}
    for name, (loss_of, students, teachers, weight) in cases.items():
        students = [x.clone().requires_grad_() for x in students]
        args = students + teachers
        if weight is not None:
            weight = weight.clone().requires_grad_()
            args = args + [weight]
        loss = loss_of(*args)
        loss.backward()
        for i, x in enumerate(students):
            out_dict[f"{name}.s{i}"] = x.detach()
            out_dict[f"{name}.grad.s{i}"] = x.grad
        for i, x in enumerate(teachers):
            out_dict[f"{name}.t{i}"] = x
        if weight is not None:
            out_dict[f"{name}.weight"] = weight.detach()
            out_dict[f"{name}.grad.weight"] = weight.grad
        out_dict[f"{name}.loss"] = loss.detach().reshape(())
    torch.save(out_dict, out)


if __name__ == "__main__":
    main(sys.argv[1])
