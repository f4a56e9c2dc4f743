#!/usr/bin/python3
"""An independent, per-sample implementation of the TaT distillation formula (written
from the published code's facts; docs/architecture.md), for the distiller tests: random features and
embedding weights, the patch-group and anchor-point losses, and their gradients.

  tat_reference.py OUT.pt --setting voc_r18|voc_mbv2|odd|tiled|tiled_leftover|split_heads [--train-per-sample | --train-batched]
      [--attention stack|batch|loop|spatial] [--heads H] [--window SPH SPW] [--window-stride SHS SWS] [--anchor-heads A]

The attention types of the published distiller_tat.py: stack (the patches stacked along
channels), batch (each patch attends alone; mean over patches), loop (the same, summed
over patches), spatial (windows of patches stacked, one head per window).

Writes a dict of float64 tensors: inputs (fs, ft), embedding weights (embed_*.conv2d.weight,
embed_*.norm.*), hyper-parameters, losses (loss_pg, loss_ap, total = beta*pg + gamma*ap
averaged over the batch) and gradients (grad.fs, grad.<parameter>). With
--train-per-sample the BatchNorms run in training mode, one sample at a time (the
published quirk), and the final running statistics are saved as after.<buffer>; with
--train-batched they run in training mode over the whole batch at once (segdistill's
default), the attention still one sample at a time.
"""
import argparse

import torch
import torch.nn.functional as F

SETTINGS = {
    # name: (N, Cs, Ct, H, W, n, m, heads, anchor_h, anchor_w, beta, gamma)
    "voc_r18": (2, 8, 16, 33, 33, 16, 16, 64, 32, 32, 1.0, 0.4),
    "voc_mbv2": (2, 6, 8, 65, 65, 32, 32, 1024, 64, 64, 1.0, 0.5),
    "odd": (3, 5, 12, 37, 29, 4, 4, 8, 5, 3, 1.0, 1.0),
    # 16 x 16 anchor cells tile the 8 x 8 patches (2 x 2 cells per patch)
    "tiled": (2, 8, 16, 32, 32, 8, 8, 16, 16, 16, 1.0, 0.4),
    # heads of 9 stacked channels: they cut through patches of 6
    "split_heads": (2, 5, 6, 14, 15, 2, 3, 4, 7, 5, 1.0, 0.5),
    # anchor cells tile the patches and the grid drops a row and a column (the published
    # 129 x 129 and 65 x 65 shapes)
    "tiled_leftover": (2, 8, 16, 33, 33, 8, 8, 16, 16, 16, 1.0, 0.4),
}


def embed(x, p, name, training):
    """x: B x C x H x W (one sample or the whole batch)."""
    y = F.conv2d(x, p[name + ".conv2d.weight"])
    return F.batch_norm(y, p[name + ".norm.running_mean"], p[name + ".norm.running_var"], p[name + ".norm.weight"],
                        p[name + ".norm.bias"], training=training, momentum=0.1, eps=1e-5)


def attention_loss(q, k, v, target, heads):
    """q, k, v, target: S x P. Heads split S into contiguous groups; no 1/sqrt(d)."""
    s = q.shape[0]
    d = s // heads
    total = 0.0
    for h in range(heads):
        rows = slice(h * d, (h + 1) * d)
        a = torch.softmax(q[rows].t() @ k[rows], dim=1)      # P x P
        out = a @ v[rows].t()                                  # P x d
        total = total + ((out - target[rows].t()) ** 2).sum()
    return total / (s * q.shape[1])


def stacked(x, n, m):
    c, h, w = x.shape
    kh, kw = h // n, w // m
    patches = [x[:, i * kh:(i + 1) * kh, j * kw:(j + 1) * kw] for i in range(n) for j in range(m)]
    return torch.cat(patches, 0).reshape(n * m * c, kh * kw)


def patch_list(x, n, m):
    """The n x m patches of x (C x H x W), row-major, each C x kh*kw."""
    c, h, w = x.shape
    kh, kw = h // n, w // m
    return [x[:, i * kh:(i + 1) * kh, j * kw:(j + 1) * kw].reshape(c, kh * kw) for i in range(n) for j in range(m)]


def patch_group_loss(q, k, v, t, n, m, heads, attention, window, stride):
    if attention == "stack":
        return attention_loss(stacked(q, n, m), stacked(k, n, m), stacked(v, n, m), stacked(t, n, m), heads)
    qs, ks, vs, ts = (patch_list(x, n, m) for x in (q, k, v, t))
    if attention in ("batch", "loop"):
        per_patch = [attention_loss(qs[p], ks[p], vs[p], ts[p], heads) for p in range(n * m)]
        return sum(per_patch) / len(per_patch) if attention == "batch" else sum(per_patch)
    sph, spw = window
    shs, sws = stride[0] or sph, stride[1] or spw
    gh, gw = (n - sph) // shs + 1, (m - spw) // sws + 1

    def windows(ps):
        out = []
        for gi in range(gh):
            for gj in range(gw):
                out += [ps[(gi * shs + si) * m + gj * sws + sj] for si in range(sph) for sj in range(spw)]
        return torch.cat(out, 0)

    return attention_loss(windows(qs), windows(ks), windows(vs), windows(ts), gh * gw)


def pooled(x, ah, aw):
    kernel = (x.shape[1] // ah, x.shape[2] // aw)
    return F.avg_pool2d(x.unsqueeze(0), kernel, kernel)[0].flatten(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--setting", choices=SETTINGS, required=True)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--train-per-sample", action="store_true")
    mode.add_argument("--train-batched", action="store_true")
    parser.add_argument("--attention", choices=["stack", "batch", "loop", "spatial"], default="stack")
    parser.add_argument("--heads", type=int, default=0, help="instead of the setting's")
    parser.add_argument("--window", type=int, nargs=2, default=[2, 2])
    parser.add_argument("--window-stride", type=int, nargs=2, default=[0, 0])
    parser.add_argument("--anchor-heads", type=int, default=1)
    args = parser.parse_args()
    training = args.train_per_sample or args.train_batched
    N, Cs, Ct, H, W, n, m, heads, ah, aw, beta, gamma = SETTINGS[args.setting]
    heads = args.heads or heads
    g = torch.Generator().manual_seed(7)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)
    fs = rand(N, Cs, H, W).requires_grad_()
    ft = rand(N, Ct, H, W)
    p = {}
    for name, cin in (("embed_query", Cs), ("embed_key", Ct), ("embed_value", Cs)):
        p[name + ".conv2d.weight"] = (rand(Ct, cin, 1, 1) / cin ** 0.5).requires_grad_()
        p[name + ".norm.weight"] = (1 + 0.1 * rand(Ct)).requires_grad_()
        p[name + ".norm.bias"] = (0.1 * rand(Ct)).requires_grad_()
        p[name + ".norm.running_mean"] = 0.1 * rand(Ct)
        p[name + ".norm.running_var"] = 1 + 0.1 * rand(Ct).abs()
        p[name + ".norm.num_batches_tracked"] = torch.tensor(5)
    before = {k: v.detach().clone() for k, v in p.items()}
    pg_total, ap_total = 0.0, 0.0
    if args.train_batched:
        batch = [embed(x, p, name, True) for x, name in ((fs, "embed_query"), (ft, "embed_key"), (fs, "embed_value"))]
    for i in range(N):
        if args.train_batched:
            q, k, v = (e[i] for e in batch)
        else:
            q, k, v = (embed(x[i:i + 1], p, name, args.train_per_sample)[0]
                       for x, name in ((fs, "embed_query"), (ft, "embed_key"), (fs, "embed_value")))
        pg_total = pg_total + patch_group_loss(q, k, v, ft[i], n, m, heads, args.attention, args.window, args.window_stride)
        ap_total = ap_total + attention_loss(pooled(q, ah, aw), pooled(k, ah, aw), pooled(v, ah, aw), pooled(ft[i], ah, aw),
                                             args.anchor_heads)
    pg, ap = pg_total / N, ap_total / N
    total = beta * pg + gamma * ap
    total.backward()
    out = {"fs": fs.detach(), "ft": ft, "loss_pg": pg.detach(), "loss_ap": ap.detach(), "total": total.detach(),
           "grad.fs": fs.grad,
           "setting": torch.tensor([N, Cs, Ct, H, W, n, m, heads, ah, aw], dtype=torch.float64),
           "weights": torch.tensor([beta, gamma], dtype=torch.float64)}
    for key, value in before.items():
        out[key] = value
    for key, value in p.items():
        if value.requires_grad:
            out["grad." + key] = value.grad
        elif training:
            out["after." + key] = value
    torch.save(out, args.out)


if __name__ == "__main__":
    main()
